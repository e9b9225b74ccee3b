/**
 * The machine layer: the cluster's nodes, built by the backend the stack
 * config chooses (components/backends/). Services see only a Machine's
 * connection, its disks, what its backend can give, and its readiness gate;
 * never the backend.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, NetworkName, NETWORKS } from "./config";
import { BACKEND_FACTORIES, Capabilities, Login } from "./backends";
import { ClusterPlan, isDirector, machineNeeds, NodePlan } from "./plan";
import { Command, Connection, Hop } from "./remote";
import type { MachineSource } from "./backends/existing/source";

/** What a node's SSH endpoint looks like in the stack outputs (no secrets). */
export interface SshEndpoint {
    host: string;
    port: number;
    user: string;
    proxy?: { host: string; port: number; user: string };
}

export interface MachineArgs {
    node: NodePlan;
    /** What the node's backend gives beyond a plain Debian guest. */
    capabilities: Capabilities;
    /** How to reach the machine, host key included. */
    connection: pulumi.Input<Connection>;
    endpoint: pulumi.Input<SshEndpoint>;
    /** The machine's SSH host key (authorized_keys format). */
    hostKey: pulumi.Input<string>;
    /** Extra disks as the machine sees them. */
    devices: pulumi.Input<string[]>;
    /** The backend resource the machine is, if any; the readiness gate waits for it. */
    backing?: pulumi.Resource;
}

/** Boot finished (running or degraded), with failed units on stderr. */
export const READY_SCRIPT = `state=$(timeout 240 systemctl is-system-running --wait 2>/dev/null || true)
echo "$state"
if [ "$state" != running ]; then systemctl --failed --no-legend --plain >&2; fi`;

/**
 * One node of the cluster, whatever the backend. `ready` is the gate every
 * command on the node depends on: it has run once the node booted and its sshd
 * answered through `connection`.
 */
export class Machine extends pulumi.ComponentResource {
    public readonly name: string;
    public readonly node: NodePlan;
    public readonly capabilities: Capabilities;
    public readonly connection: pulumi.Output<Connection>;
    public readonly endpoint: pulumi.Output<SshEndpoint>;
    public readonly hostKey: pulumi.Output<string>;
    public readonly devices: pulumi.Output<string[]>;
    public readonly ready: Command;
    /** `systemctl is-system-running` once boot finished. */
    public readonly state: pulumi.Output<string>;
    /** The backend resource whose deletion takes the machine with it (none for `existing` hosts, which outlive the stack). */
    public readonly deletedWith?: pulumi.Resource;

    constructor(name: string, args: MachineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:Machine", name, {}, opts);
        this.name = name;
        this.node = args.node;
        this.capabilities = args.capabilities;
        this.endpoint = pulumi.output(args.endpoint);
        this.connection = pulumi.output(args.connection);
        this.hostKey = pulumi.output(args.hostKey);
        this.devices = pulumi.output(args.devices);
        this.deletedWith = args.backing;
        this.ready = new Command(
            `${name}-ready`,
            { connection: this.connection, create: READY_SCRIPT, timeoutSeconds: 300 },
            { parent: this, dependsOn: args.backing ? [args.backing] : [] },
        );
        this.state = this.ready.stdout.apply((s) => (s ?? "").trim());
        this.registerOutputs({ state: this.state });
    }

    /**
     * The guest's name of the node's i-th extra disk, as its backend made it
     * (`devices`); a node with fewer disks is a mistake in the program.
     */
    device(i: number): pulumi.Output<string> {
        return this.devices.apply((d) => {
            if (d[i] === undefined) throw new Error(`${this.name} has ${d.length} extra disks; disk ${i} was asked for`);
            return d[i];
        });
    }
}

/** What a service component needs: the cluster plan and the machines by node name. */
export interface ServiceArgs {
    plan: ClusterPlan;
    machines: Record<string, Machine>;
}

export interface MachineLayerArgs {
    cfg: ClusterConfig;
    plan: ClusterPlan;
    stack: string;
    privateKey: pulumi.Input<string>;
    publicKey: pulumi.Input<string>;
    /** `existing` backend: the stack whose outputs describe the hosts (machinesFrom). */
    source?: MachineSource;
}

