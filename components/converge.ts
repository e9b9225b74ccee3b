/**
 * How every service is converged on a machine: managed files installed only
 * after their daemon's own checker accepts them, the unit enabled and running,
 * reload rather than restart. A check script reads the machine back (file
 * hashes and modes, unit state, probes); its expected answer is computed here,
 * so a file edited by hand or a unit stopped shows as drift in `pulumi preview`
 * and the next `pulumi up` repairs it. See docs/drift.md.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import type { Machine } from "./machines";
import type { NodePlan } from "./plan";
import { Command } from "./remote";
import { enableUnits, q } from "./shell";

export interface ManagedFile {
    path: string;
    content: pulumi.Input<string>;
    /** Octal mode. Default "644". */
    mode?: string;
    /** Owner as user:group. Default root:root. */
    owner?: string;
    /** Checks the new file before it is installed; `{}` stands for its path (e.g. `haproxy -c -f {}`). */
    validate?: string;
    /** The content is a secret: the service's observed state, which holds its digest, is kept as a Pulumi secret too. */
    secret?: boolean;
}

export interface Probe {
    /** A script printing one line about the machine's live state. */
    script: string;
    /** The line it prints when all is well. */
    expect: string;
}

/** A probe whose wanted line may come from another resource (a secret's hash). */
export interface ProbeInput {
    script: string;
    expect: pulumi.Input<string>;
    /** The line is derived from a secret (a digest of it): kept as a Pulumi secret, as with ManagedFile.secret. */
    secret?: boolean;
}

/** What a step needs of its machine: a cluster Machine, or one another stack reached (monitoring/). */
export type StepTarget = Pick<Machine, "connection" | "ready" | "deletedWith">;

export interface ManagedServiceArgs {
    machine: StepTarget;
    files: ManagedFile[];
    /** The systemd unit that runs the service: enabled, active, reloaded on change. */
    unit?: string;
    /** How a changed file reaches a running unit. Default "reload". */
    onChange?: "reload" | "restart";
    /** Runs before the files are installed; idempotent. */
    before?: pulumi.Input<string>;
    /** Runs after the files are in place and before the unit is handled; idempotent. */
    after?: pulumi.Input<string>;
    /** Runs after the unit is handled: waits until the service answers, and fails the step if it never does; idempotent. */
    ready?: string;
    /** Live facts to watch besides files and unit (sysctls, tables). */
    probes?: ProbeInput[];
    /** Files not removed when the service is deleted (shared ones like /etc/resolv.conf). */
    keepOnDelete?: string[];
    /** Local files copied to the machine before the script runs; a changed file re-runs it. */
    uploads?: { source: string; path: string }[];
    /** Runs first when the service is deleted: a non-zero exit stops the delete, with nothing undone (work the removal would lose). */
    deleteGuard?: string;
    /** Runs when the service is deleted, after the unit is stopped and the files removed (mounts undone). */
    onDelete?: string;
    /** Limit of each run of the script. Default: the provider's. */
    timeoutSeconds?: number;
    /** The group whose updates go `batch` at a time (compute nodes: plan.rolloutOf). */
    rollout?: { group: string; batch: number };
    /**
     * Skip the delete script when this resource goes in the same operation
     * (Pulumi's deletedWith). Default: the machine's backing resource, so
     * nothing is undone on a machine that is itself being destroyed.
     */
    deletedWith?: pulumi.Resource;
}

export const sha256 = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest("hex");
const fileHashes = new Map<string, string>();
/** A local file's SHA-256, read once per program run however many machines it goes to. */
export function sha256File(p: string): string {
    let h = fileHashes.get(p);
    if (h === undefined) {
        h = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
        fileHashes.set(p, h);
    }
    return h;
}
const normMode = (m: string | undefined) => (m ?? "644").replace(/^0+(?=\d{3})/, "");

/** The bash that installs the files and brings the unit up; idempotent, says what it changed. */
/** The arguments once every Input is known. */
export interface ResolvedArgs {
    unit?: string;
    onChange?: "reload" | "restart";
    before?: string;
    after?: string;
    ready?: string;
    probes?: Probe[];
    keepOnDelete?: string[];
}

/** A file as the install step takes it: its content known. */
export type FileToPut = { path: string; content: string; mode?: string; owner?: string; validate?: string };

/**
 * The shell function that installs one file: staged 0600 beside its path,
 * given its mode and owner, checked, and renamed into place only when it
 * differs; it says so and sets changed=1. Every managed file goes through it.
 */
