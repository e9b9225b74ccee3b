/**
 * Resources of the `virtualbox` backend (provider `cluster`, module `vbox`):
 * the host-only network and the VMs, driven through VBoxManage, with the
 * cloud-init seed that makes each VM reachable. See the README's VirtualBox section.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, NodeSpec } from "./config";
import { NicPlan } from "./plan";
import { providerOpts } from "./provider";
import { networkdUnit } from "./network/networkd";
import { render } from "./render";

export interface HostOnlyNetworkArgs {
    hostAddress: pulumi.Input<string>;
    netmask: pulumi.Input<string>;
}

export class HostOnlyNetwork extends pulumi.CustomResource {
    /** The name VirtualBox gave it (vboxnet0, …). */
    declare public readonly interface: pulumi.Output<string>;

    constructor(name: string, args: HostOnlyNetworkArgs, opts?: pulumi.CustomResourceOptions) {
        super("cluster:vbox:HostOnlyNetwork", name, { ...args, interface: undefined }, providerOpts(opts));
    }
}

export interface VmNic {
    kind: "intnet" | "hostonly";
    network: pulumi.Input<string>;
    mac: string;
}

export interface MachineArgs {
    name: string;
    baseFolder: string;
    baseImage: string;
    memoryMb: number;
    cpus: number;
    nics: VmNic[];
    disks?: { sizeMb: number }[];
    networkBoot?: boolean;
    userData: pulumi.Input<string>;
    metaData: string;
    networkConfig: string;
}

export class Machine extends pulumi.CustomResource {
    declare public readonly running: pulumi.Output<boolean>;
    /** Extra disks as the VM sees them: /dev/sdb, /dev/sdc, … */
    declare public readonly devices: pulumi.Output<string[]>;

    constructor(name: string, args: MachineArgs, opts?: pulumi.CustomResourceOptions) {
        super("cluster:vbox:Machine", name, { ...args, running: undefined, devices: undefined }, providerOpts(opts));
    }
}

/** Compute nodes boot from the network (the directors' dnsmasq) when the PXE switch is on. */
export function bootsFromNetwork(cfg: ClusterConfig, node: string): boolean {
    return cfg.frontDoor.pxe && cfg.roles.compute.includes(node);
}

const indent = (text: string, spaces: number) =>
    text
        .trimEnd()
        .split("\n")
        .map((l) => (l === "" ? "" : " ".repeat(spaces) + l))
        .join("\n");

const seedView = (cfg: ClusterConfig, stack: string, node: NodeSpec) => ({ name: node.name, stack, domain: cfg.frontDoor.domain });

/** The VM's cloud-init user-data: host name, networkd files, its SSH host key, the stack's key. */
export function userData(
    cfg: ClusterConfig,
    stack: string,
    node: NodeSpec,
    nics: NicPlan[],
    keys: { hostPrivateKey: string; hostPublicKey: string; authorizedKey: string },
): string {
    return render("cloud-init/user-data.mustache", {
        ...seedView(cfg, stack, node),
        hostPrivateKey: indent(keys.hostPrivateKey, 4),
        hostPublicKey: keys.hostPublicKey,
        authorizedKey: keys.authorizedKey.trim(),
        nics: nics.map((n) => ({ name: n.name, unit: indent(networkdUnit(n), 6) })),
    });
}

/** The seed's other two files, which hold no key: meta-data and network-config. */
export function seedFiles(cfg: ClusterConfig, stack: string, node: NodeSpec): { metaData: string; networkConfig: string } {
    const view = seedView(cfg, stack, node);
    return { metaData: render("cloud-init/meta-data.mustache", view), networkConfig: render("cloud-init/network-config.mustache", view) };
}
