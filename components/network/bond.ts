/**
 * bond0 of thesis section 2.4 on the nodes whose config has `bond` (the nas):
 * 802.3ad over its internal NICs, through systemd-networkd as on a VM. Where
 * the kernel has no bonding driver (this project's local stack), the node
 * keeps its plain eth0 configuration and the outputs say why: nothing fails.
 */
import * as pulumi from "@pulumi/pulumi";
import { ServiceArgs } from "../machines";
import { ClusterPlan, NodePlan } from "../plan";
import { PUT_FUNCTION, putLine } from "../converge";
import { Command } from "../remote";
import { render } from "../render";
import { q } from "../shell";

const DIR = "/etc/systemd/network";

/** The NICs the bond is made of: the node's internal ones. */
const slavesOf = (node: NodePlan) => node.nics.filter((n) => n.network === "internal");

export function bondFiles(plan: ClusterPlan, node: NodePlan): { path: string; content: string }[] {
    const bond = node.spec.bond!;
    const nics = slavesOf(node);
    const view = {
        mode: bond.mode,
        miimon: bond.miimon,
        lacpRate: bond.lacpRate,
        mtu: bond.mtu,
        address: nics[0].address,
        gateway: nics[0].gateway ?? plan.networks.internal.vip,
        slaves: nics.map((n) => n.name),
    };
    return [
        { path: `${DIR}/05-bond0.netdev`, content: render("bond/bond0.netdev.mustache", view) },
        { path: `${DIR}/05-bond0.network`, content: render("bond/bond0.network.mustache", view) },
        { path: `${DIR}/05-bond-slaves.network`, content: render("bond/bond-slaves.network.mustache", view) },
    ];
}

export function bondScript(plan: ClusterPlan, node: NodePlan): string {
    const files = bondFiles(plan, node);
    const slaves = slavesOf(node).map((n) => n.name);
    const lines = [
        "set -euo pipefail",
        // The driver is there when a bond can be made (and at once removed).
        "if ip link add tcbondprobe type bond 2>/dev/null; then ip link del tcbondprobe; else",
        `  rm -f ${files.map((f) => q(f.path)).join(" ")}`,
        `  echo "bond0: not possible here, this kernel has no bonding driver; ${slaves[0]} carries ${node.address} alone"`,
        "  exit 0",
        "fi",
        "changed=0",
    ];
    // The common install step; what it says is left out of the bond's report.
    lines.push(...PUT_FUNCTION, ...files.map((f) => `${putLine(f)} >/dev/null`));
    lines.push(
        `if [ $changed = 1 ]; then networkctl reload; networkctl reconfigure ${slaves.join(" ")} || true; fi`,
        `for _ in $(seq 50); do [ -r /proc/net/bonding/bond0 ] && break; sleep 0.2; done`,
        `echo "bond0: $(sed -n 's/^Bonding Mode: //p' /proc/net/bonding/bond0) over $(sed -n 's/^Slave Interface: //p' /proc/net/bonding/bond0 | paste -sd' ')"`,
    );
    return lines.join("\n") + "\n";
}

export class NicBond extends pulumi.ComponentResource {
    /** Node → what its bond0 is, or why there is none. */
    public readonly status: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:NicBond", name, {}, opts);
        const { plan, machines } = args;
        for (const node of plan.nodes.filter((n) => n.spec.bond)) {
            const c = new Command(
                `bond-${node.name}`,
                {
                    connection: machines[node.name].connection,
                    create: bondScript(plan, node),
                    // The reference is what the node reported last: the bond and its links, or no driver.
                    check: "if [ -r /proc/net/bonding/bond0 ]; then echo \"$(sed -n 's/^Bonding Mode: //p' /proc/net/bonding/bond0); $(grep -A1 '^Slave Interface' /proc/net/bonding/bond0 | paste -sd' ')\"; elif ip link add tcbondprobe type bond 2>/dev/null; then ip link del tcbondprobe; echo 'bond0 missing'; else echo 'no bonding driver'; fi",
                },
                { parent: this, dependsOn: [machines[node.name].ready] },
            );
            this.status[node.name] = c.stdout.apply((s) => (s ?? "").trim());
        }
        this.registerOutputs({});
    }
}
