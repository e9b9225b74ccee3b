/**
 * The front door's config files, rendered from the cluster plan by pure
 * functions (no resources): dnsmasq, resolv.conf, keepalived, HAProxy and the
 * NAT table. Golden renderings are in tests/golden/thesis.
 */
import * as ipaddr from "ipaddr.js";
import { NetworkName } from "../config";
import { ClusterPlan, isDirector, nicOn, NodePlan } from "../plan";
import { render } from "../render";

const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);

/** Every name dnsmasq answers: nodes (internal address), directors' `-ext` names, the VIPs. */
export function clusterHosts(plan: ClusterPlan): { name: string; address: string }[] {
    const hosts = plan.nodes.map((n) => ({ name: n.name, address: n.address }));
    for (const n of plan.nodes) {
        if (n.external) hosts.push({ name: `${n.name}-ext`, address: n.external });
    }
    hosts.push({ name: "gateway", address: plan.networks.internal.vip });
    hosts.push({ name: "frontdoor", address: plan.networks.external.vip });
    return hosts.sort(byName);
}

export function dnsmasqConf(plan: ClusterPlan, director: NodePlan): string {
    const net = plan.networks.internal;
    const fd = plan.frontDoor;
    const leases = plan.nodes
        .filter((n) => !isDirector(plan, n))
        .map((n) => ({ name: n.name, address: n.address, mac: nicOn(n, "internal").mac }))
        .sort(byName);
    return render("dnsmasq/thesis-cluster.conf.mustache", {
        name: director.name,
        interface: nicOn(director, "internal").name,
        domain: fd.domain,
        upstream: fd.dnsUpstream,
        hosts: clusterHosts(plan),
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
export function resolvConf(plan: ClusterPlan, node: NodePlan): string {
    const nameservers = isDirector(plan, node) ? ["127.0.0.1"] : [plan.networks.internal.vip, ...plan.directors.map((d) => d.address)];
    return render("resolv/resolv.conf.mustache", { domain: plan.domain, nameservers });
}

/** The node's own name at its internal address (not Debian's 127.0.1.1, which services would advertise). */
export function hostsFile(plan: ClusterPlan, node: NodePlan): string {
    return render("resolv/hosts.mustache", { name: node.name, address: node.address, domain: plan.domain });
}

export function keepalivedConf(plan: ClusterPlan, director: NodePlan): string {
    const v = plan.frontDoor.vrrp;
    const master = plan.directors[0] === director;
    const instance = (id: string, network: NetworkName, routerId: number) => ({
        id,
        state: master ? "MASTER" : "BACKUP",
        interface: nicOn(director, network).name,
        routerId,
        priority: v.priorities[master ? 0 : 1],
        advertInterval: v.advertInterval,
        vip: plan.networks[network].vip,
        prefixLength: plan.networks[network].prefix[1],
    });
    return render("keepalived/keepalived.conf.mustache", {
        name: director.name,
        instances: [instance("VI_1", "internal", v.routerIds.internal), instance("VE_1", "external", v.routerIds.external)],
    });
}

/** HAProxy's own Prometheus endpoint, on each director's internal address. */
export const HAPROXY_METRICS_PORT = 8405;
/** Where the monitoring stack runs Prometheus: the nas, this port, its internal address. */
export const PROMETHEUS_PORT = 9090;

export function haproxyCfg(plan: ClusterPlan, director: NodePlan, statsPassword: string): string {
    const fd = plan.frontDoor;
    const ms = fd.checkIntervalMs;
    const duration = (t: number) => (t % 1000 === 0 ? `${t / 1000}s` : `${t}ms`);
    return render("haproxy/haproxy.cfg.mustache", {
        name: director.name,
        vip: plan.networks.external.vip,
        ownAddress: director.external,
        sshPort: fd.sshPort,
        statsPort: fd.statsPort,
        monitoringPort: fd.monitoringPort,
        internalAddress: director.address,
        metricsPort: HAPROXY_METRICS_PORT,
        prometheus: `${plan.nas.address}:${PROMETHEUS_PORT}`,
        checkInterval: duration(ms),
        fastInterval: duration(Math.round(ms / 2)),
        servers: plan.compute.map((c) => ({ name: c.name, address: c.address })),
        statsPassword,
    });
}

export function nftablesConf(plan: ClusterPlan, director: NodePlan): string {
    return render("nat/nftables.conf.mustache", {
        name: director.name,
        outInterface: nicOn(director, "external").name,
        internalCidr: plan.networks.internal.cidr,
        sshPort: plan.frontDoor.sshPort,
        statsPort: plan.frontDoor.statsPort,
        monitoringPort: plan.frontDoor.monitoringPort,
    });
}
