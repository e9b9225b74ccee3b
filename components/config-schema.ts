/**
 * The stack config's schema: every key, its type, range and default (zod), and
 * the types the program reads. components/config.ts parses and cross-checks a
 * stack's config against it; docs/config.md describes every key.
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";

/** The config namespace: the project name in Pulumi.yaml. */
export const NAMESPACE = "thesis-cluster";

export const BACKENDS = ["nspawn", "virtualbox", "existing"] as const;
export type Backend = (typeof BACKENDS)[number];

export const NETWORKS = ["internal", "external"] as const;
export type NetworkName = (typeof NETWORKS)[number];

const nodeName = z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/, "must be a host name: a lower-case letter, then letters, digits or '-' (31 at most)");

const networkSchema = z
    .object({
        /** The subnet, e.g. 10.0.100.0/24. */
        cidr: z.string(),
        /** The virtual IP the active director holds. */
        vip: z.string(),
        /** The host's own address on this network (external only: the workstation's side). */
        hostAddress: z.string().optional(),
    })
    .strict();

const diskSchema = z
    .object({
        /** Size of the extra disk in MiB. */
        sizeMb: z.number().int().min(64).max(1024 * 1024),
    })
    .strict();

const bondSchema = z
    .object({
        /** NICs enslaved to bond0 on the internal network. Default 2. */
        slaves: z.number().int().min(2).max(8).default(2),
        mode: z.enum(["802.3ad", "balance-rr", "active-backup"]).default("802.3ad"),
        miimon: z.number().int().min(0).max(10000).default(100),
        lacpRate: z.enum(["fast", "slow"]).default("fast"),
        mtu: z.number().int().min(576).max(9216).default(9000),
    })
    .strict();

const sshSchema = z
    .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(22),
        user: z.string().min(1).default("root"),
        /** The host's SSH host key, pinned (a line of `ssh-keyscan HOST`, without the host). */
        hostKey: z.string().regex(/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+=*( .*)?$/, "must be a public key line like \"ssh-ed25519 AAAA…\" (from ssh-keyscan)"),
        /** A node to use as jump host, for nodes only on the internal network. */
        proxy: nodeName.optional(),
    })
    .strict();

const nodeSchema = z
    .object({
        name: nodeName,
        /** Memory in MiB. Default by role: directors 1024, others 512. */
        memoryMb: z.number().int().min(128).max(1024 * 1024).optional(),
        /** Virtual CPUs. Default 1. */
        cpus: z.number().int().min(1).max(64).default(1),
        addresses: z
            .object({
                internal: z.string(),
                external: z.string().optional(),
            })
            .strict(),
        /** bond0 over several NICs on the internal network (the thesis' nas). */
        bond: bondSchema.optional(),
        /** Extra disks, seen by the guest as /dev/sdb, /dev/sdc, … in order. */
        disks: z.array(diskSchema).max(8).default([]),
        /** How to reach the node with the `existing` backend. */
        ssh: sshSchema.optional(),
    })
    .strict();

const rolesSchema = z
    .object({
        /** The VRRP pair, the first one is the MASTER (higher priority). */
        directors: z.array(nodeName),
        compute: z.array(nodeName),
        nas: nodeName,
        san: z.array(nodeName),
    })
    .strict();

export type NodeSpec = z.infer<typeof nodeSchema> & { memoryMb: number };
export type BondSpec = z.infer<typeof bondSchema>;
export type Roles = z.infer<typeof rolesSchema>;

export interface NetworkSpec {
    name: NetworkName;
    cidr: string;
    /** Network address and prefix length, parsed. */
    prefix: [ipaddr.IPv4, number];
    vip: string;
    hostAddress?: string;
}

export interface ClusterConfig {
    backend: Backend;
    networks: Record<NetworkName, NetworkSpec>;
    nodes: NodeSpec[];
    roles: Roles;
    frontDoor: FrontDoorSpec;
    storage: { volumes: VolumeSpec[]; nfsRootSquash: boolean };
    identity: { nisDomain: string; homeBase: string; users: UserSpec[] };
    condor: CondorSpec;
    mosix: MosixSpec;
    virtualbox: { baseImage?: string; baseFolder?: string };
    /** nspawn backend: base image cache; the provider's default when unset. */
    imageCacheDir?: string;
}

const port = z.number().int().min(1).max(65535);

