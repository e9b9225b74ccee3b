/**
 * Slurm beside the HTCondor pool (the thesis' future work, section 6), on the
 * same directors, compute nodes, users and shared homes: slurmctld on every
 * director (the first the primary, the others backups, state and heartbeat on
 * the replicated Gluster volume), slurmd on every compute node, slurmdbd with
 * MariaDB on the accounting host (the nas by default), munge with a generated
 * key on all of them. NIS users submit with sbatch and srun from any compute
 * node. Both job managers offer every CPU and all the memory of each compute
 * node (docs/jobs.md).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ManagedFile, ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { ClusterPlan, isCompute, NodePlan, SlurmPlan } from "../plan";
import { RandomSecret } from "../provider";
import { FILES_DIR, render } from "../render";
import { enableUnits, q } from "../shell";

export const SLURM_CONF = "/etc/slurm/slurm.conf";
export const SLURMDBD_CONF = "/etc/slurm/slurmdbd.conf";
export const MUNGE_KEY = "/etc/munge/munge.key";
export const MARIADB_CNF = "/etc/mysql/mariadb.conf.d/60-thesis-cluster.cnf";
/** The accounting database, which slurmdbd makes on its first start. */
export const DATABASE = "slurm_acct_db";
/** The thesis' test jobs for Slurm, installed on every compute node for users to copy. */
export const EXAMPLES_DIR = "/usr/local/share/thesis-cluster/slurm";

const dropIn = (unit: string) => `/etc/systemd/system/${unit}.service.d/thesis-cluster.conf`;

/**
 * The memory slurm.conf offers jobs on a node (`RealMemory`): 90% of its
 * `memoryMb`. A machine given N MiB reports less to slurmd (the kernel keeps
 * its share: a 512 MiB VM shows about 480), and Slurm drains a node that
 * reports less than slurm.conf says; the rest is left to the system and the
 * daemons.
 */
export const realMemory = (node: NodePlan) => Math.floor(node.spec.memoryMb * 0.9);

/** slurm.conf: the same on every node with a Slurm daemon. */
export function slurmConf(plan: ClusterPlan, s: SlurmPlan): string {
    const nodes = plan.compute;
    const memPerCpu = Math.min(...nodes.map((n) => Math.floor(realMemory(n) / n.spec.cpus)));
    return render("slurm/slurm.conf.mustache", {
        clusterName: s.clusterName,
        controllers: s.controllers.map((n) => ({ name: n.name, address: n.address })),
        controllerTimeout: s.controllerTimeoutSeconds,
        stateSave: s.stateSave,
        credExpire: s.requeueDelaySeconds,
        messageTimeout: MESSAGE_TIMEOUT,
        nodeTimeout: s.nodeTimeoutSeconds,
        schedulerParameters: SCHEDULER_PARAMETERS,
        epilog: "/usr/bin/true",
        accountingHost: s.accounting.address,
        nodes: nodes.map((n) => ({ name: n.name, address: n.address, cpus: n.spec.cpus, memoryMb: realMemory(n) })),
        nodeList: nodes.map((n) => n.name).join(","),
        partition: s.partition,
        memPerCpu,
    });
}

/** Seconds a message to a daemon may take (Slurm's default is 10). */
export const MESSAGE_TIMEOUT = 5;
/** See docs/jobs.md for why each. */
export const SCHEDULER_PARAMETERS = "sched_interval=2";

export function slurmdbdConf(s: SlurmPlan): string {
    return render("slurm/slurmdbd.conf.mustache", { name: s.accounting.name, address: s.accounting.address, database: DATABASE });
}

/** The thesis' test jobs for Slurm (files/slurm/examples) and pi.c, shared with HTCondor's. */
export function slurmExamples(): ManagedFile[] {
    const dir = path.join(FILES_DIR, "slurm", "examples");
    const own = fs.readdirSync(dir).sort().map((f) => path.join(dir, f));
    return [...own, path.join(FILES_DIR, "condor", "examples", "pi.c"), path.join(FILES_DIR, "condor", "examples", "myprog")].map((p) => ({
        path: `${EXAMPLES_DIR}/${path.basename(p)}`,
        content: fs.readFileSync(p, "utf8"),
        mode: fs.statSync(p).mode & 0o111 ? "755" : "644",
    }));
}

/**
 * The unit's drop-in: started after munge (every Slurm message is signed by
 * it), restarted if it dies, and for slurmctld only with its state's file
 * system mounted.
 */
