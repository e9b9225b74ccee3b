/**
 * The cluster plan: everything the config implies about the layout, worked out
 * once and without resources: each node's role, NICs (names, networks, MACs,
 * addresses, gateways), its name in DNS; who the directors, compute nodes,
 * SAN nodes and the nas are; where homes live and what must be mounted before
 * they are made; which directors run HTCondor's central manager. Backends build
 * the machines from it; services read it and look nothing up themselves.
 */
import * as crypto from "crypto";
import { ClusterConfig, CondorSpec, FrontDoorSpec, MosixSpec, NetworkName, NetworkSpec, NodeSpec, Roles, Scheduler, SlurmSpec } from "./config";
import { PSEUDO, SERVER_SYSTEM_CALLS } from "./storage/nfs";

/** A node's NIC, named as on the VMs. */
export interface NicPlan {
    name: string;
    network: NetworkName;
    /** Fixed hardware address, so DHCP leases can name it (VirtualBox's prefix, as in the thesis). */
    mac: string;
    address?: string;
    gateway?: string;
}

export type Role = keyof Roles;

/** One node as the services see it. */
export interface NodePlan {
    name: string;
    role: Role | undefined;
    /** The node as configured: CPUs, memory, disks, bond, the `existing` backend's login. */
    spec: NodeSpec;
    /** Its internal address (every node has one). */
    address: string;
    /** Its external address (the directors). */
    external?: string;
    /** Its name in the cluster's DNS. */
    fqdn: string;
    /** The internal NICs first (eth0, and one per bond slave), then the external one. */
    nics: NicPlan[];
}

/** Where users' homes are, and which service provides that directory. */
export interface HomesPlan {
    base: string;
    /**
     * What must be mounted on the nas before homes are made there: the Gluster
     * volume the base lies on, or the NFS export (/nfs), or nothing (a local
     * directory). Made too early, a home would land under the mount point and
     * vanish once the volume is mounted over it.
     */
    source: "gluster" | "nfs" | "local";
}

export interface ClusterPlan {
    /** The DNS domain of the cluster's names. */
    domain: string;
    networks: Record<NetworkName, NetworkSpec>;
    /** Every node, in config order. */
    nodes: NodePlan[];
    directors: NodePlan[];
    compute: NodePlan[];
    san: NodePlan[];
    nas: NodePlan;
    homes: HomesPlan;
    frontDoor: FrontDoorSpec;
    storage: ClusterConfig["storage"];
    identity: ClusterConfig["identity"];
    /** The job managers that run (jobs.schedulers). */
    schedulers: Scheduler[];
    /** The pool's settings, and the directors that run a central manager: both with HA, else the first (none when HTCondor is off). */
    condor: CondorSpec & { enabled: boolean; managers: NodePlan[] };
    /** Slurm's settings; undefined when it is off. */
    slurm?: SlurmPlan;
    /** MOSIX' settings and its member nodes. */
    mosix: MosixSpec & { members: NodePlan[] };
    /** How a change reaches the compute nodes of a running cluster: `batch` at a time (group `compute`). */
    computeRollout: { group: string; batch: number };
}

/** Slurm as placed on the nodes. */
export interface SlurmPlan extends Omit<SlurmSpec, "accountingHost"> {
    /** slurmctld: the primary first, then the backups (every director). */
    controllers: NodePlan[];
    /** slurmdbd and its MariaDB. */
    accounting: NodePlan;
    /**
     * StateSaveLocation: on the first replicated Gluster volume, which every
     * controller mounts (a backup reads the primary's heartbeat and state
     * there); a local directory when there is one controller.
     */
    stateSave: string;
    /** Every node with a Slurm daemon (munge runs there): controllers, compute nodes, the accounting host. */
    members: NodePlan[];
}

