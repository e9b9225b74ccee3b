import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { NodePlan } from "../plan";
import { dnsmasqConf, hostsFile, resolvConf, TFTP_ROOT } from "./configs";

/**
 * dnsmasq on both directors: names of every node and VIP, static DHCP leases
 * for the machines' MACs, network boot behind `frontDoor.pxe`; and every
 * node's resolv.conf pointing at it, with its own name in /etc/hosts
 * (thesis sections 3.1 and 4.3.3).
 */
export class DnsDhcp extends ServiceComponent {
    public readonly dnsmasq: Record<string, ManagedService> = {};
    public readonly names: Record<string, ManagedService>;

    /** dnsmasq on a director, once `after` is done: the front door rolls the directors one at a time. */
    public readonly dnsmasqOn: (director: NodePlan, after: pulumi.Resource[]) => ManagedService;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:DnsDhcp", name, opts);
        const { plan, machines } = args;
        this.dnsmasqOn = this.rolling("dnsmasq", machines, this.dnsmasq, (d) => ({
            files: [{ path: "/etc/dnsmasq.d/thesis-cluster.conf", content: dnsmasqConf(plan, d), validate: "dnsmasq --test -C {}" }],
            after: plan.frontDoor.pxe ? `mkdir -p ${TFTP_ROOT}` : undefined,
            unit: "dnsmasq",
            // dnsmasq re-reads only its hosts files on SIGHUP, not its config.
            onChange: "restart",
        }));
        this.names = this.onEach("names", plan.nodes, machines, (node) => ({
            files: [
                { path: "/etc/resolv.conf", content: resolvConf(plan, node) },
                { path: "/etc/hosts", content: hostsFile(plan, node) },
            ],
            keepOnDelete: ["/etc/resolv.conf", "/etc/hosts"],
        }));
        this.registerOutputs({});
    }
}