export function unitDropIn(unit: "slurmctld" | "slurmd" | "slurmdbd", s: SlurmPlan, node?: NodePlan): ManagedFile {
    const lines = ["# Managed by thesis-cluster (Pulumi).", "[Unit]", "Wants=munge.service", "After=munge.service network-online.target"];
    if (unit === "slurmctld") lines.push(`RequiresMountsFor=${s.stateSave}`);
    if (unit === "slurmdbd") lines.push("Wants=mariadb.service", "After=mariadb.service");
    lines.push("[Service]");
    const primary = unit === "slurmctld" && node === s.controllers[0];
    const backup = unit === "slurmctld" && !primary;
    // The primary takes control back from a backup without a gap (see the script);
    // the backup stopped for it starts again to stand by.
    if (primary) lines.push(`ExecStartPre=+${RECLAIM}`);
    lines.push(`Restart=${backup ? "always" : "on-failure"}`, "RestartSec=2");
    return { path: dropIn(unit), content: lines.join("\n") + "\n" };
}

/** Run before the primary slurmctld starts: a backup in control hands over by saving its state and stopping. */
export const RECLAIM = "/usr/local/lib/thesis-cluster/slurmctld-reclaim";

/** Waits up to `seconds` until the probe prints its expected line; else fails, saying what it saw. */
export function untilScript(p: { script: string; expect: string }, seconds: number, what: string): string {
    return [
        `for _ in $(seq ${seconds * 2}); do seen=$({ ${p.script}; } 2>&1 | head -1 || true); [ "$seen" = ${q(p.expect)} ] && break; sleep 0.5; done`,
        `[ "$seen" = ${q(p.expect)} ] || { echo ${q(`${what} within ${seconds} s:`)} "$seen" >&2; exit 1; }`,
    ].join("\n");
}

/** Reloads systemd when the step installed a unit file or drop-in. */
const DAEMON_RELOAD = '[ $changed = 1 ] && systemctl daemon-reload; true';

/**
 * After the node's slurm.conf and munge key are in place: munge running (and
 * restarted when its key changed), the node's Slurm daemons told of a changed
 * slurm.conf (a reload: running jobs go on).
 */
const AUTH_AND_CONFIG_AFTER = [
    `[ "$(sha256sum <${MUNGE_KEY})" = "$key_before" ] || key_changed=1`,
    `[ "$(sha256sum <${SLURM_CONF})" = "$conf_before" ] || conf_changed=1`,
    enableUnits(["munge"]),
    'if ! systemctl is-active --quiet munge; then systemctl restart munge; echo "started munge"',
    'elif [ "${key_changed:-0}" = 1 ]; then systemctl restart munge; echo "restarted munge: its key changed"; fi',
    'if [ "${conf_changed:-0}" = 1 ]; then for u in slurmctld slurmd slurmdbd; do if systemctl is-active --quiet $u; then systemctl reload-or-restart $u; echo "reloaded $u"; fi; done; fi',
    // slurmdbd reads its own file only when it starts (the controllers queue their records meanwhile).
    `if [ -f ${SLURMDBD_CONF} ] && [ "$(sha256sum <${SLURMDBD_CONF})" != "$dbd_before" ] && systemctl is-active --quiet slurmdbd; then systemctl restart slurmdbd; echo "restarted slurmdbd: ${SLURMDBD_CONF} changed"; fi`,
].join("\n");
const AUTH_AND_CONFIG_BEFORE = [
    `key_before=$(sha256sum <${MUNGE_KEY} 2>/dev/null || true)`,
    `conf_before=$(sha256sum <${SLURM_CONF} 2>/dev/null || true)`,
    `dbd_before=$(sha256sum <${SLURMDBD_CONF} 2>/dev/null || true)`,
].join("\n");

/** munge signs and checks a credential with the installed key. */
export const MUNGE_PROBE = { script: "echo munge $(systemctl is-active munge) $(systemctl is-enabled munge) $(munge -n | unmunge | awk '/^STATUS:/ { print $2 }')", expect: "munge active enabled Success" };

/**
 * The database user slurm, authenticated by the socket's peer (the OS user
 * slurm: no password), with every right on the accounting database alone.
 */
