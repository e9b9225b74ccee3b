/**
 * The stack config model: networks, nodes, roles. Parsed and checked before any
 * resource exists, so bad input stops `pulumi up` with a message that names the
 * key and the value, and nothing already built is touched.
 *
 * Every key is documented in docs/config.md with its default.
 */
import * as fs from "fs";
import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { CONFIG_KEYS, ClusterConfig, NAMESPACE, NETWORKS, NetworkName, NetworkSpec, OTHER_KEYS, Roles, topSchema } from "./config-schema";

export * from "./config-schema";

/** Thrown for bad stack config; lists every problem found, one a line. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid stack config:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

/** Where a value sits in `pulumi config` terms: thesis-cluster:nodes[2].addresses.internal */
function keyOf(path: readonly PropertyKey[]): string {
    let key = NAMESPACE;
    path.forEach((p, i) => {
        if (typeof p === "number") {
            key += `[${p}]`;
        } else {
            key += i === 0 ? `:${String(p)}` : `.${String(p)}`;
        }
    });
    return key;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
    let v = raw;
    for (const p of path) {
        if (v === null || typeof v !== "object") {
            return undefined;
        }
        v = (v as Record<PropertyKey, unknown>)[p];
    }
    return v;
}

function show(v: unknown): string {
    return v === undefined ? "(unset)" : JSON.stringify(v);
}

/**
 * The problems of keys in the project's namespace that nothing reads (a
 * misspelt `thesis-cluster:frontdoor` would otherwise leave the defaults in
 * force without a word). `keys` are full config keys, as `pulumi config` lists
 * them; other namespaces are not ours to judge.
 */
export function unknownKeyProblems(keys: string[]): string[] {
    const known: readonly string[] = [...CONFIG_KEYS, ...OTHER_KEYS];
    return keys
        .filter((k) => k.startsWith(`${NAMESPACE}:`))
        .map((k) => k.slice(NAMESPACE.length + 1))
        .filter((k) => !known.includes(k))
        .sort()
        .map((k) => {
            const near = known.find((n) => n.toLowerCase() === k.toLowerCase());
            return `${NAMESPACE}:${k}: unknown key${near ? ` (did you mean ${NAMESPACE}:${near}?)` : ""}; the known keys are ${known.join(", ")}`;
        });
}

function parseIPv4(s: string): ipaddr.IPv4 | undefined {
    return ipaddr.IPv4.isValidFourPartDecimal(s) ? ipaddr.IPv4.parse(s) : undefined;
}

/**
 * Parses and checks the stack config. `raw` maps each key of CONFIG_KEYS to its
 * value as Pulumi hands it over (objects already decoded from JSON).
 */