export const PUT_FUNCTION = [
    "put() { # PATH MODE OWNER BASE64 VALIDATE",
    '  local path=$1 new="$1.thesis-new"',
    '  mkdir -p "$(dirname "$path")"',
    // The new file is root's alone (0600) from its first byte until its mode is set.
    '  rm -f "$new"; (umask 077; printf %s "$4" | base64 -d >"$new")',
    '  chmod "$2" "$new"; chown "$3" "$new"',
    '  if cmp -s "$new" "$path" && [ "$(stat -c %a:%U:%G "$path")" = "$(stat -c %a:%U:%G "$new")" ]; then rm -f "$new"; return; fi',
    '  if [ -n "$5" ] && ! out=$(eval "${5//\\{\\}/$new}" 2>&1); then',
    '    echo "$path: the new file was refused by its checker, nothing installed:" >&2; echo "$out" >&2; rm -f "$new"; exit 1',
    "  fi",
    '  mv -f "$new" "$path"; echo "installed $path"; changed=1',
    "}",
];

/** The call of PUT_FUNCTION that installs f. */
export function putLine(f: FileToPut): string {
    const b64 = Buffer.from(f.content, "utf8").toString("base64");
    return `put ${q(f.path)} ${normMode(f.mode)} ${q(f.owner ?? "root:root")} ${q(b64)} ${q(f.validate ?? "")}`;
}

export function applyScript(files: FileToPut[], args: ResolvedArgs): string {
    const lines = ["set -euo pipefail", "changed=0", ...PUT_FUNCTION];
    if (args.before) lines.push(args.before);
    for (const f of files) lines.push(putLine(f));
    if (args.after) lines.push(args.after);
    if (args.unit) {
        const u = q(args.unit);
        const how = args.onChange ?? "reload";
        lines.push(
            enableUnits([args.unit]),
            `touched=0`,
            `if ! systemctl is-active --quiet ${u}; then systemctl restart ${u}; echo "started ${args.unit}"; touched=1`,
            `elif [ $changed = 1 ]; then systemctl ${how === "reload" ? "reload-or-restart" : "restart"} ${u}; echo "${how === "reload" ? "reloaded" : "restarted"} ${args.unit}"; touched=1; fi`,
            // A reload returns before the unit is settled, and a Type=notify daemon
            // (sshd) may say RELOADING=1 only after it: the check must see the unit
            // settled, so it is watched until it has been active for 0.3 s.
            `if [ $touched = 1 ]; then n=0; for _ in $(seq 100); do case $(systemctl is-active ${u}) in activating|reloading|deactivating|refreshing) n=0 ;; *) n=$((n + 1)); [ $n -ge 3 ] && break ;; esac; sleep 0.1; done; fi`,
        );
    }
    if (args.ready) lines.push(args.ready);
    return lines.join("\n") + "\n";
}

/** The bash that reads the machine back, and what it prints when all is as managed. */
export function checkScript(files: { path: string; content: string; mode?: string; owner?: string }[], args: ResolvedArgs): { check: string; expect: string } {
    const check: string[] = [];
    const expect: string[] = [];
    for (const f of files) {
        const p = q(f.path);
        check.push(`if [ -f ${p} ]; then echo "${f.path} $(sha256sum <${p} | cut -c1-64) $(stat -c %a:%U:%G ${p})"; else echo "${f.path} missing"; fi`);
        const [user, group] = (f.owner ?? "root:root").split(":");
        expect.push(`${f.path} ${sha256(f.content)} ${normMode(f.mode)}:${user}:${group}`);
    }
    if (args.unit) {
        const u = q(args.unit);
        check.push(`echo "${args.unit} $(systemctl is-active ${u}) $(systemctl is-enabled ${u})"`);
        expect.push(`${args.unit} active enabled`);
    }
    for (const p of args.probes ?? []) {
        check.push(`{ ${p.script}; } 2>&1 | head -1`);
        expect.push(p.expect);
    }
    return { check: check.join("\n") + "\n", expect: expect.join("\n") };
}

function deleteScript(files: ManagedFile[], args: ManagedServiceArgs): string {
    const lines = ["set -uo pipefail"];
    if (args.deleteGuard) lines.push(`( ${args.deleteGuard}
) || exit 1`);
    if (args.unit) lines.push(`systemctl disable --now --quiet ${q(args.unit)} || true`);
    for (const f of files) {
        if (!(args.keepOnDelete ?? []).includes(f.path)) lines.push(`rm -f ${q(f.path)} && echo "removed ${f.path}"`);
    }
    if (args.onDelete) lines.push(args.onDelete);
    return lines.join("\n") + "\n";
}

/** Whether the service's check reads digests of secrets (its expected answer is then a secret already). */
export function holdsSecrets(args: Pick<ManagedServiceArgs, "files" | "probes">): boolean {
    return args.files.some((f) => f.secret) || (args.probes ?? []).some((p) => p.secret);
}

/** The URN a step had when each step was a component of its own around its command. */
function wrappedUrn(parentUrn: string, name: string): string {
    const [head, project, types] = parentUrn.split("::");
    return `${head}::${project}::${types}$thesis-cluster:index:ManagedService::${name}`;
}

/**
 * One service on one machine, converged by a single remote Command whose
 * check script makes drift visible. Named `<name>` (e.g. `haproxy-cluster1`),
 * a child of its service's component.
 *
 * It is the command itself, with no component of its own around it: a state
 * checkpoint is written for each resource operation, and with every step
 * wrapped the checkpoints made most of a large cluster's cold up and destroy
 * time. Steps made under the old wrapper keep their place through an alias.
 */