/** The cluster's machines and networks. */
export class MachineLayer extends pulumi.ComponentResource {
    public readonly machines: Record<string, Machine> = {};
    /** Per network: its subnet and what carries it (nspawn: a bridge; virtualbox: an internal network or a host-only interface). */
    public readonly networks = {} as Record<NetworkName, { cidr: string; bridge?: string; virtualbox?: pulumi.Input<string> }>;

    /**
     * Makes the backend's machines, directors first: unless the backend names
     * a login, directors are reached on their external address from the host,
     * internal-only nodes through the first director as jump host, or the
     * second when the first is down.
     */
    constructor(name: string, args: MachineLayerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:MachineLayer", name, {}, opts);
        const { plan } = args;
        const backend = BACKEND_FACTORIES[args.cfg.backend]({ cfg: args.cfg, plan, stack: args.stack, publicKey: args.publicKey, parent: this, source: args.source });
        for (const net of NETWORKS) {
            this.networks[net] = { cidr: plan.networks[net].cidr, ...backend.networks[net] };
        }
        const ordered = [...plan.directors, ...plan.nodes.filter((n) => !isDirector(plan, n))];
        const built = new Map(ordered.map((node) => [node.name, backend.machine(node, machineNeeds(plan, node))]));
        const loginHop = (l: Login) => hopOf(l.host, l.port, l.user, args.privateKey, l.hostKey);
        const jumps: { hop: pulumi.Output<Hop>; endpoint: SshEndpoint }[] = [];
        for (const node of ordered) {
            const vm = built.get(node.name)!;
            let connection: pulumi.Output<Connection>;
            let endpoint: pulumi.Input<SshEndpoint>;
            if (vm.login !== undefined) {
                const { host, port, user } = vm.login;
                const hop = loginHop(vm.login);
                // The jump host is another node's login (known once another stack's outputs are, with machinesFrom).
                const jump = pulumi.output(vm.login.proxy).apply((p) => (p === undefined ? undefined : built.get(p)!.login!));
                connection = jump.apply((j) => (j === undefined ? hop : viaJump(hop, loginHop(j))));
                endpoint = jump.apply((j) =>
                    pulumi.output(j === undefined ? { host, port, user } : { host, port, user, proxy: { host: j.host, port: j.port, user: j.user } }),
                );
            } else {
                const host = node.external ?? node.address;
                const hop = hopOf(host, 22, "root", args.privateKey, vm.hostKey);
                connection = hop;
                endpoint = { host, port: 22, user: "root" };
                if (node.external === undefined) {
                    if (jumps.length === 0) throw new Error(`no jump host for ${node.name}`);
                    connection = viaJump(hop, jumps[0].hop, jumps.slice(1).map((j) => j.hop));
                    endpoint = { ...endpoint, proxy: { host: jumps[0].endpoint.host, port: 22, user: "root" } };
                }
                if (isDirector(plan, node)) jumps.push({ hop, endpoint });
            }
            this.machines[node.name] = new Machine(
                node.name,
                { node, capabilities: backend.capabilities, connection, endpoint, hostKey: vm.hostKey, devices: vm.devices, backing: vm.backing },
                { parent: this },
            );
        }
        this.registerOutputs({});
    }
}

function hopOf(
    host: pulumi.Input<string>,
    port: pulumi.Input<number>,
    user: pulumi.Input<string>,
    privateKey: pulumi.Input<string>,
    hostKey: pulumi.Input<string>,
): pulumi.Output<Hop> {
    return pulumi.output({ host, port, user, privateKey, hostKeys: [hostKey] });
}

function viaJump(hop: pulumi.Output<Hop>, jump: pulumi.Output<Hop>, fallbacks: pulumi.Output<Hop>[] = []): pulumi.Output<Connection> {
    return pulumi
        .all([hop, jump, pulumi.all(fallbacks)])
        .apply(([h, p, f]) => (f.length > 0 ? { ...h, proxy: p, proxyFallbacks: f } : { ...h, proxy: p }));
}
