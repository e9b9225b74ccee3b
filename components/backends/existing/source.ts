/**
 * `thesis-cluster:machinesFrom`: the `existing` backend's hosts as another
 * stack of this project made them, read from that stack's outputs through a
 * StackReference (its `nodes`: address, SSH endpoint, jump host and pinned host
 * key; its `adminPrivateKey`, a secret) instead of copied into this stack's
 * config. The outputs are a contract: docs/consumers.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, NodeSpec } from "../../config";
import type { Connection, Hop } from "../../remote";
import { Login } from "../backend";

/** A node as the source stack's `nodes` output has it (index.ts). */
export interface SourceNode {
    role?: string;
    addresses: { internal: string; external?: string };
    ssh: { host: string; port: number; user: string; proxy?: { host: string; port: number; user: string } };
    hostKey: string;
}

/** `machinesFrom`'s value as a full stack name: a bare stack is one of this project's. */
export function sourceStackName(name: string, org = pulumi.getOrganization(), project = pulumi.getProject()): string {
    const parts = name.split("/");
    return parts.length === 3 ? name : parts.length === 2 ? `${org}/${name}` : `${org}/${project}/${name}`;
}

/**
 * One node's login from the source stack's nodes, checked against this stack's
 * config: the node must be there, with the addresses this config gives it; its
 * jump host is the source's node at that endpoint.
 */
export function loginFrom(
    source: string,
    nodes: Record<string, SourceNode> | undefined,
    spec: NodeSpec,
    index: number,
): { host: string; port: number; user: string; hostKey: string; proxy?: string } {
    const key = `${NAMESPACE}:machinesFrom`;
    if (nodes === undefined) throw new pulumi.RunError(`${key}: stack ${source} has no \`nodes\` output (is it up?)`);
    const n = nodes[spec.name];
    if (n === undefined) throw new pulumi.RunError(`${key}: stack ${source} has no node ${spec.name} (it has ${Object.keys(nodes).join(", ")})`);
    for (const net of ["internal", "external"] as const) {
        if (spec.addresses[net] !== n.addresses[net]) {
            throw new pulumi.RunError(
                `${NAMESPACE}:nodes[${index}].addresses.${net}: ${JSON.stringify(spec.addresses[net] ?? null)} is not ${spec.name}'s address in stack ${source} (${n.addresses[net] ?? "none"})`,
            );
        }
    }
    return { host: n.ssh.host, port: n.ssh.port, user: n.ssh.user, hostKey: n.hostKey, proxy: jumpOf(source, nodes, spec.name) };
}

/**
 * The node of the source stack that `name` is reached through (its `ssh.proxy`
 * endpoint), if any; an error names `key`, the config key that named the source.
 */
export function jumpOf(source: string, nodes: Record<string, SourceNode>, name: string, key = `${NAMESPACE}:machinesFrom`): string | undefined {
    const p = nodes[name].ssh.proxy;
    if (p === undefined) return undefined;
    const jump = Object.keys(nodes).find((m) => nodes[m].ssh.proxy === undefined && nodes[m].ssh.host === p.host && nodes[m].ssh.port === p.port);
    if (jump === undefined) {
        throw new pulumi.RunError(`${key}: stack ${source} reaches ${name} through ${p.host}:${p.port}, which is none of its directly reached nodes`);
    }
    return jump;
}

/** How to reach each of the source stack's nodes with its key, host keys pinned, jump hosts as it says. */
export function connectionsFrom(source: string, nodes: Record<string, SourceNode>, privateKey: pulumi.Input<string>, key: string): Record<string, pulumi.Output<Connection>> {
    const hop = (n: SourceNode): Hop => ({ host: n.ssh.host, port: n.ssh.port, user: n.ssh.user, privateKey, hostKeys: [n.hostKey] });
    return Object.fromEntries(
        Object.keys(nodes).map((name) => {
            const jump = jumpOf(source, nodes, name, key);
            return [name, pulumi.output<Connection>(jump === undefined ? hop(nodes[name]) : { ...hop(nodes[name]), proxy: hop(nodes[jump]) })];
        }),
    );
}

/** The source stack, read once; its machines' logins and its admin key. */
export class MachineSource {
    public readonly name: string;
    private readonly ref: pulumi.StackReference;
    private readonly nodes: pulumi.Output<Record<string, SourceNode> | undefined>;

    constructor(name: string) {
        this.name = sourceStackName(name);
        const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
        if (this.name === self) throw new pulumi.RunError(`${NAMESPACE}:machinesFrom: ${JSON.stringify(name)} is this stack itself`);
        this.ref = new pulumi.StackReference("machines-from", { name: this.name });
        this.nodes = this.ref.getOutput("nodes") as pulumi.Output<Record<string, SourceNode> | undefined>;
    }

    /** The key that logs in to the source's machines (its `adminPrivateKey`), a secret. */
    get privateKey(): pulumi.Output<string> {
        return pulumi.secret(
            this.ref.getOutput("adminPrivateKey").apply((k) => {
                if (typeof k !== "string") throw new pulumi.RunError(`${NAMESPACE}:machinesFrom: stack ${this.name} has no \`adminPrivateKey\` output`);
                return k;
            }),
        );
    }

    /** How to reach a node, from the source's `nodes` output: every field known once the reference is read. */
    login(spec: NodeSpec, index: number): Login {
        const l = this.nodes.apply((nodes) => loginFrom(this.name, nodes, spec, index));
        return { host: l.host, port: l.port, user: l.user, hostKey: l.hostKey, proxy: l.proxy };
    }
}