export const DATABASE_SCRIPT = [
    "for _ in $(seq 50); do mariadb -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done",
    `if [ "$(mariadb -Nse "SELECT COUNT(*) FROM mysql.user WHERE User = 'slurm' AND Host = 'localhost'")" != 1 ]; then`,
    `  mariadb -e "CREATE USER 'slurm'@'localhost' IDENTIFIED VIA unix_socket; GRANT ALL ON ${DATABASE}.* TO 'slurm'@'localhost'"`,
    '  echo "made the database user slurm (unix_socket)"',
    "fi",
].join("\n");
export const DATABASE_PROBE = {
    script: `echo "database user slurm: $(mariadb -Nse "SELECT plugin FROM mysql.user WHERE User = 'slurm' AND Host = 'localhost'" 2>&1)"`,
    expect: "database user slurm: unix_socket",
};

/** The cluster known to the accounting database, once a controller has registered it. */
const registeredProbe = (s: SlurmPlan) => ({
    script: `echo "accounting knows $(sacctmgr -n -P list cluster format=cluster 2>&1 | paste -sd,)"`,
    expect: `accounting knows ${s.clusterName}`,
});

/** Each controller answers as primary or backup. */
export function controllerProbe(s: SlurmPlan, node: NodePlan) {
    const role = s.controllers.indexOf(node) === 0 ? "primary" : "backup";
    return { script: `scontrol ping 2>&1 | grep -F ' at ${node.name} ' | sed 's/^ *//'`, expect: `Slurmctld(${role}) at ${node.name} is UP` };
}

/** A compute node is in service: known to the controller, not down, drained or unanswering. */
export function nodeProbe(node: NodePlan) {
    return {
        script: `s=$(sinfo -h -N -n ${node.name} -o %t 2>&1 | head -1); case $s in idle|alloc|mix|comp) echo "slurmd ${node.name} in service" ;; *) echo "slurmd ${node.name} $s" ;; esac`,
        expect: `slurmd ${node.name} in service`,
    };
}

/**
 * Before slurmd's files on a node: the machine has the CPUs and memory
 * slurm.conf gives it (slurmd reports what it finds, and Slurm drains a node
 * with less). Stops the step, naming the key, before anything is installed.
 */
export function hardwareGuard(plan: ClusterPlan, node: NodePlan): string {
    const i = plan.nodes.indexOf(node);
    return [
        `hw=$(slurmd -C 2>/dev/null | head -1)`,
        `cpus=$(echo "$hw" | sed -n 's/.*CPUs=\\([0-9]*\\).*/\\1/p'); mem=$(echo "$hw" | sed -n 's/.*RealMemory=\\([0-9]*\\).*/\\1/p')`,
        `if [ "\${mem:-0}" -lt ${realMemory(node)} ]; then echo "thesis-cluster:nodes[${i}].memoryMb: ${node.spec.memoryMb} is more than ${node.name} has: slurmd -C finds \${mem:-?} MiB, and Slurm is told of ${realMemory(node)} (90%); it would drain the node. Nothing was installed." >&2; exit 1; fi`,
        `if [ "\${cpus:-0}" -lt ${node.spec.cpus} ]; then echo "thesis-cluster:nodes[${i}].cpus: ${node.spec.cpus} is more than the \${cpus:-?} CPUs ${node.name} has (slurmd -C); Slurm would drain it. Nothing was installed." >&2; exit 1; fi`,
    ].join("\n");
}

/**
 * On the primary controller, before a slurm.conf without some compute node is
 * installed (a controller that reloads it forgets the node, and the jobs
 * running there with it): each such node is drained in Slurm (no new job
 * starts there) and its jobs may run up to slurm.drainTimeoutSeconds; those
 * still running then are requeued to run elsewhere. A job that cannot be
 * requeued (interactive, --no-requeue) stops the change before anything is installed.
 */
