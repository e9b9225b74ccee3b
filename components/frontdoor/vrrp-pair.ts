import * as pulumi from "@pulumi/pulumi";
import { ManagedService } from "../converge";
import { ServiceArgs } from "../machines";
import { keepalivedConf } from "./configs";

/**
 * keepalived on both directors (thesis section 4.5.1): an internal and an
 * external VRRP instance in one sync group, following HAProxy; the first
 * director is MASTER. VRRP version 3 with sub-second adverts.
 */
export class VrrpPair extends pulumi.ComponentResource {
    public readonly services: ManagedService[] = [];

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:VrrpPair", name, {}, opts);
        const { plan, machines } = args;
        for (const d of plan.directors) {
            this.services.push(
                new ManagedService(
                    `keepalived-${d.name}`,
                    {
                        machine: machines[d.name],
                        files: [{ path: "/etc/keepalived/keepalived.conf", content: keepalivedConf(plan, d), validate: "keepalived -t -f {}" }],
                        unit: "keepalived",
                    },
                    // keepalived tracks HAProxy: start it once HAProxy runs.
                    { parent: this, dependsOn: opts?.dependsOn },
                ),
            );
        }
        this.registerOutputs({});
    }
}