/** A NIC's MAC address: 08:00:27 and three bytes from the node and NIC names. */
export function macOf(node: string, nic: string): string {
    const h = crypto.createHash("sha256").update(`${node}/${nic}`).digest();
    return ["08", "00", "27", ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** The node's role, for naming and defaults. */
export function roleOf(roles: Roles, node: string): Role | undefined {
    if (roles.directors.includes(node)) return "directors";
    if (roles.compute.includes(node)) return "compute";
    if (roles.nas === node) return "nas";
    if (roles.san.includes(node)) return "san";
    return undefined;
}

/**
 * A node's NICs: the internal network first (eth0), then the external one;
 * the nas gets one NIC per bond slave, the address on eth0 until the bond
 * takes over.
 */
function nicsOf(cfg: ClusterConfig, node: NodeSpec): NicPlan[] {
    const withLen = (net: NetworkName, a: string) => `${a}/${cfg.networks[net].prefix[1]}`;
    const nics: NicPlan[] = [];
    const internalSlaves = node.bond ? node.bond.slaves : 1;
    const external = node.addresses.external;
    for (let i = 0; i < internalSlaves; i++) {
        nics.push({
            name: `eth${i}`,
            network: "internal",
            mac: macOf(node.name, `eth${i}`),
            address: i === 0 ? withLen("internal", node.addresses.internal) : undefined,
            // Internal-only nodes route through the internal VIP (NAT on the
            // active director), so the route survives a director failure.
            gateway: i === 0 && external === undefined ? cfg.networks.internal.vip : undefined,
        });
    }
    if (external !== undefined) {
        nics.push({
            name: `eth${nics.length}`,
            network: "external",
            mac: macOf(node.name, `eth${nics.length}`),
            address: withLen("external", external),
            gateway: cfg.roles.directors.includes(node.name) ? cfg.networks.external.hostAddress : undefined,
        });
    }
    return nics;
}

function homesOf(cfg: ClusterConfig): HomesPlan {
    const base = cfg.identity.homeBase;
    const under = (dir: string) => base === dir || base.startsWith(`${dir}/`);
    if (cfg.storage.volumes.some((v) => under(v.mount))) return { base, source: "gluster" };
    if (under(PSEUDO)) return { base, source: "nfs" };
    return { base, source: "local" };
}

/** The plan of a parsed config (parseClusterConfig has checked every name it refers to). */
export function clusterPlan(cfg: ClusterConfig): ClusterPlan {
    const nodes: NodePlan[] = cfg.nodes.map((spec) => ({
        name: spec.name,
        role: roleOf(cfg.roles, spec.name),
        spec,
        address: spec.addresses.internal,
        external: spec.addresses.external,
        fqdn: `${spec.name}.${cfg.frontDoor.domain}`,
        nics: nicsOf(cfg, spec),
    }));
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const get = (name: string) => {
        const n = byName.get(name);
        if (n === undefined) throw new Error(`the plan has no node ${name}`);
        return n;
    };
    const directors = cfg.roles.directors.map(get);
    return {
        domain: cfg.frontDoor.domain,
        networks: cfg.networks,
        nodes,
        directors,
        compute: cfg.roles.compute.map(get),
        san: cfg.roles.san.map(get),
        nas: get(cfg.roles.nas),
        homes: homesOf(cfg),
        frontDoor: cfg.frontDoor,
        storage: cfg.storage,
        identity: cfg.identity,
        schedulers: cfg.jobs.schedulers,
        condor: {
            ...cfg.condor,
            enabled: cfg.jobs.schedulers.includes("htcondor"),
            managers: !cfg.jobs.schedulers.includes("htcondor") ? [] : cfg.condor.highAvailability ? directors : directors.slice(0, 1),
        },
        slurm: cfg.jobs.schedulers.includes("slurm") ? slurmPlan(cfg, directors, cfg.roles.compute.map(get), get(cfg.slurm.accountingHost)) : undefined,
        mosix: { ...cfg.mosix, members: cfg.mosix.nodes.map(get) },
        computeRollout: { group: "compute", batch: cfg.rollout.batchSize },
    };
}

/** Where Slurm runs, from the config (parseClusterConfig has checked that a replicated volume exists when there are two controllers). */
function slurmPlan(cfg: ClusterConfig, directors: NodePlan[], compute: NodePlan[], accounting: NodePlan): SlurmPlan {
    const replicated = cfg.storage.volumes.find((v) => v.type === "replicate");
    const members = [...new Set([...directors, ...compute, accounting])];
    return {
        clusterName: cfg.slurm.clusterName,
        partition: cfg.slurm.partition,
        controllerTimeoutSeconds: cfg.slurm.controllerTimeoutSeconds,
        nodeTimeoutSeconds: cfg.slurm.nodeTimeoutSeconds,
        requeueDelaySeconds: cfg.slurm.requeueDelaySeconds,
        drainTimeoutSeconds: cfg.slurm.drainTimeoutSeconds,
        controllers: directors,
        accounting,
        stateSave: directors.length > 1 && replicated ? `${replicated.mount}/slurm/slurmctld` : "/var/lib/slurm/slurmctld",
        members: cfg.nodes.map((n) => members.find((m) => m.name === n.name)).filter((m): m is NodePlan => m !== undefined),
    };
}

/** The node's NIC on a network; a node without one is a mistake in the program. */
export function nicOn(node: NodePlan, network: NetworkName): NicPlan {
    const nic = node.nics.find((n) => n.network === network);
    if (!nic) throw new Error(`${node.name} has no NIC on the ${network} network`);
    return nic;
}

export const isDirector = (plan: ClusterPlan, node: NodePlan) => plan.directors.includes(node);
export const isCompute = (plan: ClusterPlan, node: NodePlan) => plan.compute.includes(node);

/** The rollout a node's step belongs to: compute nodes take their turn (see `rollout.batchSize`); other nodes go at once. */
export const rolloutOf = (plan: ClusterPlan, node: NodePlan) => (isCompute(plan, node) ? plan.computeRollout : undefined);

/**
 * What the services placed on a node need of its machine beyond a plain Debian
 * guest: the system calls a container must allow (nfs-ganesha on the nas).
 */
export interface MachineNeeds {
    systemCalls: string[];
}

export function machineNeeds(plan: ClusterPlan, node: NodePlan): MachineNeeds {
    return { systemCalls: node === plan.nas ? SERVER_SYSTEM_CALLS : [] };
}
