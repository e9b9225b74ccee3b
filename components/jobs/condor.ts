/**
 * The HTCondor pool of thesis section 4.6.3, on HTCondor 23: the central
 * manager on the directors (both, with HAD and REPLICATION keeping one
 * negotiator alive, unless the config turns high availability off), every
 * compute node an execute and submit node. Daemons authenticate with IDTOKENS
 * from a generated pool signing key, users with FS; NIS users run their jobs
 * as themselves on the shared homes (UID_DOMAIN, FILESYSTEM_DOMAIN).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ManagedFile, ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { ClusterPlan, isCompute, NodePlan, rolloutOf } from "../plan";
import { RandomSecret } from "../provider";
import { restartDrainedScripts } from "./drain";
import { FILES_DIR, render } from "../render";

export const CONFIG_PATH = "/etc/condor/config.d/50-thesis-cluster.conf";
/** The pool signing key as generated; condor_store_cred turns it into passwords.d/POOL. */
export const KEY_PATH = "/etc/condor/thesis-cluster/pool-signing-key";
export const POOL_PATH = "/etc/condor/passwords.d/POOL";

/** The thesis' test jobs, installed on every submit node for users to copy. */
export const EXAMPLES_DIR = "/usr/local/share/thesis-cluster/condor";
export function examples(): ManagedFile[] {
    const dir = path.join(FILES_DIR, "condor", "examples");
    return fs
        .readdirSync(dir)
        .sort()
        .map((f) => ({
            path: `${EXAMPLES_DIR}/${f}`,
            content: fs.readFileSync(path.join(dir, f), "utf8"),
            mode: fs.statSync(path.join(dir, f)).mode & 0o111 ? "755" : "644",
        }));
}

/**
 * HAD_CONNECTION_TIMEOUT for the central manager at `index` of `managers`, and
 * the step interval HAD derives from it ((timeout x 2 x managers + 1) x 2 s,
 * condor_had's StateMachine; it sends twice per step). Timeouts differ by
 * manager so that no two HADs keep sending to each other at the same moments
 * (see the config template). A backup takes over two or three of its own steps
 * after the primary's last message, so the first backup gets the shortest
 * timeout (1 s). The primary gets 2 s: its messages (one per half step) must
 * still reach every backup within each of the backup's steps, or a backup
 * would hold an election while the primary lives (hadAliveMargin).
 */
export function hadTiming(managers: number, index: number): { hadTimeout: number; hadCycle: number } {
    const hadTimeout = index <= 0 ? 2 : index === 1 ? 1 : index + 1;
    return { hadTimeout, hadCycle: (hadTimeout * 2 * managers + 1) * 2 };
}

/**
 * Seconds by which each backup's step outlasts the interval between the
 * primary's messages (half the primary's step): the smallest over the backups.
 * Positive means every step of every backup hears the primary at least once.
 */
export function hadAliveMargin(managers: number): number {
    const primarySends = hadTiming(managers, 0).hadCycle / 2;
    const backups = Array.from({ length: managers - 1 }, (_, i) => hadTiming(managers, i + 1).hadCycle);
    return Math.min(...backups) - primarySends;
}

/** Seconds between a startd's ad updates: UPDATE_INTERVAL when tuned, HTCondor's default (300) otherwise. */
export const updateInterval = (tuned: boolean) => (tuned ? 10 : 300);

