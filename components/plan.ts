/**
 * The machine layout the config implies, computed without resources: each
 * node's NICs (names, networks, MACs, addresses, gateways). Backends build the
 * machines from it, services read NIC names and MACs from it.
 */
import * as crypto from "crypto";
import { ClusterConfig, NetworkName, NodeSpec } from "./config";
import { SERVER_SYSTEM_CALLS } from "./storage/nfs";

/** A node's NICs, named as on the VMs: the internal network first (eth0), then
 * the external one; the nas gets one NIC per bond slave, the address on eth0
 * until the bond takes over. */
export interface NicPlan {
    name: string;
    network: NetworkName;
    /** Fixed hardware address, so DHCP leases can name it (VirtualBox's prefix, as in the thesis). */
    mac: string;
    address?: string;
    gateway?: string;
}

/** A NIC's MAC address: 08:00:27 and three bytes from the node and NIC names. */
export function macOf(node: string, nic: string): string {
    const h = crypto.createHash("sha256").update(`${node}/${nic}`).digest();
    return ["08", "00", "27", ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

export function nicPlan(cfg: ClusterConfig, node: NodeSpec): NicPlan[] {
    const directors = cfg.roles.directors;
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
            gateway: directors.includes(node.name) ? cfg.networks.external.hostAddress : undefined,
        });
    }
    return nics;
}

/** What the services placed on a node need of its machine beyond a plain Debian guest (the system calls a container must allow). */
export function machineNeeds(cfg: ClusterConfig, node: string): { systemCalls: string[] } {
    return { systemCalls: cfg.roles.nas === node ? SERVER_SYSTEM_CALLS : [] };
}
