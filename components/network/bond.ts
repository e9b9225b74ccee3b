/**
 * bond0 of thesis section 2.4 on the nodes whose config has `bond` (the nas):
 * 802.3ad over its internal NICs, through systemd-networkd as on a VM. Where
 * the kernel has no bonding driver (this project's local stack), the node
 * keeps its plain eth0 configuration and the outputs say why: nothing fails.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, NodeSpec } from "../config";
import { ServiceArgs } from "../machines";
import { nicPlan } from "../plan";
import { PUT_FUNCTION, putLine } from "../converge";
import { Command } from "../remote";
import { render } from "../render";
import { q } from "../shell";

const DIR = "/etc/systemd/network";

export function bondFiles(cfg: ClusterConfig, node: NodeSpec): { path: string; content: string }[] {
    const bond = node.bond!;
    const nics = nicPlan(cfg, node).filter((n) => n.network === "internal");
    const view = {
        mode: bond.mode,
        miimon: bond.miimon,
        lacpRate: bond.lacpRate,
        mtu: bond.mtu,
        address: nics[0].address,
        gateway: nics[0].gateway ?? cfg.networks.internal.vip,
        slaves: nics.map((n) => n.name),
    };
    return [
        { path: `${DIR}/05-bond0.netdev`, content: render("bond/bond0.netdev.mustache", view) },
        { path: `${DIR}/05-bond0.network`, content: render("bond/bond0.network.mustache", view) },
        { path: `${DIR}/05-bond-slaves.network`, content: render("bond/bond-slaves.network.mustache", view) },
    ];
}

export function bondScript(cfg: ClusterConfig, node: NodeSpec): string {
    const files = bondFiles(cfg, node);
    const lines = [
        "set -euo pipefail",
        // The driver is there when a bond can be made (and at once removed).
        "if ip link add tcbondprobe type bond 2>/dev/null; then ip link del tcbondprobe; else",
        `  rm -f ${files.map((f) => q(f.path)).join(" ")}`,
        `  echo "bond0: not possible here, this kernel has no bonding driver; ${nicPlan(cfg, node)[0].name} carries ${node.addresses.internal} alone"`,
        "  exit 0",
        "fi",
        "changed=0",
    ];
    // The common install step; what it says is left out of the bond's report.
    lines.push(...PUT_FUNCTION, ...files.map((f) => `${putLine(f)} >/dev/null`));
    lines.push(
        "if [ $changed = 1 ]; then networkctl reload; networkctl reconfigure " + nicPlan(cfg, node).filter((n) => n.network === "internal").map((n) => n.name).join(" ") + " || true; fi",
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
        const { cfg, machines } = args;
        for (const node of cfg.nodes.filter((n) => n.bond)) {
            const c = new Command(
                `bond-${node.name}`,
                {
                    connection: machines[node.name].connection,
                    create: bondScript(cfg, node),
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