export function parseClusterConfig(raw: Record<string, unknown>): ClusterConfig {
    const parsed = topSchema.safeParse(raw);
    if (!parsed.success) {
        throw new ConfigError(
            parsed.error.issues.map((i) => `${keyOf(i.path)}: ${show(valueAt(raw, i.path))} ${i.message}`),
        );
    }
    const cfg = parsed.data;
    const problems: string[] = [];
    const bad = (path: PropertyKey[], msg: string) => problems.push(`${keyOf(path)}: ${show(valueAt(raw, path))} ${msg}`);

    // Networks: a valid IPv4 CIDR; VIP and host address inside it.
    const networks = {} as Record<NetworkName, NetworkSpec>;
    // Network and broadcast address of each valid network, as strings.
    const ends = {} as Record<NetworkName, [string, string]>;
    for (const name of NETWORKS) {
        const n = cfg.networks[name];
        let prefix: [ipaddr.IPv4, number] | undefined;
        try {
            const [addr, len] = ipaddr.IPv4.parseCIDR(n.cidr);
            const network = ipaddr.IPv4.networkAddressFromCIDR(n.cidr).toString();
            if (addr.toString() !== network) {
                bad(["networks", name, "cidr"], `has host bits set; the network is ${network}/${len}`);
            } else if (len < 8 || len > 30) {
                bad(["networks", name, "cidr"], "must have a prefix length between 8 and 30");
            } else {
                prefix = [addr, len];
                ends[name] = [network, ipaddr.IPv4.broadcastAddressFromCIDR(n.cidr).toString()];
            }
        } catch {
            bad(["networks", name, "cidr"], "is not an IPv4 network in CIDR form (like 10.0.100.0/24)");
        }
        networks[name] = { name, cidr: n.cidr, prefix: prefix ?? [ipaddr.IPv4.parse("0.0.0.0"), 0], vip: n.vip, hostAddress: n.hostAddress };
    }
    // Every address in one list, to check form, subnet and uniqueness together.
    const addrs: { path: PropertyKey[]; network: NetworkName; value: string; what: string }[] = [];
    for (const name of NETWORKS) {
        addrs.push({ path: ["networks", name, "vip"], network: name, value: cfg.networks[name].vip, what: `the ${name} VIP` });
        const host = cfg.networks[name].hostAddress;
        if (host !== undefined) {
            addrs.push({ path: ["networks", name, "hostAddress"], network: name, value: host, what: `the host's ${name} address` });
        }
    }
    cfg.nodes.forEach((node, i) => {
        for (const name of NETWORKS) {
            const value = node.addresses[name];
            if (value !== undefined) {
                addrs.push({ path: ["nodes", i, "addresses", name], network: name, value, what: `${node.name}'s ${name} address` });
            }
        }
    });
    const owner = new Map<string, string>();
    for (const a of addrs) {
        const ip = parseIPv4(a.value);
        if (!ip) {
            bad(a.path, "is not an IPv4 address");
            continue;
        }
        const net = networks[a.network];
        if (ends[a.network] !== undefined) {
            if (!ip.match(net.prefix)) {
                bad(a.path, `is outside network ${a.network} (${net.cidr})`);
                continue;
            }
            const [first, last] = ends[a.network];
            if (ip.toString() === first || ip.toString() === last) {
                bad(a.path, `is the ${ip.toString() === first ? "network" : "broadcast"} address of ${net.cidr}`);
                continue;
            }
        }
        const prev = owner.get(ip.toString());
        if (prev !== undefined) {
            bad(a.path, `is already ${prev}`);
        } else {
            owner.set(ip.toString(), a.what);
        }
    }

    // Node names are unique.
    const index = new Map<string, number>();
    cfg.nodes.forEach((node, i) => {
        if (index.has(node.name)) {
            bad(["nodes", i, "name"], `is a duplicate of nodes[${index.get(node.name)}]`);
        } else {
            index.set(node.name, i);
        }
        if (node.ssh && cfg.backend !== "existing") {
            bad(["nodes", i, "ssh"], `is only used with backend "existing" (backend is "${cfg.backend}")`);
        } else if (node.ssh && cfg.machinesFrom !== undefined) {
            bad(["nodes", i, "ssh"], `is not used with machinesFrom: ${node.name} is reached as stack ${cfg.machinesFrom} says`);
        }
        if (!node.ssh && cfg.backend === "existing" && cfg.machinesFrom === undefined) {
            bad(["nodes", i, "ssh"], `is required with backend "existing" (or thesis-cluster:machinesFrom): how to reach ${node.name}`);
        }
    });

    if (cfg.machinesFrom !== undefined && cfg.backend !== "existing") {
        bad(["machinesFrom"], `is only used with backend "existing" (backend is "${cfg.backend}")`);
    }

    // A jump host is another node reached directly.
    cfg.nodes.forEach((node, i) => {
        const proxy = node.ssh?.proxy;
        if (proxy === undefined) return;
        const j = index.get(proxy);
        if (j === undefined) {
            bad(["nodes", i, "ssh", "proxy"], "is not a node in thesis-cluster:nodes");
        } else if (j === i || cfg.nodes[j].ssh?.proxy !== undefined) {
            bad(["nodes", i, "ssh", "proxy"], "must be another node that is reached without a jump host");
        }
    });

    // Roles name known nodes, in the numbers the cluster needs, once each.
    const roleCount: Record<keyof Roles, [number, number]> = {
        directors: [2, 2],
        compute: [1, 64],
        nas: [1, 1],
        san: [1, 64],
    };
    const assigned = new Map<string, string>();
    for (const role of Object.keys(roleCount) as (keyof Roles)[]) {
        const value = cfg.roles[role];
        const members = typeof value === "string" ? [value] : value;
        const [min, max] = roleCount[role];
        if (members.length < min || members.length > max) {
            bad(["roles", role], min === max ? `must name exactly ${min} node(s)` : `must name at least ${min} node(s)`);
        }
        members.forEach((m, j) => {
            const path: PropertyKey[] = typeof value === "string" ? ["roles", role] : ["roles", role, j];
            if (!index.has(m)) {
                bad(path, "is not a node in thesis-cluster:nodes");
                return;
            }
            const other = assigned.get(m);
            if (other !== undefined) {
                bad(path, `already has role ${other}`);
                return;
            }
            assigned.set(m, role);
        });
    }
    for (const d of cfg.roles.directors) {
        const i = index.get(d);
        if (i !== undefined && cfg.nodes[i].addresses.external === undefined) {
            bad(["nodes", i, "addresses", "external"], `is required: ${d} is a director and holds the external VIP`);
        }
    }
    // The front door's numbers must not collide.
    const fd = cfg.frontDoor;
    if (fd.vrrp.priorities[0] <= fd.vrrp.priorities[1]) {
        bad(["frontDoor", "vrrp", "priorities"], "must give the first director (MASTER) the higher priority");
    }
    if (fd.vrrp.routerIds.internal === fd.vrrp.routerIds.external) {
        bad(["frontDoor", "vrrp", "routerIds", "external"], "must differ from the internal instance's router id");
    }
    if (fd.sshPort === fd.statsPort) {
        bad(["frontDoor", "statsPort"], "must differ from frontDoor.sshPort");
    }
    if (fd.monitoringPort === fd.sshPort || fd.monitoringPort === fd.statsPort) {
        bad(["frontDoor", "monitoringPort"], "must differ from frontDoor.sshPort and frontDoor.statsPort");
    }
    fd.dnsUpstream.forEach((a, i) => {
        if (!parseIPv4(a)) bad(["frontDoor", "dnsUpstream", i], "is not an IPv4 address");
    });
    // Gluster volumes: unique names, mounts and disks; bricks that exist; a
    // replica count the SAN nodes can hold.
    // (Only once the roles are sound: a node misplaced in roles.san says nothing about disks.)
    const sanNodes = problems.length > 0 ? [] : cfg.roles.san.map((n) => cfg.nodes.find((x) => x.name === n)).filter((n) => n !== undefined);
    const seenVolume = new Map<string, string>();
    cfg.storage.volumes.forEach((v, i) => {
        for (const [what, key] of [["name", v.name], ["mount", v.mount], ["disk", String(v.disk)]] as const) {
            const prev = seenVolume.get(`${what}:${key}`);
            if (prev !== undefined) bad(["storage", "volumes", i, what], `is already used by volume ${prev}`);
            else seenVolume.set(`${what}:${key}`, v.name);
        }
        // The volume's own nodes: each in roles.san, once.
        let members = sanNodes;
        if (v.nodes !== undefined && sanNodes.length > 0) {
            v.nodes.forEach((n, j) => {
                if (!cfg.roles.san.includes(n)) bad(["storage", "volumes", i, "nodes", j], "is not in roles.san");
                else if (v.nodes!.indexOf(n) !== j) bad(["storage", "volumes", i, "nodes", j], "is listed twice");
            });
            members = sanNodes.filter((n) => v.nodes!.includes(n.name));
        }
        for (const n of members) {
            if (v.disk >= n.disks.length) {
                bad(["storage", "volumes", i, "disk"], `needs a disk ${v.disk + 1} on every SAN node of the volume, and ${n.name} has ${n.disks.length}`);
                break;
            }
        }
        if (v.type === "distribute" && v.replica !== undefined) {
            bad(["storage", "volumes", i, "replica"], "is only for type replicate");
        }
        if (v.type === "replicate" && v.replica !== undefined) {
            const of = v.nodes === undefined ? "roles.san" : "the volume's nodes";
            if (members.length === 0) {
                // judged once the roles are sound
            } else if (v.replica > members.length) {
                bad(["storage", "volumes", i, "replica"], `is larger than the ${members.length} bricks of ${of}`);
            } else if (members.length % v.replica !== 0) {
                bad(["storage", "volumes", i, "replica"], `must divide the ${members.length} bricks of ${of}`);
            }
        }
    });
    // Users: one name and one uid each.
    const seenUser = new Map<string, string>();
    cfg.identity.users.forEach((u, i) => {
        for (const [what, key] of [["name", u.name], ["uid", String(u.uid)]] as const) {
            const prev = seenUser.get(`${what}:${key}`);
            if (prev !== undefined) bad(["identity", "users", i, what], `is already used by user ${prev}`);
            else seenUser.set(`${what}:${key}`, u.name);
        }
    });
    // nfs-ganesha cannot export a directory on overlayfs: on nspawn the nas needs its data disk.
    const nasNode = cfg.nodes.find((n) => n.name === cfg.roles.nas);
    if (cfg.backend === "nspawn" && nasNode && nasNode.disks.length === 0) {
        bad(["nodes", cfg.nodes.indexOf(nasNode), "disks"], "needs one disk on the nas: the NFS export lives on it (nfs-ganesha cannot export overlayfs)");
    }
    const replicated = cfg.storage.volumes.find((v) => v.type === "replicate");
    const homeBase = cfg.identity.homeBase ?? (cfg.backend === "nspawn" ? (replicated ? `${replicated.mount}/home` : undefined) : "/nfs");
    if (homeBase === undefined) {
        bad(["identity", "homeBase"], "is required: the nspawn backend has no kernel NFS, and no replicated volume is configured to hold homes");
    }
    // MOSIX nodes are cluster nodes, once each.
    const mosixNodes = cfg.mosix.nodes ?? [cfg.roles.directors[0], ...cfg.roles.compute];
    const seenMosix = new Set<string>();
    (cfg.mosix.nodes ?? []).forEach((m, i) => {
        if (!index.has(m)) bad(["mosix", "nodes", i], "is not a node in thesis-cluster:nodes");
        else if (seenMosix.has(m)) bad(["mosix", "nodes", i], "is listed twice");
        seenMosix.add(m);
    });
    // Job managers: each once; Slurm needs compute nodes and an accounting host that is a node.
    cfg.jobs.schedulers.forEach((s, i) => {
        if (cfg.jobs.schedulers.indexOf(s) !== i) bad(["jobs", "schedulers", i], "is listed twice");
    });
    const slurmOn = cfg.jobs.schedulers.includes("slurm");
    if (slurmOn && cfg.roles.compute.length === 0) bad(["jobs", "schedulers"], "includes slurm, but roles.compute is empty: Slurm needs a compute node to run jobs on");
    const accountingHost = cfg.slurm.accountingHost ?? cfg.roles.nas;
    if (cfg.slurm.accountingHost !== undefined && !index.has(cfg.slurm.accountingHost)) bad(["slurm", "accountingHost"], "is not a node in thesis-cluster:nodes");
    if (slurmOn && cfg.roles.directors.length > 1 && !replicated) {
        bad(["jobs", "schedulers"], "includes slurm with two controllers, but storage.volumes has no replicated volume: the backup slurmctld reads the primary's state and heartbeat there (StateSaveLocation)");
    }
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }

    const nodes = cfg.nodes.map((n) => ({
        ...n,
        memoryMb: n.memoryMb ?? (cfg.roles.directors.includes(n.name) ? 1024 : 512),
    }));
    return {
        backend: cfg.backend,
        machinesFrom: cfg.machinesFrom,
        networks,
        nodes,
        roles: cfg.roles,
        frontDoor: cfg.frontDoor,
        storage: cfg.storage,
        identity: { ...cfg.identity, homeBase: homeBase! },
        condor: {
            ...cfg.condor,
            uidDomain: cfg.condor.uidDomain ?? cfg.frontDoor.domain,
            filesystemDomain: cfg.condor.filesystemDomain ?? cfg.frontDoor.domain,
        },
        jobs: cfg.jobs,
        slurm: { ...cfg.slurm, accountingHost },
        mosix: { ...cfg.mosix, nodes: mosixNodes },
        rollout: cfg.rollout,
        virtualbox: cfg.virtualbox,
        imageCacheDir: cfg.imageCacheDir,
    };
}