export function drainLeavingScript(plan: ClusterPlan, s: SlurmPlan): string {
    const t = s.drainTimeoutSeconds;
    return [
        `leaving=$(sed -n 's/^NodeName=\\([^ ]*\\).*/\\1/p' ${SLURM_CONF} 2>/dev/null | grep -vxF -e "" ${plan.compute.map((n) => `-e ${n.name}`).join(" ")} | paste -sd, || true)`,
        'if [ -n "$leaving" ] && systemctl is-active --quiet slurmctld; then',
        "  t0=$SECONDS",
        `  for _ in $(seq 30); do scontrol update NodeName="$leaving" State=DRAIN Reason="thesis-cluster: leaves roles.compute" 2>/dev/null && break; sleep 1; done`,
        '  echo "draining $leaving in Slurm: no new job starts there"',
        `  deadline=$((t0 + ${t})); requeued=0`,
        '  while jobs=$(squeue -h -w "$leaving" -o %A 2>/dev/null | paste -sd, || true); [ -n "$jobs" ]; do',
        '    if [ $SECONDS -ge $deadline ] && [ $requeued = 0 ]; then',
        `      if ! scontrol requeue "$jobs" 2>/dev/null; then echo "Slurm jobs $jobs still run on $leaving after ${t} s and cannot all be requeued (interactive, or submitted with --no-requeue): they would be lost with the node. Let them finish or cancel them (scancel), then run pulumi up again. Nothing was changed." >&2; exit 1; fi`,
        `      echo "requeued Slurm jobs $jobs, still running on $leaving after ${t} s: they run again elsewhere"; requeued=1`,
        "    fi",
        "    sleep 1",
        "  done",
        '  echo "$leaving drained in Slurm after $((SECONDS - t0)) s: no job runs there"',
        "fi",
    ].join("\n");
}

/** A compute node's slurmd is not removed while jobs run there (Slurm turned off): they would be lost. */
export function slurmdDeleteGuard(node: NodePlan): string {
    return `jobs=$(squeue -h -w ${node.name} -o %A 2>/dev/null | paste -sd, || true); if [ -n "$jobs" ]; then echo "${node.name} still runs Slurm jobs $jobs: removing its slurmd would lose them. Let them finish or cancel them (scancel), then run pulumi up again." >&2; exit 1; fi`;
}

/** The state directory, made by the first controller to get there. */
const stateDirScript = (s: SlurmPlan) =>
    `[ -d ${q(s.stateSave)} ] || { install -d -o slurm -g slurm -m 700 ${q(s.stateSave)}; echo "made ${s.stateSave}"; }; [ "$(stat -c %U:%a ${q(s.stateSave)})" = slurm:700 ] || { chown slurm:slurm ${q(s.stateSave)}; chmod 700 ${q(s.stateSave)}; echo "set ${s.stateSave} to slurm 0700"; }`;

export interface SlurmArgs extends ServiceArgs {
    /** Per node, what mounts the Gluster volumes (a controller's state lies on one). */
    mounts: Record<string, pulumi.Resource>;
}

/** The `slurmCluster` output: its controllers, partition, nodes and accounting host, or that it is off. */
export type SlurmSummary =
    | { enabled: false; note: string }
    | {
          enabled: true;
          clusterName: string;
          controllers: { primary: string; backups: string[] };
          stateSaveLocation: string;
          partitions: Record<string, { default: boolean; nodes: string[] }>;
          nodes: Record<string, { cpus: number; memoryMb: number; realMemoryMb: number }>;
          accountingHost: string;
      };

export class SlurmCluster extends ServiceComponent {
    /** What the stack outputs about Slurm (`slurmCluster`). */
    public readonly summary: SlurmSummary;

