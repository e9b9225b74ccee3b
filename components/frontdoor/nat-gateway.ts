import * as pulumi from "@pulumi/pulumi";
import { ManagedService } from "../converge";
import { ServiceArgs } from "../machines";
import { nftablesConf } from "./configs";

const SYSCTL = "/etc/sysctl.d/60-thesis-cluster-nat.conf";

/**
 * Forwarding and MASQUERADE on both directors (thesis section 4.3, with
 * nftables instead of rc.local iptables). The internal nodes' gateway is the
 * internal VIP, so whichever director holds it routes them out.
 */
export class NatGateway extends pulumi.ComponentResource {
    public readonly services: ManagedService[] = [];

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:NatGateway", name, {}, opts);
        const { cfg, machines } = args;
        for (const d of cfg.roles.directors) {
            this.services.push(
                new ManagedService(
                    `nat-${d}`,
                    {
                        machine: machines[d],
                        files: [
                            { path: SYSCTL, content: "net.ipv4.ip_forward = 1\n" },
                            { path: "/etc/nftables.conf", content: nftablesConf(cfg, d), mode: "755", validate: "nft -c -f {}" },
                        ],
                        after: `sysctl -q -p ${SYSCTL}`,
                        unit: "nftables",
                        onChange: "restart",
                        probes: [
                            { script: "echo ip_forward=$(sysctl -n net.ipv4.ip_forward)", expect: "ip_forward=1" },
                            { script: "nft list table ip thesis_nat >/dev/null && echo nat-table=present", expect: "nat-table=present" },
                        ],
                    },
                    { parent: this },
                ),
            );
        }
        this.registerOutputs({});
    }
}
