/**
 * Resources of the `local` backend (provider `cluster`, module `nspawn`): the
 * base image, the lab bridges and the systemd-nspawn machines on this host.
 * See docs/local-backend.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { providerOpts } from "../../provider";

export interface BaseImageArgs {
    suite: pulumi.Input<string>;
    packages: pulumi.Input<pulumi.Input<string>[]>;
    /** The build script's text; with the package list it keys the cache. */
    script: pulumi.Input<string>;
    mirror?: pulumi.Input<string>;
    cacheDir?: pulumi.Input<string>;
}

export class BaseImage extends pulumi.CustomResource {
    declare public readonly key: pulumi.Output<string>;
    /** The root filesystem machines boot from (their overlays' lower layer). */
    declare public readonly path: pulumi.Output<string>;

    constructor(name: string, args: BaseImageArgs, opts?: pulumi.CustomResourceOptions) {
        super("cluster:nspawn:BaseImage", name, { ...args, key: undefined, path: undefined }, providerOpts(opts));
    }
}

export interface NetworkArgs {
    bridge: pulumi.Input<string>;
    cidr: pulumi.Input<string>;
    hostAddress?: pulumi.Input<string>;
}

export class Network extends pulumi.CustomResource {
    declare public readonly bridge: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.CustomResourceOptions) {
        super("cluster:nspawn:Network", name, args, providerOpts(opts));
    }
}

export interface NicArgs {
    name: string;
    bridge: pulumi.Input<string>;
    /** Address with prefix length; none leaves the NIC unconfigured. */
    address?: string;
    gateway?: string;
    mac?: string;
}

export interface MachineArgs {
    name: string;
    namespace: string;
    image: pulumi.Input<string>;
    stateDir: string;
    nics: NicArgs[];
    disks?: { sizeMb: number }[];
    /** Files written into the machine's root before it boots (absolute paths in the guest, under /etc). */
    guestFiles?: { path: string; content: string }[];
    authorizedKeys: pulumi.Input<pulumi.Input<string>[]>;
    systemCallFilter?: string[];
}

export class Machine extends pulumi.CustomResource {
    /** The machine's SSH host key, pinned by every connection to it. */
    declare public readonly hostKey: pulumi.Output<string>;
    /** Extra disks as the machine sees them: /dev/sdb, /dev/sdc, … */
    declare public readonly devices: pulumi.Output<string[]>;
    /** The machine runs: its systemd-nspawn, or its guest without it. */
    declare public readonly running: pulumi.Output<boolean>;
    /** Its systemd-nspawn process is alive (false while a guest runs on without it). */
    declare public readonly supervised: pulumi.Output<boolean>;

    constructor(name: string, args: MachineArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "cluster:nspawn:Machine",
            name,
            { ...args, hostKey: undefined, devices: undefined, running: undefined, supervised: undefined },
            providerOpts(opts),
        );
    }
}