/** The pool's config file for one node; undefined for nodes outside the pool. */
export function condorConfig(plan: ClusterPlan, node: NodePlan): string | undefined {
    const cms = plan.condor.managers;
    const isCm = cms.includes(node);
    const isExecute = isCompute(plan, node);
    if (!plan.condor.enabled || (!isCm && !isExecute)) return undefined;
    const c = plan.condor;
    const updates = updateInterval(c.tuned);
    return render("condor/thesis-cluster.conf.mustache", {
        poolName: c.poolName,
        name: node.name,
        role: isCm ? "central manager" : "execute and submit node",
        highAvailability: c.highAvailability,
        centralManagers: cms.map((n, i) => ({ index: i + 1, host: n.fqdn, address: n.address })),
        condorHost: cms.map((_, i) => `$(CENTRAL_MANAGER${i + 1})`).join(", "),
        hadList: cms.map((_, i) => `$(CENTRAL_MANAGER${i + 1}):$(SHARED_PORT_PORT)`).join(", "),
        primary: cms[0].name,
        ...hadTiming(cms.length, cms.indexOf(node)),
        // The daemons of the central managers, by pool identity and address.
        managerIdentities: cms.map((n) => `condor@password/${n.address}`).join(" "),
        address: node.address,
        network: plan.networks.internal.cidr,
        uidDomain: c.uidDomain,
        filesystemDomain: c.filesystemDomain,
        tuned: c.tuned,
        negotiatorInterval: c.negotiatorInterval,
        updateInterval: updates,
        // The negotiator matches slots heard from this recently (see the template).
        slotHeardWithin: 2 * updates + 5,
        jobLeaseSeconds: c.jobLeaseSeconds,
        // Half the lease: a silent peer is found out while the lease still runs.
        keepaliveSeconds: Math.max(5, Math.floor(c.jobLeaseSeconds / 2)),
        drainTimeout: c.drainTimeoutSeconds,
        benchmarks: c.benchmarks,
        centralManager: isCm,
        execute: isExecute,
        cpus: node.spec.cpus,
        memoryMb: node.spec.memoryMb,
    });
}

/** Writes the signing key, in the form HTCondor keeps it, to a new temporary file $new. */
const ENCODE_KEY = `new=$(mktemp); condor_store_cred add -c -i ${KEY_PATH} -f "$new" >/dev/null`;

/** Installs the signing key as HTCondor's pool password file, once per key. */
export const POOL_KEY_SCRIPT = [
    "install -d -m 700 /etc/condor/passwords.d",
    ENCODE_KEY,
    `if ! cmp -s "$new" ${POOL_PATH}; then install -m 600 "$new" ${POOL_PATH}; changed=1; echo "installed the pool signing key"; fi`,
    'rm -f "$new"',
].join("\n");

/** Prints where HTCondor's shared port listens, once it does (up to 10 s after a start). */
export const SHARED_PORT_PROBE = `for _ in $(seq 50); do a=$(ss -Hltn 'sport = :9618' | awk '{print $4}' | sort -u | paste -sd,); [ -n "$a" ] && break; sleep 0.2; done; echo "condor listens on $a"`;

/**
 * A central manager started before BIND_ALL_INTERFACES = False still listens
 * on every address (a reconfig does not rebind): restart it. Only the
 * directors, which run no jobs; an execute node picks it up at its next start.
 */
export const REBIND_SCRIPT = `if systemctl is-active --quiet condor && ss -Hltn 'sport = :9618' | awk '{print $4}' | grep -qE '^(0\.0\.0\.0|\*|\[::\]):'; then systemctl restart condor; echo "restarted condor: it listened on every address"; fi`;

/**
 * HTCondor sets a TCP connection's keepalive idle time (TCP_KEEPALIVE_INTERVAL)
 * and five probes, but not the time between probes: the kernel's 75 s. A
 * shadow whose execute node lost power then waited 85 s and more before its
 * job could run elsewhere; with probes 5 s apart, the idle time and 25 s.
 * The kernel keeps these per network namespace; systemd-sysctl applies the
 * file at boot where /proc/sys is writable (not in a container: the probe
 * below finds the value lost and the next `up` sets it again).
 */
export const KEEPALIVE_SYSCTL = { path: "/etc/sysctl.d/60-thesis-cluster-keepalive.conf", content: "# Managed by thesis-cluster (Pulumi).\nnet.ipv4.tcp_keepalive_intvl = 5\n" };
export const KEEPALIVE_APPLY = `sysctl -q -p ${KEEPALIVE_SYSCTL.path}`;
export const KEEPALIVE_PROBE = { script: "echo keepalive probes $(sysctl -n net.ipv4.tcp_keepalive_intvl) s apart", expect: "keepalive probes 5 s apart" };

