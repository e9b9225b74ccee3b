import * as pulumi from "@pulumi/pulumi";
import { loadClusterConfig, NAMESPACE } from "./components/config";
import { FrontDoor } from "./components/frontdoor";
import { MachineLayer } from "./components/machines";
import { MachineSource } from "./components/backends/existing/source";
import { BrickLayout, brickLayout, brickRemovalProblems, bricksLeaving, GlusterVolumes } from "./components/storage/gluster";
import { NfsExport } from "./components/storage/nfs";
import { homeOf, NisDomain } from "./components/identity/nis";
import { SshAccess } from "./components/identity/ssh-access";
import { CondorPool } from "./components/jobs/condor";
import { ComputeDrain } from "./components/jobs/drain";
import { Mosix } from "./components/jobs/mosix";
import { SlurmCluster } from "./components/jobs/slurm";
import { NicBond } from "./components/network/bond";
import { SshKeyPair } from "./components/provider";
import { clusterPlan } from "./components/plan";
import { computeLeaving, previousOutput } from "./components/previous";

// Checked before any resource exists: bad config changes nothing.
const cfg = loadClusterConfig();
// The layout the config implies, worked out once: services read it and look nothing up.
const plan = clusterPlan(cfg);
const stack = pulumi.getStack();

// What leaves the cluster since the last update, from the stack's own outputs. A
// removal that would lose data is refused before any machine is touched: every
// machine and command waits for this check through the key it is given, and on a
// refusal the check never passes and the program ends with the reason.
const removals = Promise.all([previousOutput("condorPool"), previousOutput("glusterBricks")]).then(([pool, bricks]) => {
    const problems = brickRemovalProblems(bricks as BrickLayout | undefined, plan);
    if (problems.length > 0) {
        // Thrown outside the inputs it gates (whose serialization would wrap it), it ends the program.
        setImmediate(() => {
            throw new pulumi.RunError(`refused before anything was changed:\n  ${problems.join("\n  ")}`);
        });
        return new Promise<void>(() => undefined);
    }
    for (const [volume, leaving] of Object.entries(bricksLeaving(bricks as BrickLayout | undefined, plan))) {
        const one = leaving.length === 1;
        pulumi.log.warn(`${leaving.join(" ")} ${one ? "leaves" : "leave"} volume ${volume}: ${one ? "its" : "their"} files move to the volume's other bricks first (remove-brick start, wait, commit)`);
    }
    for (const n of computeLeaving(pool, plan.compute.map((c) => c.name))) {
        pulumi.log.warn(
            `${n} leaves roles.compute: it is drained first (drain-${n}: HTCondor starts no new job there; running ones may go on up to ${plan.condor.drainTimeoutSeconds} s after their start, self-checkpointing ones resume elsewhere; users still logged in there are told with wall and waited for until then), then its services and machine go` +
                (plan.slurm
                    ? `; in Slurm it is drained before the controllers forget it (slurm-${plan.slurm.controllers[0].name}): its jobs may go on up to ${plan.slurm.drainTimeoutSeconds} s, then are requeued to run elsewhere`
                    : ""),
        );
    }
    return Promise.resolve();
});
const checked = (value: pulumi.Input<string>): pulumi.Output<string> => pulumi.all([removals.then(() => true), value]).apply(([, v]) => v);

// One key pair per stack reaches every machine; nothing is typed by hand.
const adminKey = new SshKeyPair("admin-key", { comment: `thesis-cluster-${stack}` });

// Hosts of the `existing` backend may take a key of the user's instead, or come
// with another stack's machines and its key (machinesFrom).
const ownKey = cfg.backend === "existing" ? new pulumi.Config(NAMESPACE).getSecret("sshPrivateKey") : undefined;
const source = cfg.machinesFrom !== undefined ? new MachineSource(cfg.machinesFrom) : undefined;

const layer = new MachineLayer("cluster", {
    cfg,
    plan,
    stack,
    privateKey: checked(ownKey ?? source?.privateKey ?? adminKey.privateKey),
    publicKey: checked(adminKey.publicKey),
    source,
});

