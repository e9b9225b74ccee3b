/** Bigger test topologies: the thesis cluster with more compute nodes (`npm run bench -- --machines N`). */

interface NodeEntry {
    name: string;
    addresses: { internal: string; external?: string };
    [key: string]: unknown;
}

/**
 * The stack config CONFIG (keys without namespace, as TempProject.stackConfig
 * gives it) with compute nodes added until the cluster has MACHINES machines:
 * named after the thesis' cluster2..5 (cluster6, cluster7, …), each on the
 * internal network only, at the lowest host numbers no node or VIP holds.
 * Fewer machines than the config has is refused: nodes are only added.
 */
export function withMachines(config: Record<string, unknown>, machines: number): Record<string, unknown> {
    const nodes = config.nodes as NodeEntry[];
    const roles = config.roles as { compute: string[] };
    const networks = config.networks as { internal: { cidr: string; vip: string } };
    if (!Number.isInteger(machines) || machines < nodes.length) {
        throw new Error(`--machines ${machines}: the topology has ${nodes.length} machines already; give at least that many`);
    }
    const [net, bits] = networks.internal.cidr.split("/");
    if (bits !== "24") throw new Error(`networks.internal.cidr ${networks.internal.cidr}: only a /24 is filled with added nodes`);
    const prefix = net.split(".").slice(0, 3).join(".");
    const taken = new Set([...nodes.map((n) => n.addresses.internal), networks.internal.vip]);
    const names = new Set(nodes.map((n) => n.name));
    const added: NodeEntry[] = [];
    let host = 1;
    let index = 2;
    while (nodes.length + added.length < machines) {
        while (taken.has(`${prefix}.${host}`)) host++;
        while (names.has(`cluster${index}`)) index++;
        if (host > 254) throw new Error(`--machines ${machines}: no free address left on ${networks.internal.cidr}`);
        const node = { name: `cluster${index}`, addresses: { internal: `${prefix}.${host}` } };
        added.push(node);
        taken.add(node.addresses.internal);
        names.add(node.name);
    }
    return {
        ...config,
        nodes: [...nodes, ...added],
        roles: { ...roles, compute: [...roles.compute, ...added.map((n) => n.name)] },
    };
}
