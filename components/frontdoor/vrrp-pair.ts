import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { keepalivedConf } from "./configs";

/**
 * keepalived on both directors (thesis section 4.5.1): an internal and an
 * external VRRP instance in one sync group, following HAProxy; the first
 * director is MASTER. VRRP version 3 with sub-second adverts.
 */
export class VrrpPair extends ServiceComponent {
    public readonly services: Record<string, ManagedService>;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:VrrpPair", name, opts);
        const { plan, machines } = args;
        // keepalived tracks HAProxy: the front door starts it once HAProxy runs (opts.dependsOn).
        this.services = this.onEach("keepalived", plan.directors, machines, (d) => ({
            files: [{ path: "/etc/keepalived/keepalived.conf", content: keepalivedConf(plan, d), validate: "keepalived -t -f {}" }],
            unit: "keepalived",
        }));
        this.registerOutputs({});
    }
}
