/**
 * What a VirtualBox VM boots with: its cloud-init seed (host name, networkd
 * files, its SSH host key, the stack's key) and whether it boots from the
 * network.
 */
import { networkdUnit } from "../../network/networkd";
import { ClusterPlan, isCompute, NodePlan } from "../../plan";
import { render } from "../../render";

/** Compute nodes boot from the network (the directors' dnsmasq) when the PXE switch is on. */
export function bootsFromNetwork(plan: ClusterPlan, node: NodePlan): boolean {
    return plan.frontDoor.pxe && isCompute(plan, node);
}

const indent = (text: string, spaces: number) =>
    text
        .trimEnd()
        .split("\n")
        .map((l) => (l === "" ? "" : " ".repeat(spaces) + l))
        .join("\n");

const seedView = (plan: ClusterPlan, stack: string, node: NodePlan) => ({ name: node.name, stack, domain: plan.domain });

/** The VM's cloud-init user-data: host name, networkd files, its SSH host key, the stack's key. */
export function userData(
    plan: ClusterPlan,
    stack: string,
    node: NodePlan,
    keys: { hostPrivateKey: string; hostPublicKey: string; authorizedKey: string },
): string {
    return render("cloud-init/user-data.mustache", {
        ...seedView(plan, stack, node),
        hostPrivateKey: indent(keys.hostPrivateKey, 4),
        hostPublicKey: keys.hostPublicKey,
        authorizedKey: keys.authorizedKey.trim(),
        nics: node.nics.map((n) => ({ name: n.name, unit: indent(networkdUnit(n), 6) })),
    });
}

/** The seed's other two files, which hold no key: meta-data and network-config. */
export function seedFiles(plan: ClusterPlan, stack: string, node: NodePlan): { metaData: string; networkConfig: string } {
    const view = seedView(plan, stack, node);
    return { metaData: render("cloud-init/meta-data.mustache", view), networkConfig: render("cloud-init/network-config.mustache", view) };
}
