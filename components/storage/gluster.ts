/**
 * GlusterFS (thesis section 4.4): bricks on the SAN nodes' extra disks (xfs,
 * formatted once, never again), the trusted pool, the volumes of the stack
 * config, and FUSE mounts on every node in fstab.
 */
import * as pulumi from "@pulumi/pulumi";
import { VolumeSpec } from "../config";
import { ManagedFile, ManagedService, Probe, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { ClusterPlan } from "../plan";
import { render } from "../render";
import { enableUnits, formatXfsOnce, fstabRemove, fstabSet, q } from "../shell";

export const brickDir = (disk: number) => `/export/brick${disk + 1}`;
export const brickPath = (disk: number) => `${brickDir(disk)}/data`;

/** systemd's unit name for a mount point (systemd-escape --path). */
export function mountUnit(path: string): string {
    const esc = path
        .replace(/^\/+|\/+$/g, "")
        .split("/")
        .map((part) => part.replace(/[^A-Za-z0-9:_.]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`))
        .join("-");
    return `${esc}.mount`;
}

/** Gluster's pattern for the internal network (auth.allow). */
export function allowPattern(plan: ClusterPlan): string {
    const [addr, len] = plan.networks.internal.prefix;
    const octets = addr.toString().split(".");
    return len % 8 === 0 && len >= 8 ? [...octets.slice(0, len / 8), ...Array(4 - len / 8).fill("*")].join(".") : plan.networks.internal.cidr;
}

/**
 * The options every volume gets, under the config's own: only the cluster
 * may mount it, and a SAN node that vanishes (power gone, no TCP reset) is
 * given up after 10 s instead of Gluster's 42, so writes resume sooner.
 */
export function volumeOptions(plan: ClusterPlan, v: VolumeSpec): [string, string][] {
    return Object.entries({ "auth.allow": allowPattern(plan), "network.ping-timeout": "10", ...v.options }).sort(([a], [b]) => a.localeCompare(b));
}

/** The SAN nodes holding a volume's bricks, in brick order (`nodes`, or every SAN node). */
export function volumeNodes(plan: ClusterPlan, v: VolumeSpec): string[] {
    return v.nodes ?? plan.san.map((n) => n.name);
}

export function volumeBricks(plan: ClusterPlan, v: VolumeSpec): string[] {
    return volumeNodes(plan, v).map((n) => `${n}:${brickPath(v.disk)}`);
}

export function replicaOf(plan: ClusterPlan, v: VolumeSpec): number | undefined {
    return v.type === "replicate" ? (v.replica ?? volumeNodes(plan, v).length) : undefined;
}

/** What `gluster volume info` calls the volume's type. */
export function glusterType(plan: ClusterPlan, v: VolumeSpec): string {
    const r = replicaOf(plan, v);
    if (r === undefined) return "Distribute";
    return volumeNodes(plan, v).length === r ? "Replicate" : "Distributed-Replicate";
}

/**
 * Shell that waits (up to 10 min) for a Gluster task whose `status` command is
 * given to leave "in progress", then fails with `failure` and the status
 * unless the task completed.
 */
function untilTaskEnds(status: string, failure: string): string[] {
    const running = "'in progress|not started|queued'";
    return [
        // A status command that fails is asked again: right after a start, glusterd may not
        // have the task on every node yet (seen once in CI: "Brick ops failed on san2").
        `    for _ in $(seq 1200); do if st=$(${status} 2>&1); then grep -qE ${running} <<<"$st" || break; else st="$st (the status command failed)"; fi; sleep 0.5; done`,
        `    if ! grep -q completed <<<"$st" || grep -qE 'failed|in progress|not started|queued' <<<"$st"; then echo "${failure}" >&2; echo "$st" >&2; exit 1; fi`,
    ];
}

/** Each volume's bricks and replica count, as the stack outputs them (`glusterBricks`) and the next update compares. */
export type BrickLayout = Record<string, { replica?: number; bricks: string[] }>;

export function brickLayout(plan: ClusterPlan): BrickLayout {
    return Object.fromEntries(plan.storage.volumes.map((v) => [v.name, { replica: replicaOf(plan, v), bricks: volumeBricks(plan, v) }]));
}

/** The volumes with a brick on `node`. */
export function volumesOf(plan: ClusterPlan, node: string): string[] {
    return plan.storage.volumes.filter((v) => volumeNodes(plan, v).includes(node)).map((v) => v.name);
}

/**
 * Makes each brick directory, and moves aside (never deletes) one that held a
 * brick of a volume which no longer lists it: Gluster refuses a directory that
 * was a brick before, so a node that left a volume could not join it again.
 * Only when glusterd answers: a brick still in a volume is never touched.
 * `holds` (the volumes with a brick here) is in the script so that a change
 * of membership runs it.
 */
export function retireStaleBricksScript(node: string, disks: number[], holds: string[]): string {
    const lines = [`# bricks of ${node}: ${holds.join(" ") || "none"}`, `if bricks=$(gluster --mode=script volume info 2>/dev/null | sed -n 's/^Brick[0-9]*: //p'); then`];
    for (const d of disks) {
        const p = brickPath(d);
        lines.push(
            `  if [ -d ${p}/.glusterfs ] && ! grep -qxF ${q(`${node}:${p}`)} <<<"$bricks"; then old=${p}.removed-$(date +%Y%m%d%H%M%S); mv ${p} "$old"; echo "${p} was a brick of a volume that no longer has it: moved to $old"; fi`,
        );
    }
    lines.push("fi", ...disks.map((d) => `mkdir -p ${brickPath(d)}`));
    return lines.join("\n");
}

/** Per volume, the bricks the last update had (`previous`) that the plan no longer has. */
export function bricksLeaving(previous: BrickLayout | undefined, plan: ClusterPlan): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of plan.storage.volumes) {
        const leaving = (previous?.[v.name]?.bricks ?? []).filter((b) => !volumeBricks(plan, v).includes(b));
        if (leaving.length > 0) out[v.name] = leaving;
    }
    return out;
}

/**
 * Why the bricks leaving the volumes since the last update (`previous`, that
 * update's `glusterBricks` output) cannot leave as planned; empty when they
 * can. Data leaves a brick only by migration, which keeps every file only when
 * a replicated volume keeps its replica count and loses whole replica sets
 * (Gluster's sets are consecutive bricks in the volume's order).
 */
export function brickRemovalProblems(previous: BrickLayout | undefined, plan: ClusterPlan): string[] {
    const problems: string[] = [];
    const leavingOf = bricksLeaving(previous, plan);
    for (const v of plan.storage.volumes) {
        const before = previous?.[v.name];
        const leaving = leavingOf[v.name] ?? [];
        if (before?.replica === undefined || leaving.length === 0) continue;
        const after = replicaOf(plan, v);
        const who = [...new Set(leaving.map((b) => b.split(":")[0]))].join(", ");
        if (after !== before.replica) {
            problems.push(
                `volume ${v.name} is replica ${before.replica}; with ${who} gone it would be replica ${after}. Lowering a volume's replica count gives up copies of every file: not done by pulumi up. Keep ${who} in the volume, or set storage.volumes[${plan.storage.volumes.indexOf(v)}].replica and nodes so that whole replica sets of ${before.replica} leave`,
            );
            continue;
        }
        const sets = Array.from({ length: before.bricks.length / before.replica }, (_, i) => before.bricks.slice(i * before.replica!, (i + 1) * before.replica!));
        const broken = sets.filter((set) => set.some((b) => leaving.includes(b)) && !set.every((b) => leaving.includes(b)));
        if (broken.length > 0) {
            problems.push(`volume ${v.name}: ${who} would leave part of the replica set ${broken.map((s) => s.join(" ")).join("; ")}; only whole sets of ${before.replica} bricks can leave`);
        }
    }
    return problems;
}


const G = "gluster --mode=script";

/** Creates, expands, configures and starts the volumes; run on the first SAN node. */
export function volumesScript(plan: ClusterPlan): string {
    const others = plan.san.slice(1);
    const lines = [
        "g() { gluster --mode=script \"$@\"; }",
        ...others.map((p) => `g peer probe ${p.name} >/dev/null`),
        `for _ in $(seq 240); do [ "$(g pool list | grep -c Connected)" -ge ${plan.san.length} ] && break; sleep 0.5; done`,
        `[ "$(g pool list | grep -c Connected)" -ge ${plan.san.length} ] || { g pool list >&2; echo "the SAN peers are not all connected" >&2; exit 1; }`,
    ];
    for (const v of plan.storage.volumes) {
        const bricks = volumeBricks(plan, v);
        const replica = replicaOf(plan, v);
        const rep = replica ? `replica ${replica} ` : "";
        lines.push(
            `if ! g volume info ${v.name} >/dev/null 2>&1; then`,
            `  g volume create ${v.name} ${rep}${bricks.join(" ")} >/dev/null && echo "created ${v.name}"`,
            "else",
            `  have=$(g volume info ${v.name} | sed -n 's/^Brick[0-9]*: //p')`,
            "  missing=()",
            `  for b in ${bricks.join(" ")}; do grep -qxF "$b" <<<"$have" || missing+=("$b"); done`,
            "  if [ ${#missing[@]} -gt 0 ]; then",
            `    g volume add-brick ${v.name} ${rep}"\${missing[@]}" >/dev/null && echo "added \${missing[*]} to ${v.name}"`,
            v.type === "distribute" ? `    g volume rebalance ${v.name} fix-layout start >/dev/null && echo "rebalancing ${v.name}"` : "    :",
            "  fi",
            // Bricks the plan no longer has leave with their files moved to the others first
            // (the program refused any removal that would lower a replica count).
            "  extra=()",
            `  for b in $have; do case " ${bricks.join(" ")} " in *" $b "*) ;; *) extra+=("$b") ;; esac; done`,
            "  if [ ${#extra[@]} -gt 0 ]; then",
            // The commit gives the directories a new layout, under which some moved files are
            // no longer on their hashed brick; with lookup-optimize on, clients then do not find
            // them (seen: ENOENT for 10 of 60 files until a rebalance). So lookups search every
            // brick until a rebalance after the commit has put each file where it hashes.
            `    g volume set ${v.name} cluster.lookup-optimize off >/dev/null`,
            // Started before (an interrupted run): the status below tells.
            `    g volume remove-brick ${v.name} "\${extra[@]}" start >/dev/null 2>&1 || true`,
            ...untilTaskEnds(`g volume remove-brick ${v.name} "\${extra[@]}" status`, `${v.name}: moving the files off \${extra[*]} did not complete; the bricks stay in the volume (cluster.lookup-optimize stays off):`),
            `    g volume remove-brick ${v.name} "\${extra[@]}" commit >/dev/null && echo "removed \${extra[*]} from ${v.name}, its files moved to the other bricks"`,
            `    g volume rebalance ${v.name} start >/dev/null`,
            ...untilTaskEnds(`g volume rebalance ${v.name} status`, `${v.name}: the rebalance after the removal did not complete (cluster.lookup-optimize stays off):`),
            `    g volume reset ${v.name} cluster.lookup-optimize >/dev/null && echo "rebalanced ${v.name}"`,
            "  fi",
            "fi",
        );
        for (const [k, val] of volumeOptions(plan, v)) {
            lines.push(`[ "$(g volume get ${v.name} ${k} | awk 'NR>2 {print $2}')" = ${q(val)} ] || { g volume set ${v.name} ${k} ${q(val)} >/dev/null && echo "set ${v.name} ${k}"; }`);
        }
        lines.push(`[ "$(g volume info ${v.name} | sed -n 's/^Status: //p')" = Started ] || { g volume start ${v.name} >/dev/null && echo "started ${v.name}"; }`);
    }
    // A node that left roles.san, its bricks gone from every volume, leaves the trusted pool.
    lines.push(
        `for p in $(g pool list | awk 'NR > 1 && $2 != "localhost" {print $2}'); do case " ${plan.san.map((n) => n.name).join(" ")} " in *" $p "*) ;; *) g peer detach "$p" >/dev/null && echo "detached $p from the trusted pool" ;; esac; done`,
    );
    return lines.join("\n");
}

/** The pool and volumes read back, a line each: peers, each volume's type, state and bricks, each option. */
export function volumesProbes(plan: ClusterPlan): Probe[] {
    const probes: Probe[] = [{ script: `echo "peers connected $(${G} pool list 2>/dev/null | grep -c Connected)"`, expect: `peers connected ${plan.san.length}` }];
    for (const v of plan.storage.volumes) {
        probes.push({
            script: `if info=$(${G} volume info ${v.name} 2>/dev/null); then echo "${v.name} $(sed -n 's/^Type: //p' <<<"$info") $(sed -n 's/^Status: //p' <<<"$info") $(sed -n 's/^Brick[0-9]*: //p' <<<"$info" | paste -sd,)"; else echo "${v.name} missing"; fi`,
            expect: `${v.name} ${glusterType(plan, v)} Started ${volumeBricks(plan, v).join(",")}`,
        });
        for (const [k, val] of volumeOptions(plan, v)) {
            probes.push({ script: `echo "${v.name} ${k}=$(${G} volume get ${v.name} ${k} 2>/dev/null | awk 'NR>2 {print $2}')"`, expect: `${v.name} ${k}=${val}` });
        }
    }
    return probes;
}

/** The fstab line of a volume's FUSE mount; any SAN node serves the volume file. */
export function fstabLine(plan: ClusterPlan, v: VolumeSpec): string {
    const [first, ...rest] = plan.san.map((n) => n.name);
    const backup = rest.length > 0 ? `,backup-volfile-servers=${rest.join(":")}` : "";
    return `${first}:/${v.name} ${v.mount} glusterfs defaults,_netdev${backup} 0 0`;
}

/** Every volume mounted where the config says, in fstab and live; and the mounts read back. */
export function mountsStep(plan: ClusterPlan): { apply: string; probes: Probe[]; onDelete: string } {
    const apply: string[] = [];
    const probes: Probe[] = [];
    for (const v of plan.storage.volumes) {
        const line = fstabLine(plan, v);
        const m = q(v.mount);
        apply.push(
            `mkdir -p ${m}`,
            fstabSet(v.mount, line, `echo "fstab: ${v.mount}"`),
            // A mount left stale by a SAN outage is mounted afresh.
            `if mountpoint -q ${m} && ! timeout 5 stat -t ${m} >/dev/null 2>&1; then umount -l ${m}; echo "stale ${v.mount}"; fi`,
            `mountpoint -q ${m} || { mount ${m} && echo "mounted ${v.mount}"; }`,
        );
        // (Not whether it answers: during a SAN outage it may wait, and that is no drift.)
        probes.push(
            { script: `echo "fstab ${v.mount} $(grep -cxF ${q(line)} /etc/fstab)"`, expect: `fstab ${v.mount} 1` },
            { script: `echo "mount ${v.mount} $(findmnt -n -o FSTYPE,SOURCE ${m} | tr -s ' ')"`, expect: `mount ${v.mount} fuse.glusterfs ${line.split(" ")[0]}` },
        );
    }
    return { apply: apply.join("\n"), probes, onDelete: plan.storage.volumes.map((v) => fstabRemove(v.mount)).join("\n") };
}

/** Bricks, pool, volumes and mounts. */
export class GlusterVolumes extends ServiceComponent {
    public readonly bricks: ManagedService[] = [];
    public readonly volumes: ManagedService;
    public readonly mounts: Record<string, ManagedService>;
    /** Volume name → mount point on every node. */
    public readonly mountPoints: Record<string, string>;

    /** The bricks are made at once; the pool and volumes, which find the SAN nodes by name, wait for what `opts.dependsOn` names. */
    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:GlusterVolumes", name, opts);
        const { plan, machines } = args;
        const disks = [...new Set(plan.storage.volumes.map((v) => v.disk))].sort();
        for (const san of plan.san) {
            // Each brick's disk by the name the SAN node's backend gave it.
            const device = (d: number) => machines[san.name].device(d);
            const files: ManagedFile[] = disks.map((d) => ({
                path: `/etc/systemd/system/${mountUnit(brickDir(d))}`,
                content: device(d).apply((dev) => render("gluster/brick.mount.mustache", { brick: `brick${d + 1}`, device: dev, dir: brickDir(d) })),
            }));
            files.push({
                path: "/etc/systemd/system/glusterd.service.d/thesis-cluster-bricks.conf",
                content: render("gluster/glusterd-bricks.conf.mustache", { dirs: disks.map(brickDir) }),
            });
            const format = pulumi.all(disks.map(device)).apply((devs) => devs.map((dev) => formatXfsOnce(dev, "-i size=512")).join("\n"));
            this.bricks.push(
                this.step(
                    `gluster-bricks-${san.name}`,
                    {
                        machine: machines[san.name],
                        before: format,
                        files,
                        after: [
                            "systemctl daemon-reload",
                            ...disks.map((d) => `${enableUnits([mountUnit(brickDir(d))])}; mountpoint -q ${brickDir(d)} || { systemctl start ${mountUnit(brickDir(d))}; echo "mounted ${brickDir(d)}"; }`),
                            retireStaleBricksScript(san.name, disks, volumesOf(plan, san.name)),
                        ].join("\n"),
                        unit: "glusterd",
                        onChange: "restart",
                        probes: disks.map((d) => ({
                            script: `echo "${brickDir(d)} $(findmnt -n -o FSTYPE,SOURCE ${brickDir(d)} | tr -s ' ') $(test -d ${brickPath(d)} && echo data)"`,
                            expect: pulumi.interpolate`${brickDir(d)} xfs ${device(d)} data`,
                        })),
                    },
                    [],
                ),
            );
        }
        this.volumes = this.step(
            `${name}-volumes`,
            { machine: machines[plan.san[0].name], files: [], after: volumesScript(plan), probes: volumesProbes(plan), timeoutSeconds: 900 },
            [...this.bricks, ...this.waitsFor],
        );
        const mounts = mountsStep(plan);
        this.mounts = this.onEach(
            "gluster-mounts",
            plan.nodes,
            machines,
            () => ({ files: [], after: mounts.apply, probes: mounts.probes, onDelete: mounts.onDelete, timeoutSeconds: 300 }),
            [this.volumes],
        );
        this.mountPoints = Object.fromEntries(plan.storage.volumes.map((v) => [v.name, v.mount]));
        this.registerOutputs({ mountPoints: this.mountPoints });
    }
}
