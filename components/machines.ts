/**
 * The machine layer: the cluster's nodes and networks, built by the backend the
 * stack config chooses. Services see only a Machine's connection and its
 * readiness gate, never the backend.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as ipaddr from "ipaddr.js";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig, NetworkName, NodeSpec, NETWORKS, Roles, roleOf } from "./config";
import * as nspawn from "./nspawn";
import { SshKeyPair } from "./provider";
import * as vbox from "./vbox";
import { Command, Connection, Hop } from "./remote";
import { networkdFiles } from "./network/networkd";
import { FILES_DIR } from "./render";
import { diskDevice } from "./shell";
import { machineNeeds, nicPlan } from "./plan";

/** Debian release of the machines. */
export const SUITE = "trixie";

/** The one package list of the base image (files/base-image/packages.txt). */
export function basePackages(): string[] {
    return fs
        .readFileSync(path.join(FILES_DIR, "base-image", "packages.txt"), "utf8")
        .split("\n")
        .map((l) => l.replace(/#.*/, "").trim())
        .filter((l) => l !== "");
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

/** What a node's SSH endpoint looks like in the stack outputs (no secrets). */
export interface SshEndpoint {
    host: string;
    port: number;
    user: string;
    proxy?: { host: string; port: number; user: string };
}

export interface MachineArgs {
    node: NodeSpec;
    role: keyof Roles | undefined;
    /** How to reach the machine, host key included. */
    connection: pulumi.Input<Connection>;
    endpoint: SshEndpoint;
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
    public readonly role: keyof Roles | undefined;
    public readonly node: NodeSpec;
    public readonly connection: pulumi.Output<Connection>;
    public readonly endpoint: SshEndpoint;
    public readonly hostKey: pulumi.Output<string>;
    public readonly devices: pulumi.Output<string[]>;
    public readonly ready: Command;
    /** `systemctl is-system-running` once boot finished. */
    public readonly state: pulumi.Output<string>;

    constructor(name: string, args: MachineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:Machine", name, {}, opts);
        this.name = name;
        this.role = args.role;
        this.node = args.node;
        this.endpoint = args.endpoint;
        this.connection = pulumi.output(args.connection);
        this.hostKey = pulumi.output(args.hostKey);
        this.devices = pulumi.output(args.devices);
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

/** What a service component needs: the stack config and the machines by node name. */
export interface ServiceArgs {
    cfg: ClusterConfig;
    machines: Record<string, Machine>;
}

export interface MachineLayerArgs {
    cfg: ClusterConfig;
    stack: string;
    privateKey: pulumi.Input<string>;
    publicKey: pulumi.Input<string>;
}

/** The cluster's machines and networks. */
export class MachineLayer extends pulumi.ComponentResource {
    public readonly machines: Record<string, Machine> = {};
    /** Per network: its subnet and what carries it (nspawn: a bridge; virtualbox: an internal network or a host-only interface). */
    public readonly networks = {} as Record<NetworkName, { cidr: string; bridge?: string; virtualbox?: pulumi.Input<string> }>;

    constructor(name: string, args: MachineLayerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:MachineLayer", name, {}, opts);
        for (const net of NETWORKS) {
            this.networks[net] = { cidr: args.cfg.networks[net].cidr };
        }
        switch (args.cfg.backend) {
            case "nspawn":
                this.nspawn(args);
                break;
            case "existing":
                this.existing(args);
                break;
            case "virtualbox":
                this.virtualbox(args);
                break;
        }
        this.registerOutputs({});
    }

    /** Machines booted with systemd-nspawn on this host. */
    private nspawn(args: MachineLayerArgs): void {
        const { cfg } = args;
        const names = hostNames(args.stack);
        const image = new nspawn.BaseImage(
            "base-image",
            {
                suite: SUITE,
                packages: basePackages(),
                script: fs.readFileSync(path.join(FILES_DIR, "base-image", "build.sh"), "utf8"),
                cacheDir: cfg.imageCacheDir,
            },
            { parent: this },
        );
        const bridges: pulumi.Resource[] = [];
        for (const net of NETWORKS) {
            bridges.push(
                new nspawn.Network(
                    `${net}-network`,
                    { bridge: names.bridge(net), cidr: cfg.networks[net].cidr, hostAddress: cfg.networks[net].hostAddress },
                    { parent: this },
                ),
            );
            this.networks[net].bridge = names.bridge(net);
        }

        this.place(args, (node) => {
            const { systemCalls } = machineNeeds(cfg, node.name);
            const vm = new nspawn.Machine(
                node.name,
                {
                    name: node.name,
                    namespace: names.namespace(node.name),
                    image: image.path,
                    stateDir: names.stateDir,
                    nics: nicPlan(cfg, node).map((n) => ({
                        name: n.name,
                        bridge: names.bridge(n.network),
                        address: n.address,
                        gateway: n.gateway,
                        mac: n.mac,
                    })),
                    disks: node.disks,
                    // The same networkd files the VMs get through their seed.
                    guestFiles: networkdFiles(nicPlan(cfg, node)),
                    authorizedKeys: [args.publicKey],
                    // What the services on the node need of a container (nfs-ganesha on the nas).
                    systemCallFilter: systemCalls.length > 0 ? systemCalls : undefined,
                },
                { parent: this, dependsOn: bridges },
            );
            return { hostKey: vm.hostKey, devices: vm.devices, backing: vm };
        });
    }

    /**
     * VirtualBox VMs driven through VBoxManage on this host: the internal
     * network a VirtualBox internal network, the external one a host-only
     * network on which the host holds its address (and reaches the VIP).
     */
    private virtualbox(args: MachineLayerArgs): void {
        const { cfg } = args;
        const names = hostNames(args.stack);
        const ext = cfg.networks.external;
        const baseImage = cfg.virtualbox.baseImage ?? path.join(os.homedir(), ".cache", "thesis-cluster", "debian-13-thesis-cluster.vdi");
        const baseFolder = cfg.virtualbox.baseFolder ?? path.join(os.homedir(), "VirtualBox VMs", `thesis-cluster-${names.safe}`);
        const hostOnly = new vbox.HostOnlyNetwork(
            "external-network",
            { hostAddress: ext.hostAddress!, netmask: ipaddr.IPv4.subnetMaskFromPrefixLength(ext.prefix[1]).toString() },
            { parent: this },
        );
        const intnet = `thesis-cluster-${names.safe}-internal`;
        this.networks.internal.virtualbox = intnet;
        this.networks.external.virtualbox = hostOnly.interface;
        this.place(args, (node) => {
            // The VM's host key is made here and handed to it by cloud-init, so it is pinned from the first login.
            const hostKey = new SshKeyPair(`${node.name}-host-key`, { comment: `root@${node.name}` }, { parent: this });
            const nics = nicPlan(cfg, node);
            const vm = new vbox.Machine(
                node.name,
                {
                    name: node.name,
                    baseFolder,
                    baseImage,
                    memoryMb: node.memoryMb,
                    cpus: node.cpus,
                    nics: nics.map((n) =>
                        n.network === "internal" ? { kind: "intnet", network: intnet, mac: n.mac } : { kind: "hostonly", network: hostOnly.interface, mac: n.mac },
                    ),
                    disks: node.disks,
                    // Network boot from the directors' dnsmasq, when the PXE switch is on.
                    networkBoot: vbox.bootsFromNetwork(cfg, node.name),
                    userData: pulumi.secret(
                        pulumi
                            .all([hostKey.privateKey, hostKey.publicKey, args.publicKey])
                            .apply(([hostPrivateKey, hostPublicKey, authorizedKey]) => vbox.userData(cfg, args.stack, node, nics, { hostPrivateKey, hostPublicKey, authorizedKey })),
                    ),
                    ...vbox.seedFiles(cfg, args.stack, node),
                },
                { parent: this, dependsOn: [hostOnly] },
            );
            return { hostKey: hostKey.publicKey, devices: vm.devices, backing: vm };
        });
    }

    /**
     * Makes the Machines of a backend, directors first: directors are reached
     * on their external address from the host; internal-only nodes through
     * the first director as jump host, or the second when the first is down.
     */
    private place(
        args: MachineLayerArgs,
        build: (node: NodeSpec) => { hostKey: pulumi.Output<string>; devices: pulumi.Output<string[]>; backing: pulumi.Resource },
    ): void {
        const { cfg } = args;
        const jumps: { hop: pulumi.Output<Hop>; endpoint: SshEndpoint }[] = [];
        const rank = (n: NodeSpec) => {
            const i = cfg.roles.directors.indexOf(n.name);
            return i < 0 ? cfg.roles.directors.length : i;
        };
        const ordered = [...cfg.nodes].sort((a, b) => rank(a) - rank(b));
        for (const node of ordered) {
            const vm = build(node);
            const host = node.addresses.external ?? node.addresses.internal;
            const hop = hopOf(host, 22, "root", args.privateKey, vm.hostKey);
            let endpoint: SshEndpoint = { host, port: 22, user: "root" };
            let connection: pulumi.Output<Connection> = hop;
            if (node.addresses.external === undefined) {
                if (jumps.length === 0) throw new Error(`no jump host for ${node.name}`);
                connection = viaJump(hop, jumps[0].hop, jumps.slice(1).map((j) => j.hop));
                endpoint = { ...endpoint, proxy: { host: jumps[0].endpoint.host, port: 22, user: "root" } };
            }
            if (cfg.roles.directors.includes(node.name)) {
                jumps.push({ hop, endpoint });
            }
            this.add(cfg, node, { connection, endpoint, hostKey: vm.hostKey, devices: vm.devices, backing: vm.backing });
        }
    }

    /** Hosts that already answer SSH, as the config describes them. */
    private existing(args: MachineLayerArgs): void {
        const { cfg } = args;
        const byName = new Map(cfg.nodes.map((n) => [n.name, n]));
        const hopFor = (node: NodeSpec) => {
            const ssh = node.ssh!;
            return hopOf(ssh.host, ssh.port, ssh.user, args.privateKey, ssh.hostKey);
        };
        for (const node of cfg.nodes) {
            const ssh = node.ssh!;
            let connection = hopFor(node);
            let endpoint: SshEndpoint = { host: ssh.host, port: ssh.port, user: ssh.user };
            if (ssh.proxy !== undefined) {
                const jump = byName.get(ssh.proxy)!;
                connection = viaJump(connection, hopFor(jump));
                endpoint = { ...endpoint, proxy: { host: jump.ssh!.host, port: jump.ssh!.port, user: jump.ssh!.user } };
            }
            // Extra disks are expected where a VM would show them.
            const devices = node.disks.map((_, i) => diskDevice(i));
            this.add(cfg, node, { connection, endpoint, hostKey: ssh.hostKey, devices });
        }
    }

    private add(cfg: ClusterConfig, node: NodeSpec, m: Omit<MachineArgs, "node" | "role">): void {
        this.machines[node.name] = new Machine(node.name, { node, role: roleOf(cfg, node.name), ...m }, { parent: this });
    }
}

function hopOf(
    host: string,
    port: number,
    user: string,
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