/** Files on the machine running Pulumi that the config names and that must exist. */
export function localFileProblems(cfg: ClusterConfig): string[] {
    const t = cfg.mosix.tarball;
    if (t === undefined) return [];
    try {
        if (!fs.statSync(t).isFile()) return [`${NAMESPACE}:mosix.tarball: ${JSON.stringify(t)} is not a file`];
    } catch {
        return [`${NAMESPACE}:mosix.tarball: ${JSON.stringify(t)} does not exist on this machine`];
    }
    return [];
}

/** What the machine running Pulumi has: a nspawn machine shares its CPUs and memory. */
export interface HostLimits {
    memoryMb: number;
    cpus: number;
}

export const thisHost = (): HostLimits => ({ memoryMb: Math.floor(os.totalmem() / 2 ** 20), cpus: os.cpus().length });

/**
 * Slurm's compute nodes as configured against what their machines have: slurmd
 * reports the machine's CPUs and memory, and a node with less than slurm.conf
 * says is drained. A nspawn machine has the host's; the `existing` backend's
 * are checked on each node before Slurm's files are installed there.
 */
export function hostLimitProblems(cfg: ClusterConfig, host: HostLimits): string[] {
    if (cfg.backend !== "nspawn" || !cfg.jobs.schedulers.includes("slurm")) return [];
    const problems: string[] = [];
    cfg.nodes.forEach((n, i) => {
        if (!cfg.roles.compute.includes(n.name)) return;
        if (n.memoryMb > host.memoryMb) {
            problems.push(`${NAMESPACE}:nodes[${i}].memoryMb: ${n.memoryMb} is more than the ${host.memoryMb} MiB this host has (a nspawn machine has the host's memory; slurmd would report less than slurm.conf says, and Slurm would drain ${n.name})`);
        }
        if (n.cpus > host.cpus) {
            problems.push(`${NAMESPACE}:nodes[${i}].cpus: ${n.cpus} is more than the ${host.cpus} CPUs this host has (a nspawn machine has the host's CPUs; Slurm would drain ${n.name})`);
        }
    });
    return problems;
}

/**
 * Reads the stack config through Pulumi and checks it. A problem ends the
 * program with a RunError (message only, no stack trace) before any resource
 * is registered, so the engine changes nothing.
 */
export function loadClusterConfig(): ClusterConfig {
    const c = new pulumi.Config(NAMESPACE);
    const raw: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) {
        const text = c.get(key);
        if (text === undefined) continue;
        try {
            raw[key] = key === "backend" || key === "machinesFrom" ? text : JSON.parse(text);
        } catch {
            raw[key] = text;
        }
    }
    try {
        const unknown = unknownKeyProblems(Object.keys(pulumi.runtime.allConfig()));
        if (unknown.length > 0) throw new ConfigError(unknown);
        const cfg = parseClusterConfig(raw);
        const missing = [...localFileProblems(cfg), ...hostLimitProblems(cfg, thisHost())];
        if (missing.length > 0) throw new ConfigError(missing);
        return cfg;
    } catch (e) {
        if (e instanceof ConfigError) {
            throw new pulumi.RunError(e.message);
        }
        throw e;
    }
}