export class ManagedService extends Command {
    constructor(name: string, args: ManagedServiceArgs, opts: { parent: pulumi.Resource; dependsOn: pulumi.Input<pulumi.Resource>[] }) {
        const resolved = pulumi.all(args.files.map((f) => pulumi.output(f.content))).apply((contents) =>
            args.files.map((f, i) => ({ ...f, content: contents[i] })),
        );
        const rest = pulumi
            .all([pulumi.output(args.before), pulumi.output(args.after), pulumi.all((args.probes ?? []).map((p) => pulumi.output(p.expect)))])
            .apply(([before, after, wanted]): ResolvedArgs => ({
                unit: args.unit,
                onChange: args.onChange,
                ready: args.ready,
                before,
                after,
                probes: (args.probes ?? []).map((p, i) => ({ script: p.script, expect: wanted[i] })),
                keepOnDelete: args.keepOnDelete,
            }));
        const scripts = pulumi.all([resolved, rest]).apply(([files, r]) => ({ apply: applyScript(files, r), ...checkScript(files, r) }));
        super(
            name,
            {
                connection: args.machine.connection,
                create: scripts.apply((s) => s.apply),
                check: scripts.apply((s) => s.check),
                expect: scripts.apply((s) => s.expect),
                delete: deleteScript(args.files, args),
                uploads: args.uploads,
                triggers: args.uploads?.map((u) => `${u.path} ${sha256File(u.source)}`),
                timeoutSeconds: args.timeoutSeconds,
                rollout: args.rollout,
            },
            {
                parent: opts.parent,
                aliases: [{ parent: opts.parent.urn.apply((u) => wrappedUrn(u, name)) }],
                dependsOn: [args.machine.ready, ...opts.dependsOn],
                additionalSecretOutputs: holdsSecrets(args) ? ["observed"] : [],
                deletedWith: args.deletedWith ?? args.machine.deletedWith,
            },
        );
    }

    /** What the last run printed (files installed, unit reloaded). */
    get log(): pulumi.Output<string> {
        return this.stdout;
    }
}

/**
 * A service: ManagedService steps on the cluster's machines. Ordering comes in
 * as with any Pulumi resource, through `opts.dependsOn`, and reaches every
 * step unless a step names what it waits for itself.
 */
export abstract class ServiceComponent extends pulumi.ComponentResource {
    /** What the component was told to wait for. */
    protected readonly waitsFor: pulumi.Input<pulumi.Resource>[];

    constructor(type: string, name: string, opts?: pulumi.ComponentResourceOptions) {
        // Not the component's own registration: the engine would hold it, and so
        // every child, until the dependencies exist, steps that need not wait too.
        super(type, name, {}, { ...opts, dependsOn: undefined });
        const deps = opts?.dependsOn;
        this.waitsFor = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps as pulumi.Input<pulumi.Resource>];
    }

    /** One step on one machine, named `name`; it waits for `after` (default: what the component waits for). */
    protected step(name: string, args: ManagedServiceArgs, after: pulumi.Input<pulumi.Resource>[] = this.waitsFor): ManagedService {
        return new ManagedService(name, args, { parent: this, dependsOn: after });
    }

    /**
     * One step a node, made when its owner asks (`on(node, after)`), into
     * `into` by node name: for nodes rolled one at a time, where each node's
     * step waits for the one before it. It waits for what the component waits for too.
     */
    protected rolling(
        prefix: string,
        machines: Record<string, Machine>,
        into: Record<string, ManagedService>,
        args: (node: NodePlan) => Omit<ManagedServiceArgs, "machine">,
    ): (node: NodePlan, after: pulumi.Resource[]) => ManagedService {
        return (node, after) => (into[node.name] = this.nodeStep(prefix, node, machines, args, [...this.waitsFor, ...after]));
    }

    /** One step a node, named `<prefix>-<node>`, by node name. */
    protected onEach(
        prefix: string,
        nodes: NodePlan[],
        machines: Record<string, Machine>,
        args: (node: NodePlan) => Omit<ManagedServiceArgs, "machine">,
        after: pulumi.Input<pulumi.Resource>[] = this.waitsFor,
    ): Record<string, ManagedService> {
        return Object.fromEntries(nodes.map((n) => [n.name, this.nodeStep(prefix, n, machines, args, after)]));
    }

    /** The step `<prefix>-<node>` on the node's machine. */
    private nodeStep(
        prefix: string,
        node: NodePlan,
        machines: Record<string, Machine>,
        args: (node: NodePlan) => Omit<ManagedServiceArgs, "machine">,
        after: pulumi.Input<pulumi.Resource>[],
    ): ManagedService {
        return this.step(`${prefix}-${node.name}`, { machine: machines[node.name], ...args(node) }, after);
    }
}
