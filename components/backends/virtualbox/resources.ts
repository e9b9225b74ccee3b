/**
 * Resources of the `virtualbox` backend (provider `cluster`, module `vbox`):
 * the host-only network and the VMs, driven through VBoxManage. See
 * docs/backends.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { providerOpts } from "../../provider";

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