/** Whether passwords.d/POOL holds the managed key (condor_store_cred's form is deterministic). */
export const POOL_KEY_PROBE = `${ENCODE_KEY} 2>&1; cmp -s "$new" ${POOL_PATH} && echo "pool signing key installed" || echo "pool signing key differs"; rm -f "$new"`;

export class CondorPool extends ServiceComponent {
    public readonly services: Record<string, ManagedService>;
    /** What the stack outputs about the pool. */
    public readonly summary: {
        name: string;
        centralManagers: string[];
        highAvailability: string;
        submitHosts: string[];
        executeSlots: Record<string, number>;
        uidDomain: string;
        filesystemDomain: string;
    };

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:CondorPool", name, opts);
        const { plan, machines } = args;
        if (!plan.condor.enabled) {
            this.summary = {
                name: plan.condor.poolName,
                centralManagers: [],
                highAvailability: "HTCondor is off: thesis-cluster:jobs.schedulers does not include htcondor",
                submitHosts: [],
                executeSlots: {},
                uidDomain: plan.condor.uidDomain,
                filesystemDomain: plan.condor.filesystemDomain,
            };
            this.services = {};
            this.registerOutputs({});
            return;
        }
        const key = new RandomSecret(`${name}-signing-key`, { length: 64 }, { parent: this });
        const cms = plan.condor.managers;
        const isCm = (n: NodePlan) => cms.includes(n);
        const configs = new Map(plan.nodes.map((n) => [n, condorConfig(plan, n)]));
        const pool = plan.nodes.filter((n) => configs.get(n) !== undefined);
        const drainTime = plan.condor.drainTimeoutSeconds;
        this.services = this.onEach("condor", pool, machines, (node) => {
            // An execute node whose slots change restarts its startd, drained first.
            const restart = isCompute(plan, node) ? restartDrainedScripts(node, drainTime) : undefined;
            return {
                before: restart?.before,
                files: [
                    { path: KEY_PATH, content: key.value, mode: "600", secret: true },
                    // condor_config_val reads the new file alone: syntax and `use` templates.
                    { path: CONFIG_PATH, content: configs.get(node)!, validate: "CONDOR_CONFIG={} condor_config_val DAEMON_LIST" },
                    KEEPALIVE_SYSCTL,
                    ...(isCompute(plan, node) ? examples() : []),
                ],
                after: [POOL_KEY_SCRIPT, KEEPALIVE_APPLY, isCm(node) ? REBIND_SCRIPT : restart?.after].filter(Boolean).join("\n"),
                unit: "condor",
                rollout: rolloutOf(plan, node),
                // A restart waits for the drain: up to the jobs' retirement.
                timeoutSeconds: restart ? drainTime + 300 : undefined,
                probes: [
                    { script: POOL_KEY_PROBE, expect: "pool signing key installed" },
                    KEEPALIVE_PROBE,
                    // The directors face the external network: their daemons listen on the internal address only.
                    ...(isCm(node) ? [{ script: SHARED_PORT_PROBE, expect: `condor listens on ${node.address}:9618` }] : []),
                ],
            };
        });
        this.summary = {
            name: plan.condor.poolName,
            centralManagers: cms.map((n) => n.fqdn),
            highAvailability: plan.condor.highAvailability
                ? `HAD and REPLICATION on ${cms.map((n) => n.name).join(" and ")}: one negotiator, on ${cms[0].name} while it lives`
                : `off: ${cms[0].name} is the only central manager`,
            submitHosts: plan.compute.map((n) => n.fqdn),
            executeSlots: Object.fromEntries(plan.compute.map((n) => [n.name, n.spec.cpus])),
            uidDomain: plan.condor.uidDomain,
            filesystemDomain: plan.condor.filesystemDomain,
        };
        this.registerOutputs({});
    }
}
