import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { NodePlan } from "../plan";
import { nftablesConf } from "./configs";

const SYSCTL = "/etc/sysctl.d/60-thesis-cluster-nat.conf";

/**
 * Forwarding and MASQUERADE on both directors (thesis section 4.3, with
 * nftables instead of rc.local iptables), and the directors' host firewall on
 * the external side (docs/security.md). The internal nodes' gateway is the
 * internal VIP, so whichever director holds it routes them out.
 */
export class NatGateway extends ServiceComponent {
    public readonly services: Record<string, ManagedService> = {};
    /** The service on a director, once `after` is done: the front door rolls the directors one at a time. */
    public readonly on: (director: NodePlan, after: pulumi.Resource[]) => ManagedService;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:NatGateway", name, opts);
        const { plan, machines } = args;
        this.on = this.rolling("nat", machines, this.services, (d) => ({
            files: [
                { path: SYSCTL, content: "net.ipv4.ip_forward = 1\n" },
                { path: "/etc/nftables.conf", content: nftablesConf(plan, d), mode: "755", validate: "nft -c -f {}" },
            ],
            after: `sysctl -q -p ${SYSCTL}`,
            unit: "nftables",
            // `nft -f` replaces both tables in one transaction; a restart
            // would flush every rule first and leave the host open meanwhile.
            onChange: "reload",
            probes: [
                { script: "echo ip_forward=$(sysctl -n net.ipv4.ip_forward)", expect: "ip_forward=1" },
                { script: "nft list table ip thesis_nat >/dev/null && echo nat-table=present", expect: "nat-table=present" },
                {
                    script: `nft list chain inet thesis_filter input >/dev/null && nft list chain inet thesis_filter forward >/dev/null && echo filter-table=present`,
                    expect: "filter-table=present",
                },
            ],
        }));
        this.registerOutputs({});
    }
}
