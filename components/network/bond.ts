/**
 * bond0 of thesis section 2.4 on the nodes whose config has `bond` (the nas):
 * 802.3ad over its internal NICs, through systemd-networkd as on a VM. Where
 * the kernel has no bonding driver (this project's local stack), the node
 * keeps its plain eth0 configuration and the outputs say why: nothing fails.
 */
import * as pulumi from "@pulumi/pulumi";
import { ServiceArgs } from "../machines";
import { ClusterPlan, NodePlan } from "../plan";
import { putLine, ServiceComponent, sha256 } from "../converge";
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

/** bond0 as the kernel shows it in sysfs: mode and enslaved NICs, sorted. */
const BOND_STATE = `echo "bond0 $(cut -d' ' -f1 /sys/class/net/bond0/bonding/mode) over $(xargs -n1 </sys/class/net/bond0/bonding/slaves | sort | paste -sd' ')"`;

/** Whether the kernel can make a bond (a bond made and at once removed). */
const HAS_DRIVER = "{ [ -d /sys/class/net/bond0/bonding ] || { ip link add tcbondprobe type bond 2>/dev/null && ip link del tcbondprobe; }; }";

/**
 * The bond's step: its networkd files installed and bond0 brought up where the
 * kernel has a bonding driver. Without one, a VM (`strict`: Debian's own
 * kernel) is broken and the step fails; elsewhere the node keeps eth0 alone
 * and says so.
 */
export function bondScript(plan: ClusterPlan, node: NodePlan, strict: boolean): string {
    const files = bondFiles(plan, node);
    const slaves = slavesOf(node).map((n) => n.name);
    return [
        `if ! ${HAS_DRIVER}; then`,
        strict
            ? `  echo "bond0: this kernel has no bonding driver (this backend's guests run Debian's kernel, which has one)" >&2; exit 1`
            : `  rm -f ${files.map((f) => q(f.path)).join(" ")}\n  echo "bond0: not possible here, this kernel has no bonding driver; ${slaves[0]} carries ${node.address} alone"\n  exit 0`,
        "fi",
        // The common install step; what it says is left out of the bond's report.
        ...files.map((f) => `${putLine(f)} >/dev/null`),
        `if [ $changed = 1 ]; then networkctl reload; networkctl reconfigure ${slaves.join(" ")} || true; fi`,
        `for _ in $(seq 50); do [ -r /sys/class/net/bond0/bonding/slaves ] && break; sleep 0.2; done`,
        BOND_STATE,
    ].join("\n");
}

/** The bond's check: one line, "bond0 as planned" when bond0 and its files are as the step leaves them for the kernel. */
export function bondProbe(plan: ClusterPlan, node: NodePlan, strict: boolean): { script: string; expect: string } {
    const files = bondFiles(plan, node);
    const wanted = `bond0 ${node.spec.bond!.mode} over ${slavesOf(node).map((n) => n.name).sort().join(" ")}`;
    const sums = files.map((f) => `${sha256(f.content)}  ${f.path}`).join("\n");
    return {
        script: [
            `if ${HAS_DRIVER}; then`,
            `  state=$(${BOND_STATE} 2>/dev/null)`,
            `  if [ "$state" != ${q(wanted)} ]; then echo "$state"; elif ! printf '%s\\n' ${q(sums)} | sha256sum --check --status 2>/dev/null; then echo "bond0 files differ"; else echo "bond0 as planned"; fi`,
            strict ? `else echo "bond0: no bonding driver"; fi` : `elif ls -d ${files.map((f) => q(f.path)).join(" ")} 2>/dev/null | grep -q .; then echo "bond0 files present without a driver"; else echo "bond0 as planned"; fi`,
        ].join("\n"),
        expect: "bond0 as planned",
    };
}

export class NicBond extends ServiceComponent {
    /** Node → what its bond0 is, or why there is none. */
    public readonly status: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:NicBond", name, opts);
        const { plan, machines } = args;
        const steps = this.onEach("bond", plan.nodes.filter((n) => n.spec.bond), machines, (node) => {
            const strict = machines[node.name].capabilities.kernel === "own";
            return { files: [], after: bondScript(plan, node, strict), probes: [bondProbe(plan, node, strict)] };
        });
        for (const [node, step] of Object.entries(steps)) this.status[node] = step.log.apply((s) => (s ?? "").trim());
        this.registerOutputs({});
    }
}
