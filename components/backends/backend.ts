/**
 * What every machine backend gives the machine layer (components/machines.ts):
 * per node of the plan, a running Debian guest with its host key and extra
 * disks, and what it can offer the services beyond that.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, NetworkName } from "../config";
import { ClusterPlan, MachineNeeds, NodePlan } from "../plan";
import type { MachineSource } from "./existing/source";

/** What a backend's guests have beyond a plain Debian system. */
export interface Capabilities {
    /**
     * Whose kernel the guests run. "own": a VM's Debian kernel, with an NFS
     * client and a bonding driver; a node without them is broken, and the
     * steps that use them fail. "host": containers share this host's kernel,
     * and "unknown": hosts the project did not make; on those the machine is
     * asked, and a feature its kernel lacks is reported instead (bond0 and the
     * /nfs mount; the outputs say why).
     */
    kernel: "own" | "host" | "unknown";
    /**
     * Whether the backend filters system calls and can allow more per machine
     * (containers); a VM allows all. Services' needs (MachineNeeds) are granted
     * where it can; elsewhere the host must allow them.
     */
    grantsSystemCalls: boolean;
}

/**
 * How the machine layer reaches a machine the backend names itself (hosts it
 * did not make): from the config, or known once another stack's outputs are
 * read (machinesFrom).
 */
export interface Login {
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    user: pulumi.Input<string>;
    hostKey: pulumi.Input<string>;
    /** The node whose login is the jump host. */
    proxy?: pulumi.Input<string | undefined>;
}

/** One node's machine as a backend made it. */
export interface BuiltMachine {
    /** The machine's SSH host key (authorized_keys format), pinned by every connection. */
    hostKey: pulumi.Input<string>;
    /** Extra disks as the guest sees them. */
    devices: pulumi.Input<string[]>;
    /** The resource the machine is, if any: the node's readiness gate waits for it. */
    backing?: pulumi.Resource;
    /**
     * Where to log in. Unset: root at the node's external address, or, for an
     * internal-only node, at its internal address through a director.
     */
    login?: Login;
}

/** What a backend is handed. */
export interface BackendContext {
    cfg: ClusterConfig;
    plan: ClusterPlan;
    stack: string;
    /** The stack's admin key, authorized for root on every machine the backend makes. */
    publicKey: pulumi.Input<string>;
    /** Parent of every resource the backend makes. */
    parent: pulumi.Resource;
    /** `existing` backend: the stack whose outputs describe the hosts (machinesFrom). */
    source?: MachineSource;
}

export interface MachineBackend {
    capabilities: Capabilities;
    /** Per network, what carries it (a bridge, a VirtualBox network), for the outputs. */
    networks: Partial<Record<NetworkName, { bridge?: string; virtualbox?: pulumi.Input<string> }>>;
    /** The node's machine, given what its services need. Called directors first. */
    machine(node: NodePlan, needs: MachineNeeds): BuiltMachine;
}

/** Host-side names of a stack's objects: bridges, namespaces, state directory. */
export function hostNames(stack: string) {
    const safe = stack.toLowerCase().replace(/[^a-z0-9-]/g, "-");
    // Interface names have 15 characters at most: long stack names are hashed.
    const short = /^[a-z0-9]{1,8}$/.test(safe) ? safe : crypto.createHash("sha256").update(stack).digest("hex").slice(0, 8);
    return {
        bridge: (net: NetworkName) => `tc-${short}-${net === "internal" ? "in" : "ex"}`,
        namespace: (node: string) => `tc-${safe}-${node}`,
        stateDir: `/var/lib/thesis-cluster/${safe}`,
        safe,
    };
}