    constructor(name: string, args: SlurmArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:SlurmCluster", name, opts);
        const { plan, machines } = args;
        const s = plan.slurm;
        if (s === undefined) {
            this.summary = { enabled: false, note: "off: thesis-cluster:jobs.schedulers does not include slurm" };
            this.registerOutputs({});
            return;
        }
        const key = new RandomSecret(`${name}-munge-key`, { length: 128 }, { parent: this });
        const conf = slurmConf(plan, s);

        // Authentication and the shared config on every node with a daemon.
        // The backups take a new slurm.conf after the primary has reloaded it and
        // answers again: both reloading at once, the primary's new process waits
        // 30 s for a backup that is itself starting, and the backup, unanswered for
        // SlurmctldTimeout, takes over and stops it.
        const backups = s.controllers.slice(1);
        const baseArgs = (node: NodePlan) => ({
            before: [isCompute(plan, node) ? hardwareGuard(plan, node) : "", node === s.controllers[0] ? drainLeavingScript(plan, s) : "", AUTH_AND_CONFIG_BEFORE]
                .filter(Boolean)
                .join("\n"),
            // The primary's may wait for jobs on leaving nodes.
            timeoutSeconds: node === s.controllers[0] ? s.drainTimeoutSeconds + 300 : undefined,
            files: [
                { path: MUNGE_KEY, content: key.value, mode: "400", owner: "munge:munge", secret: true },
                // scontrol parses the new file alone and stops at an unknown key or a bad value.
                { path: SLURM_CONF, content: conf, validate: "SLURM_CONF={} scontrol show hostnames localhost" },
                ...(node === s.accounting ? [{ path: SLURMDBD_CONF, content: slurmdbdConf(s), mode: "600", owner: "slurm:slurm" }] : []),
                ...(isCompute(plan, node) ? slurmExamples() : []),
            ],
            after: AUTH_AND_CONFIG_AFTER,
            ready: s.controllers.includes(node) ? `if systemctl is-active --quiet slurmctld; then\n${untilScript(controllerProbe(s, node), 60, `slurmctld on ${node.name} did not answer after its reload`)}\nfi` : undefined,
            probes: [MUNGE_PROBE],
        });
        const base = this.onEach(`${name}`, s.members.filter((n) => !backups.includes(n)), machines, baseArgs);
        Object.assign(base, this.onEach(`${name}`, backups, machines, baseArgs, [base[s.controllers[0].name], ...this.waitsFor]));

        const acct = s.accounting;
        const mariadb = this.step(`mariadb-${acct.name}`, {
            machine: machines[acct.name],
            files: [{ path: MARIADB_CNF, content: render("slurm/mariadb.cnf.mustache", { name: acct.name }) }],
            unit: "mariadb",
            onChange: "restart",
        });
        const slurmdbd = this.step(
            `slurmdbd-${acct.name}`,
            {
                machine: machines[acct.name],
                before: DATABASE_SCRIPT,
                files: [unitDropIn("slurmdbd", s)],
                after: DAEMON_RELOAD,
                unit: "slurmdbd",
                onChange: "restart",
                ready: untilScript({ script: "sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1 && echo answers", expect: "answers" }, 60, "slurmdbd did not answer"),
                probes: [DATABASE_PROBE],
            },
            [base[acct.name], mariadb, ...this.waitsFor],
        );

        // The primary first: a controller that starts asks the others to stand
        // by, and one still starting itself answers only after 30 s.
        const controller = (node: NodePlan, after: pulumi.Resource[]) =>
            this.step(
                `slurmctld-${node.name}`,
                {
                    machine: machines[node.name],
                    before: stateDirScript(s),
                    files: [
                        unitDropIn("slurmctld", s, node),
                        ...(node === s.controllers[0] ? [{ path: RECLAIM, content: render("slurm/slurmctld-reclaim.mustache", { name: node.name }), mode: "755" }] : []),
                    ],
                    after: DAEMON_RELOAD,
                    unit: "slurmctld",
                    onChange: "restart",
                    ready: untilScript(controllerProbe(s, node), 60, `slurmctld on ${node.name} did not answer`),
                    probes: [controllerProbe(s, node), registeredProbe(s)],
                },
                [slurmdbd, base[node.name], args.mounts[node.name], ...after, ...this.waitsFor],
            );
        const primary = controller(s.controllers[0], []);
        const controllers: Record<string, ManagedService> = { [`slurmctld-${s.controllers[0].name}`]: primary };
        for (const n of s.controllers.slice(1)) controllers[`slurmctld-${n.name}`] = controller(n, [primary]);

        this.onEach(
            "slurmd",
            plan.compute,
            machines,
            (node) => ({
                files: [unitDropIn("slurmd", s)],
                after: DAEMON_RELOAD,
                unit: "slurmd",
                onChange: "restart",
                ready: untilScript(nodeProbe(node), 60, `${node.name} did not come into service`),
                deleteGuard: slurmdDeleteGuard(node),
                probes: [nodeProbe(node)],
            }),
            [...Object.values(controllers), ...plan.compute.map((n) => base[n.name]), ...this.waitsFor],
        );

        this.summary = {
            enabled: true,
            clusterName: s.clusterName,
            controllers: { primary: s.controllers[0].name, backups: s.controllers.slice(1).map((n) => n.name) },
            stateSaveLocation: s.stateSave,
            partitions: { [s.partition]: { default: true, nodes: plan.compute.map((n) => n.name) } },
            nodes: Object.fromEntries(plan.compute.map((n) => [n.name, { cpus: n.spec.cpus, memoryMb: n.spec.memoryMb, realMemoryMb: realMemory(n) }])),
            accountingHost: acct.name,
        };
        this.registerOutputs({});
    }
}