const domainName = z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, "must be a DNS domain of lower-case labels");

const frontDoorSchema = z
    .object({
        /** DNS domain of the cluster's names. */
        domain: domainName.default("cluster"),
        /** HAProxy's SSH front door on the external VIP. */
        sshPort: port.default(2000),
        /** HAProxy's stats page (admin, generated password). */
        statsPort: port.default(9000),
        /** Interval of HAProxy's health checks of the compute nodes' sshd, ms. */
        checkIntervalMs: z.number().int().min(100).max(60000).default(1000),
        vrrp: z
            .object({
                /** Priorities of directors[0] (MASTER) and directors[1] (BACKUP). */
                priorities: z.tuple([z.number().int().min(1).max(254), z.number().int().min(1).max(254)]).default([101, 100]),
                /** Seconds between adverts; VRRP v3 allows fractions. */
                advertInterval: z.number().min(0.01).max(40).default(0.2),
                routerIds: z
                    .object({
                        internal: z.number().int().min(1).max(255).default(52),
                        external: z.number().int().min(1).max(255).default(51),
                    })
                    .strict()
                    .prefault({}),
            })
            .strict()
            .prefault({}),
        /** Network boot (DHCP + TFTP + pxelinux) from the directors' dnsmasq. */
        pxe: z.boolean().default(false),
        /** DNS servers for names outside the cluster; none keeps the lab closed. */
        dnsUpstream: z.array(z.string()).default([]),
        /** MTU handed out by DHCP (thesis: 9000); unset leaves the default. */
        dhcpMtu: z.number().int().min(576).max(9216).optional(),
    })
    .strict();

export type FrontDoorSpec = z.infer<typeof frontDoorSchema>;

const volumeSchema = z
    .object({
        /** Gluster volume name. */
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be letters, digits, '_' or '-'"),
        /** replicate: every brick holds every file; distribute: files spread over the bricks. */
        type: z.enum(["replicate", "distribute"]),
        /** Copies of each file (replicate only); the SAN node count must be a multiple. Default: all SAN nodes. */
        replica: z.number().int().min(2).max(16).optional(),
        /** Which extra disk of each SAN node holds the brick: 0 is /dev/sdb (brick1), 1 is /dev/sdc (brick2). */
        disk: z.number().int().min(0).max(7),
        /** Where every node mounts the volume (FUSE, in fstab). */
        mount: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, "must be an absolute path"),
        /** Extra volume options (`gluster volume set`); auth.allow is the internal network unless set here. */
        options: z.record(z.string(), z.string()).default({}),
    })
    .strict();

const storageSchema = z
    .object({
        /** The nas' NFS export of /home as /nfs: root squashed unless this says false. */
        nfsRootSquash: z.boolean().default(true),
        volumes: z.array(volumeSchema).default([
            { name: "gv0", type: "replicate", disk: 0, mount: "/mnt/gfs-r", options: {} },
            { name: "gv1", type: "distribute", disk: 1, mount: "/mnt/gfs-d", options: {} },
        ]),
    })
    .strict();

export type VolumeSpec = z.infer<typeof volumeSchema>;

const userSchema = z
    .object({
        /** Login name. */
        name: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a login name: lower-case letter or '_', then letters, digits, '_' or '-'"),
        /** Fixed user and group id, the same on every node. */
        uid: z.number().int().min(1000).max(59999),
        /** Public keys that may log in as this user (SSH takes keys only). */
        sshKeys: z.array(z.string().regex(/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+=*( .*)?$/, "must be an SSH public key line")).default([]),
    })
    .strict();

const identitySchema = z
    .object({
        /** NIS domain (thesis: cluster). */
        nisDomain: z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, "must be a NIS domain name").default("cluster"),
        /** Where users' homes are, shared by every node. Default: /nfs, or on the nspawn backend (no kernel NFS) <first replicated volume's mount>/home. */
        homeBase: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, "must be an absolute path").optional(),
        /** Cluster users, pushed to every node through NIS. */
        users: z.array(userSchema).default([]),
    })
    .strict();

export type UserSpec = z.infer<typeof userSchema>;

