import * as pulumi from "@pulumi/pulumi";
import { providerOpts } from "./provider";

/** One SSH endpoint; host keys are pinned, nothing else is accepted. */
export interface Hop {
    host: pulumi.Input<string>;
    port?: pulumi.Input<number>;
    user?: pulumi.Input<string>;
    privateKey: pulumi.Input<string>;
    hostKeys: pulumi.Input<pulumi.Input<string>[]>;
}

/** How to reach a machine: directly, or through a jump host (`proxy`, then each fallback in turn). */
export interface Connection extends Hop {
    proxy?: pulumi.Input<Hop>;
    proxyFallbacks?: pulumi.Input<pulumi.Input<Hop>[]>;
}

export interface CommandArgs {
    connection: pulumi.Input<Connection>;
    /** Script run when the resource is created (bash). */
    create: pulumi.Input<string>;
    /** Script run when an input or trigger changes, or drift is found. Default: `create`. */
    update?: pulumi.Input<string>;
    /** Script run when the resource is deleted. */
    delete?: pulumi.Input<string>;
    /**
     * Script printing the machine's current state (file hashes, unit states).
     * Run after each create/update and again on every preview and up: a
     * different answer is drift, shown as a change and repaired by `update`.
     */
    check?: pulumi.Input<string>;
    /**
     * What `check` must print once the scripts did their work. An update that
     * leaves anything else fails; any other answer later is drift. Without it,
     * the answer recorded after the last run is the reference.
     */
    expect?: pulumi.Input<string>;
    /** Values that re-run `update` when they change. */
    triggers?: pulumi.Input<pulumi.Input<string>[]>;
    /** Bound on each script and on the wait for the machine. Default 600. */
    timeoutSeconds?: pulumi.Input<number>;
    /**
     * Files of the machine running Pulumi, copied to the machine before each
     * create or update (for payloads too large for a script). Put their
     * content hashes in `triggers`.
     */
    uploads?: pulumi.Input<pulumi.Input<Upload>[]>;
    /**
     * A group of which at most `batch` updates run at once in a deployment: a
     * change to many nodes reaches a batch at a time, each done and its check
     * read back before the next starts. Creates are not held back; changing
     * this alone re-runs nothing.
     */
    rollout?: pulumi.Input<Rollout>;
}

export interface Rollout {
    group: pulumi.Input<string>;
    batch: pulumi.Input<number>;
}

export interface Upload {
    /** Local path. */
    source: pulumi.Input<string>;
    /** Path on the machine. */
    path: pulumi.Input<string>;
}

/** Scripts run on a machine over SSH (provider `cluster`, Go). */
export class Command extends pulumi.CustomResource {
    declare public readonly stdout: pulumi.Output<string>;
    declare public readonly stderr: pulumi.Output<string>;
    declare public readonly observed: pulumi.Output<string>;

    constructor(name: string, args: CommandArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "cluster:remote:Command",
            name,
            { ...args, stdout: undefined, stderr: undefined, observed: undefined },
            providerOpts(opts),
        );
    }
}
