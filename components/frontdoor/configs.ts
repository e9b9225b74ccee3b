/**
 * The front door's config files, rendered from the stack config by pure
 * functions (no resources): dnsmasq, resolv.conf, keepalived, HAProxy and the
 * NAT table. Golden renderings of both stacks are in tests/golden/.
 */
import * as ipaddr from "ipaddr.js";
import { ClusterConfig, NetworkName, NodeSpec } from "../config";
import { nicPlan } from "../plan";
import { render } from "../render";

function nodeOf(cfg: ClusterConfig, name: string): NodeSpec {
    const n = cfg.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
}

/** The name of a node's NIC on a network (eth0, eth1, …), as nicPlan lays them out. */
export function interfaceOn(cfg: ClusterConfig, node: string, network: NetworkName): string {
    const nic = nicPlan(cfg, nodeOf(cfg, node)).find((n) => n.network === network);
    if (!nic) throw new Error(`${node} has no NIC on the ${network} network`);
    return nic.name;
}

const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);

/** Every name dnsmasq answers: nodes (internal address), directors' `-ext` names, the VIPs. */
export function clusterHosts(cfg: ClusterConfig): { name: string; address: string }[] {
    const hosts = cfg.nodes.map((n) => ({ name: n.name, address: n.addresses.internal }));
    for (const n of cfg.nodes) {
        if (n.addresses.external) hosts.push({ name: `${n.name}-ext`, address: n.addresses.external });
    }
    hosts.push({ name: "gateway", address: cfg.networks.internal.vip });
    hosts.push({ name: "frontdoor", address: cfg.networks.external.vip });
    return hosts.sort(byName);
}

export function dnsmasqConf(cfg: ClusterConfig, director: string): string {
    const net = cfg.networks.internal;
    const fd = cfg.frontDoor;
    const leases = cfg.nodes
        .filter((n) => !cfg.roles.directors.includes(n.name))
        .map((n) => ({ name: n.name, address: n.addresses.internal, mac: nicPlan(cfg, n)[0].mac }))
        .sort(byName);
    return render("dnsmasq/thesis-cluster.conf.mustache", {
        name: director,
        interface: interfaceOn(cfg, director, "internal"),
        domain: fd.domain,
        upstream: fd.dnsUpstream,
        hosts: clusterHosts(cfg),
        network: net.prefix[0].toString(),
        netmask: ipaddr.IPv4.subnetMaskFromPrefixLength(net.prefix[1]).toString(),
        gateway: net.vip,
        mtu: fd.dhcpMtu,
        leases,
        pxe: fd.pxe ? { tftpRoot: TFTP_ROOT } : false,
    });
}

export const TFTP_ROOT = "/srv/tftp";

/** Directors ask their own dnsmasq; the others the internal VIP, then each director. */
export function resolvConf(cfg: ClusterConfig, node: string): string {
    const directors = cfg.roles.directors.map((d) => nodeOf(cfg, d).addresses.internal);
    const nameservers = cfg.roles.directors.includes(node) ? ["127.0.0.1"] : [cfg.networks.internal.vip, ...directors];
    return render("resolv/resolv.conf.mustache", { domain: cfg.frontDoor.domain, nameservers });
}

/** The node's own name at its internal address (not Debian's 127.0.1.1, which services would advertise). */
export function hostsFile(cfg: ClusterConfig, node: string): string {
    return render("resolv/hosts.mustache", { name: node, address: nodeOf(cfg, node).addresses.internal, domain: cfg.frontDoor.domain });
}

export function keepalivedConf(cfg: ClusterConfig, director: string): string {
    const v = cfg.frontDoor.vrrp;
    const master = cfg.roles.directors[0] === director;
    const instance = (id: string, network: NetworkName, routerId: number) => ({
        id,
        state: master ? "MASTER" : "BACKUP",
        interface: interfaceOn(cfg, director, network),
        routerId,
        priority: v.priorities[master ? 0 : 1],
        advertInterval: v.advertInterval,
        vip: cfg.networks[network].vip,
        prefixLength: cfg.networks[network].prefix[1],
    });
    return render("keepalived/keepalived.conf.mustache", {
        name: director,
        instances: [instance("VI_1", "internal", v.routerIds.internal), instance("VE_1", "external", v.routerIds.external)],
    });
}

export function haproxyCfg(cfg: ClusterConfig, director: string, statsPassword: string): string {
    const fd = cfg.frontDoor;
    const ms = fd.checkIntervalMs;
    return render("haproxy/haproxy.cfg.mustache", {
        name: director,
        vip: cfg.networks.external.vip,
        ownAddress: nodeOf(cfg, director).addresses.external,
        sshPort: fd.sshPort,
        statsPort: fd.statsPort,
        checkInterval: ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`,
        servers: cfg.roles.compute.map((c) => ({ name: c, address: nodeOf(cfg, c).addresses.internal })),
        statsPassword,
    });
}

export function nftablesConf(cfg: ClusterConfig, director: string): string {
    return render("nat/nftables.conf.mustache", {
        name: director,
        outInterface: interfaceOn(cfg, director, "external"),
        internalCidr: cfg.networks.internal.cidr,
        sshPort: cfg.frontDoor.sshPort,
        statsPort: cfg.frontDoor.statsPort,
    });
}
