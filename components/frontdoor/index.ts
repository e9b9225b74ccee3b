import * as pulumi from "@pulumi/pulumi";
import { ServiceArgs } from "../machines";
import { DnsDhcp } from "./dns-dhcp";
import { HaproxyFarm } from "./haproxy-farm";
import { NatGateway } from "./nat-gateway";
import { VrrpPair } from "./vrrp-pair";

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

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:FrontDoor", name, {}, opts);
        const { plan } = args;
        this.dns = new DnsDhcp("dns", args, { parent: this });
        this.haproxy = new HaproxyFarm("haproxy", args, { parent: this });
        // keepalived follows HAProxy: install it once HAProxy runs.
        this.vrrp = new VrrpPair("vrrp", args, { parent: this, dependsOn: [this.haproxy] });
        this.nat = new NatGateway("nat", args, { parent: this });
        this.names = [this.dns, this.vrrp];
        const vip = plan.networks.external.vip;
        this.sshEndpoint = { host: vip, port: plan.frontDoor.sshPort };
        this.statsUrl = `http://${vip}:${plan.frontDoor.statsPort}/haproxy?stats`;
        this.registerOutputs({ sshEndpoint: this.sshEndpoint, statsUrl: this.statsUrl });
    }
}
