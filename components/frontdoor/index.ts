import * as pulumi from "@pulumi/pulumi";
import { ServiceArgs } from "../machines";
import { HAPROXY_METRICS_PORT, PROMETHEUS_PORT } from "./configs";
import { DnsDhcp } from "./dns-dhcp";
import { HaproxyFarm } from "./haproxy-farm";
import { NatGateway } from "./nat-gateway";
import { VrrpPair } from "./vrrp-pair";

/** The `monitoring` output: the cluster's side of a monitoring stack (monitoring/). */
export interface MonitoringHooks {
    /** Prometheus from outside, through HAProxy on the external VIP. */
    url: string;
    /** Where HAProxy forwards that port: the node (and address) Prometheus must listen on. */
    prometheus: { node: string; address: string; port: number };
    /** HAProxy's Prometheus endpoint per director (path /metrics). */
    haproxyMetrics: Record<string, string>;
}

/** The cluster's highly available front door: names, VIPs, the SSH farm and NAT. */
export class FrontDoor extends pulumi.ComponentResource {
    public readonly dns: DnsDhcp;
    public readonly haproxy: HaproxyFarm;
    public readonly vrrp: VrrpPair;
    public readonly nat: NatGateway;
    /**
     * What name lookups need: dnsmasq with every node's resolv.conf, and the
     * internal VIP those name first. Before the VIP exists every lookup waits
     * out its timeout on it before asking a director (seen: glusterd's peers
     * and hooks then took minutes for a volume).
     */
    public readonly names: pulumi.Resource[];
    /** `ssh -p PORT user@HOST` lands on a compute node, round robin. */
    public readonly sshEndpoint: { host: string; port: number };
    public readonly statsUrl: string;
    /** Where a monitoring stack puts Prometheus and what it scrapes of the front door (the `monitoring` output). */
    public readonly monitoring: MonitoringHooks;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:FrontDoor", name, {}, opts);
        const { plan } = args;
        this.dns = new DnsDhcp("dns", args, { parent: this });
        this.haproxy = new HaproxyFarm("haproxy", args, { parent: this });
        this.vrrp = new VrrpPair("vrrp", args, { parent: this });
        this.nat = new NatGateway("nat", args, { parent: this });
        // A change reaches the backup director first and the master only once the
        // backup's services are back (each step's check waits for HAProxy to serve
        // and the VRRP group to be whole): never both directors at once.
        const [master, backup] = plan.directors;
        let before: pulumi.Resource[] = [];
        for (const d of [backup, master]) {
            const proxy = this.haproxy.on(d, before);
            // keepalived follows HAProxy: installed once HAProxy runs.
            before = [this.dns.dnsmasqOn(d, before), this.nat.on(d, before), proxy, this.vrrp.on(d, [...before, proxy])];
        }
        this.names = [this.dns, this.vrrp];
        const vip = plan.networks.external.vip;
        this.sshEndpoint = { host: vip, port: plan.frontDoor.sshPort };
        this.statsUrl = `http://${vip}:${plan.frontDoor.statsPort}/haproxy?stats`;
        this.monitoring = {
            url: `http://${vip}:${plan.frontDoor.monitoringPort}/`,
            prometheus: { node: plan.nas.name, address: plan.nas.address, port: PROMETHEUS_PORT },
            haproxyMetrics: Object.fromEntries(plan.directors.map((d) => [d.name, `${d.address}:${HAPROXY_METRICS_PORT}`])),
        };
        this.registerOutputs({ sshEndpoint: this.sshEndpoint, statsUrl: this.statsUrl });
    }
}
