import * as pulumi from "@pulumi/pulumi";
import { ManagedService } from "../converge";
import { ServiceArgs } from "../machines";
import { dnsmasqConf, hostsFile, resolvConf, TFTP_ROOT } from "./configs";

/**
 * dnsmasq on both directors: names of every node and VIP, static DHCP leases
 * for the machines' MACs, network boot behind `frontDoor.pxe`; and every
 * node's resolv.conf pointing at it, with its own name in /etc/hosts
 * (thesis sections 3.1 and 4.3.3).
 */
export class DnsDhcp extends pulumi.ComponentResource {
    public readonly services: ManagedService[] = [];

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:DnsDhcp", name, {}, opts);
        const { plan, machines } = args;
        for (const d of plan.directors) {
            this.services.push(
                new ManagedService(
                    `dnsmasq-${d.name}`,
                    {
                        machine: machines[d.name],
                        files: [{ path: "/etc/dnsmasq.d/thesis-cluster.conf", content: dnsmasqConf(plan, d), validate: "dnsmasq --test -C {}" }],
                        after: plan.frontDoor.pxe ? `mkdir -p ${TFTP_ROOT}` : undefined,
                        unit: "dnsmasq",
                        // dnsmasq re-reads only its hosts files on SIGHUP, not its config.
                        onChange: "restart",
                    },
                    { parent: this },
                ),
            );
        }
        for (const node of plan.nodes) {
            this.services.push(
                new ManagedService(
                    `names-${node.name}`,
                    {
                        machine: machines[node.name],
                        files: [
                            { path: "/etc/resolv.conf", content: resolvConf(plan, node) },
                            { path: "/etc/hosts", content: hostsFile(plan, node) },
                        ],
                        keepOnDelete: ["/etc/resolv.conf", "/etc/hosts"],
                    },
                    { parent: this },
                ),
            );
        }
        this.registerOutputs({});
    }
}