const frontDoor = new FrontDoor("front-door", { plan, machines: layer.machines });
// Users' managed keys on every node; the directors never penalized by sshd.
const sshAccess = new SshAccess("ssh-access", { plan, machines: layer.machines });
// Peers and clients find the SAN nodes by name: after dnsmasq, resolv.conf and the VIP.
const gluster = new GlusterVolumes("gluster", { plan, machines: layer.machines }, { dependsOn: frontDoor.names });
const bond = new NicBond("bond", { plan, machines: layer.machines });
// The nas serves /home as /nfs; NIS (rpcbind) comes up alongside on the same node.
const nfs = new NfsExport("nfs", { plan, machines: layer.machines }, { dependsOn: frontDoor.names });
// What serves the homes on every node; homes are made on the nas once the base is
// mounted there. Users and maps need no storage.
const homeService = { gluster: [gluster], nfs: [nfs], local: [] }[plan.homes.source];
const homeBase = { gluster: [gluster.mounts[plan.nas.name]], nfs: [nfs], local: [] }[plan.homes.source];
const nis = new NisDomain("nis", { plan, machines: layer.machines, homeBase }, { dependsOn: frontDoor.names });
// Managers are found by name. Jobs run as NIS users in their shared homes, but the
// daemons need neither to start: the pool comes up beside storage and identity.
const condor = new CondorPool("condor", { plan, machines: layer.machines }, { dependsOn: frontDoor.names });
// Slurm beside the pool when jobs.schedulers says so: its controllers keep their
// state on the replicated volume, mounted on the directors first.
const slurm = new SlurmCluster("slurm", { plan, machines: layer.machines, mounts: gluster.mounts }, { dependsOn: frontDoor.names });
// Off unless the user supplies a MOSIX tarball.
const mosix = new Mosix("mosix", { plan, machines: layer.machines }, { dependsOn: frontDoor.names });
// A compute node that leaves roles.compute is drained before anything on it goes
// (its homes, users, sshd, then the machine); HAProxy's and the pool's configs
// drop it earlier in the same update. A destroy (the key pair goes too) does not wait for jobs.
new ComputeDrain(
    "drain",
    { plan, machines: layer.machines, deletedWith: adminKey },
    { dependsOn: [condor, slurm, frontDoor, sshAccess, nis, ...homeService] },
);

export const adminPublicKey = adminKey.publicKey;
/** For other stacks and tools that log in to the machines; a Pulumi secret. */
export const adminPrivateKey = pulumi.secret(adminKey.privateKey);
export const backend = cfg.backend;
export const networks = layer.networks;
export const nodes = Object.fromEntries(
    Object.values(layer.machines).map((m) => [
        m.name,
        {
            role: m.node.role,
            addresses: m.node.spec.addresses,
            ssh: m.endpoint,
            hostKey: m.hostKey,
            disks: m.devices,
            state: m.state,
        },
    ]),
);
export const vips = { internal: plan.networks.internal.vip, external: plan.networks.external.vip };
/** The SSH farm (`ssh -p PORT user@HOST` lands on a compute node) and HAProxy's stats page. */
export const sshFrontDoor = frontDoor.sshEndpoint;
/** Where a monitoring stack's Prometheus goes and what it scrapes of the front door (docs/monitoring.md). */
export const monitoring = frontDoor.monitoring;
export const stats = { url: frontDoor.statsUrl, user: "admin", password: pulumi.secret(frontDoor.haproxy.statsPassword) };
/** GlusterFS volumes and where every node mounts them. */
export const glusterVolumes = gluster.mountPoints;
/** Each volume's bricks in order and its replica count: what the next update compares a removal with. */
export const glusterBricks = brickLayout(plan);
/** The NIS domain, where homes live, and each user's uid, home and generated password (a secret). */
export const identity = {
    nisDomain: plan.identity.nisDomain,
    homeBase: plan.homes.base,
    users: Object.fromEntries(
        plan.identity.users.map((u) => [u.name, { uid: u.uid, home: homeOf(plan, u), password: pulumi.secret(nis.passwords[u.name]) }]),
    ),
};
/** The NFS export and, per node, whether it is mounted or why not (no kernel NFS client here). */
export const nfsExport = { export: nfs.export, clients: nfs.clients };
/** The HTCondor pool: its name, central managers, submit hosts and slots per execute node. */
export const condorPool = condor.summary;
/** Slurm: its controllers, partition, nodes with their CPUs and memory, the accounting host; or that it is off. */
export const slurmCluster = slurm.summary;
/** MOSIX: its nodes, or that it is off and why. */
export const mosixStatus = mosix.status;
/** bond0 per bonded node: its mode and links, or why this host cannot have one. */
export const bonds = bond.status;
