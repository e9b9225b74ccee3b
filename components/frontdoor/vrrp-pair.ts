import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { NodePlan } from "../plan";
import { keepalivedConf } from "./configs";

/**
 * Prints "vrrp group whole" once this director holds both VIPs or neither (up
 * to 10 s after a start or reload): the sync group's instances agree, whichever
 * director is MASTER.
 */
export function wholeGroupProbe(internalVip: string, externalVip: string): string {
    const held = `ip -o -4 addr show | awk '{print $4}' | grep -cE '^(${internalVip.replace(/\./g, "\\.")}|${externalVip.replace(/\./g, "\\.")})/'`;
    return `for _ in $(seq 100); do n=$(${held}); [ "$n" = 0 ] || [ "$n" = 2 ] && break; sleep 0.1; done; if [ "$n" = 0 ] || [ "$n" = 2 ]; then echo "vrrp group whole"; else echo "vrrp group split: $n of 2 VIPs here"; fi`;
}

/**
 * keepalived on both directors (thesis section 4.5.1): an internal and an
 * external VRRP instance in one sync group, following HAProxy; the first
 * director is MASTER. VRRP version 3 with sub-second adverts.
 */
export class VrrpPair extends ServiceComponent {
    public readonly services: Record<string, ManagedService> = {};
    /** The service on a director, once `after` is done: the front door rolls the directors one at a time. */
    public readonly on: (director: NodePlan, after: pulumi.Resource[]) => ManagedService;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:VrrpPair", name, opts);
        const { plan, machines } = args;
        // keepalived tracks HAProxy: the front door starts it once HAProxy runs (opts.dependsOn).
        this.on = this.rolling("keepalived", machines, this.services, (d) => ({
            files: [{ path: "/etc/keepalived/keepalived.conf", content: keepalivedConf(plan, d), validate: "keepalived -t -f {}" }],
            unit: "keepalived",
            probes: [{ script: wholeGroupProbe(plan.networks.internal.vip, plan.networks.external.vip), expect: "vrrp group whole" }],
        }));
        this.registerOutputs({});
    }
}