const condorSchema = z
    .object({
        /** The pool's name (COLLECTOR_NAME), shown by condor_status. */
        poolName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, "must be letters, digits, spaces, '.', '_' or '-'").default("thesis-cluster"),
        /** UID_DOMAIN: users of this domain run jobs as themselves on every node (NIS). Default frontDoor.domain. */
        uidDomain: domainName.optional(),
        /** FILESYSTEM_DOMAIN: nodes of this domain share the homes, so jobs need no file transfer. Default frontDoor.domain. */
        filesystemDomain: domainName.optional(),
        /** Both directors run a collector; HAD keeps one negotiator running (directors[0] while it lives). */
        highAvailability: z.boolean().default(true),
        /** Tune negotiation and ad updates for short jobs; false keeps HTCondor's defaults (for comparison). */
        tuned: z.boolean().default(true),
        /** Seconds between negotiation cycles while jobs wait, when tuned (HTCondor: 60). */
        negotiatorInterval: z.number().int().min(1).max(3600).default(2),
        /** Seconds a shadow waits for a lost execute node before the job runs elsewhere (HTCondor: 2400). */
        jobLeaseSeconds: z.number().int().min(10).max(86400).default(20),
    })
    .strict();

const mosixSchema = z
    .object({
        /** A MOSIX tarball on the machine running Pulumi (not redistributable: the user supplies it). Unset: MOSIX is off. */
        tarball: z.string().regex(/^\/[^\0]*\.(tbz|tar\.bz2|tgz|tar\.gz|tar\.xz|tar)$/, "must be an absolute path to a .tbz, .tar.bz2, .tgz, .tar.gz, .tar.xz or .tar file").optional(),
        /** The installer, run as root in the unpacked tree with no terminal and stdin closed. */
        installCommand: z.string().min(1).default("./mosix.install"),
        /** The systemd unit (or init script) the installer leaves, started and enabled on each node. */
        service: z.string().regex(/^[A-Za-z0-9@._-]+$/, "must be a unit name").default("mosix"),
        /** Nodes that join the MOSIX cluster. Default: directors[0] and the compute nodes (thesis: cluster1..5). */
        nodes: z.array(nodeName).optional(),
    })
    .strict();

const virtualboxSchema = z
    .object({
        /** The Debian 13 disk image (VDI) every VM's disk is cloned from. Default ~/.cache/thesis-cluster/debian-13-thesis-cluster.vdi */
        baseImage: z.string().regex(/^\/[^\0]*$/, "must be an absolute path").optional(),
        /** Where the stack's VMs and disks live. Default ~/VirtualBox VMs/thesis-cluster-<stack> */
        baseFolder: z.string().regex(/^\/[^\0]*$/, "must be an absolute path").optional(),
    })
    .strict();

export type CondorSpec = z.infer<typeof condorSchema> & { uidDomain: string; filesystemDomain: string };
export type MosixSpec = Omit<z.infer<typeof mosixSchema>, "nodes"> & { nodes: string[] };

export const topSchema = z
    .object({
        /** Which machine layer builds the nodes. Default nspawn. */
        backend: z.enum(BACKENDS).default("nspawn"),
        networks: z.object({ internal: networkSchema, external: networkSchema }).strict(),
        nodes: z.array(nodeSchema).min(1),
        roles: rolesSchema,
        /** The front door: dnsmasq, keepalived, HAProxy, NAT. */
        frontDoor: frontDoorSchema.prefault({}),
        /** GlusterFS volumes on the SAN nodes' extra disks. */
        storage: storageSchema.prefault({}),
        /** The NIS domain and its users. */
        identity: identitySchema.prefault({}),
        /** The HTCondor pool. */
        condor: condorSchema.prefault({}),
        /** MOSIX, off unless a tarball is given. */
        mosix: mosixSchema.prefault({}),
        /** virtualbox backend: the base disk image and where VMs live. */
        virtualbox: virtualboxSchema.prefault({}),
        /** nspawn backend: where base images are cached, shared by stacks. */
        imageCacheDir: z.string().regex(/^\/[^\0]*$/, "must be an absolute path").optional(),
    })
    .strict();

/** The keys this model reads. */
export const CONFIG_KEYS = ["backend", "networks", "nodes", "roles", "frontDoor", "storage", "identity", "condor", "mosix", "virtualbox", "imageCacheDir"] as const;
/** Keys of the namespace read elsewhere: the `existing` backend's own login key (index.ts). */
export const OTHER_KEYS = ["sshPrivateKey"] as const;
