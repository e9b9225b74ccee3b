/**
 * The stack config's schema: every key, its type, range and default (zod), and
 * the types the program reads. components/config.ts parses and cross-checks a
 * stack's config against it; docs/config.md's key table is written from it.
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";

/** The config namespace: the project name in Pulumi.yaml. */
export const NAMESPACE = "thesis-cluster";

export const BACKENDS = ["nspawn", "virtualbox", "existing"] as const;
export type Backend = (typeof BACKENDS)[number];

export const NETWORKS = ["internal", "external"] as const;
export type NetworkName = (typeof NETWORKS)[number];

/**
 * What docs/config.md says of a key: its meaning, and its type and default
 * where the schema's own (integer, `[]`, …) would say less. The reference's
 * table is written from these by scripts/config-reference.ts.
 */
export interface KeyDoc {
    text: string;
    type?: string;
    default?: string;
}
const doc = (text: string, o: Omit<KeyDoc, "text"> = {}) => ({ keyDoc: { text, ...o } });

const nodeName = z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/, "must be a host name: a lower-case letter, then letters, digits or '-' (31 at most)");

const networkSchema = (net: NetworkName) =>
    z
        .object({
            cidr: z.string().meta(
                net === "internal"
                    ? doc("the cluster network (thesis: 10.0.100.0/24); prefix length 8–30, no host bits", { type: "IPv4 CIDR" })
                    : doc("the outside network (thesis: 192.168.1.0/24)", { type: "IPv4 CIDR" }),
            ),
            vip: z.string().meta(
                net === "internal"
                    ? doc("internal virtual IP held by the active director; the nodes' gateway", { type: "IPv4" })
                    : doc("external virtual IP: the SSH front door and the stats page", { type: "IPv4" }),
            ),
            hostAddress: z
                .string()
                .optional()
                .meta(
                    net === "internal"
                        ? doc("the host's own address on the internal network (nspawn: on its bridge); unset keeps the host off it, reaching internal nodes through a director as jump host", { type: "IPv4" })
                        : doc("the host's own address on the external network (like a VirtualBox host-only adapter)", { type: "IPv4" }),
                ),
        })
        .strict();

const diskSchema = z
    .object({
        sizeMb: z.number().int().min(64).max(1024 * 1024).meta(doc("disk size (sparse on the host)", { type: "integer MiB" })),
    })
    .strict();

const bondSchema = z
    .object({
        slaves: z.number().int().min(2).max(8).default(2).meta(doc("NICs in the bond", { type: "integer 2–8" })),
        mode: z.enum(["802.3ad", "balance-rr", "active-backup"]).default("802.3ad").meta(doc("bonding mode (thesis: LACP)")),
        miimon: z.number().int().min(0).max(10000).default(100).meta(doc("link monitoring interval", { type: "integer ms" })),
        lacpRate: z.enum(["fast", "slow"]).default("fast").meta(doc("LACPDU rate")),
        mtu: z.number().int().min(576).max(9216).default(9000).meta(doc("MTU of bond0 (jumbo frames)")),
    })
    .strict();

const publicKeyLine = /^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+=*( .*)?$/;

const sshSchema = z
    .object({
        host: z.string().min(1).meta(doc("address or name")),
        port: z.number().int().min(1).max(65535).default(22).meta(doc("SSH port")),
        user: z.string().min(1).default("root").meta(doc("login user (key-based; passwords are never used)")),
        hostKey: z
            .string()
            .regex(publicKeyLine, "must be a public key line like \"ssh-ed25519 AAAA…\" (from ssh-keyscan)")
            .meta(doc("the host's SSH host key, pinned: a line of `ssh-keyscan -t ed25519 HOST` without the host name", { type: "public key line" })),
        proxy: nodeName.optional().meta(doc("a node reached directly, used as jump host to reach this one", { type: "node name" })),
    })
    .strict();

const nodeSchema = z
    .object({
        name: nodeName.meta(doc("unique; lower-case letter, then letters, digits, `-`; 31 characters at most", { type: "host name" })),
        memoryMb: z.number().int().min(128).max(1024 * 1024).optional().meta(doc("memory", { type: "integer MiB", default: "directors 1024, others 512" })),
        cpus: z.number().int().min(1).max(64).default(1).meta(doc("virtual CPUs")),
        addresses: z
            .object({
                internal: z.string().meta(doc("address on the internal network", { type: "IPv4" })),
                external: z.string().optional().meta(doc("address on the external network", { type: "IPv4", default: "unset; required for directors" })),
            })
            .strict(),
        bond: bondSchema.optional().meta(doc("bond0 over several NICs on the internal network (the thesis' nas)")),
        disks: z.array(diskSchema).max(8).default([]).meta(doc("extra disks, seen as /dev/sdb, /dev/sdc, … in order")),
        ssh: sshSchema.optional().meta(doc("how to reach an existing host", { default: "unset; required with `existing`" })),
    })
    .strict();

const rolesSchema = z
    .object({
        directors: z.array(nodeName).meta(doc("the VRRP pair; the first is MASTER", { type: "2 node names" })),
        compute: z.array(nodeName).meta(doc("HTCondor execute/submit nodes behind the SSH farm", { type: "node names, ≥ 1" })),
        nas: nodeName.meta(doc("NFS and NIS server", { type: "node name" })),
        san: z.array(nodeName).meta(doc("GlusterFS servers", { type: "node names, ≥ 1" })),
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
    /** `existing` backend: the stack whose outputs describe the hosts. */
    machinesFrom?: string;
    networks: Record<NetworkName, NetworkSpec>;
    nodes: NodeSpec[];
    roles: Roles;
    frontDoor: FrontDoorSpec;
    storage: { volumes: VolumeSpec[]; nfsRootSquash: boolean };
    identity: { nisDomain: string; homeBase: string; users: UserSpec[] };
    jobs: { schedulers: Scheduler[] };
    condor: CondorSpec;
    slurm: SlurmSpec;
    mosix: MosixSpec;
    rollout: { batchSize: number };
    virtualbox: { baseImage?: string; baseFolder?: string };
    /** nspawn backend: base image cache; the provider's default when unset. */
    imageCacheDir?: string;
}

const port = z.number().int().min(1).max(65535);

const domainName = z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, "must be a DNS domain of lower-case labels");

const absolutePath = z.string().regex(/^\/[^\0]*$/, "must be an absolute path");

const frontDoorSchema = z
    .object({
        domain: domainName.default("cluster").meta(doc("domain of the names dnsmasq answers (`cluster2.cluster`, `gateway`, `frontdoor`, `cluster1-ext`)", { type: "DNS domain" })),
        sshPort: port.default(2000).meta(doc("HAProxy's SSH farm on the external VIP (thesis)", { type: "port" })),
        statsPort: port.default(9000).meta(doc("HAProxy's stats page, user `admin`, generated password (output `stats`)", { type: "port" })),
        monitoringPort: port
            .default(9090)
            .meta(
                doc("the monitoring stack's Prometheus on the external VIP: HAProxy passes it to the nas' port 9090, where the monitoring stack (monitoring/) runs Prometheus with its own login; nothing answers there without that stack (output `monitoring`)", {
                    type: "port",
                }),
            ),
        checkIntervalMs: z
            .number()
            .int()
            .min(100)
            .max(60000)
            .default(1000)
            .meta(
                doc("HAProxy health checks of the compute nodes' sshd (a node is DOWN after 2 failed checks, the second half an interval after the first); 100 to 60000: sshd never penalizes the directors for them (docs/security.md)", {
                    type: "integer ms",
                }),
            ),
        vrrp: z
            .object({
                priorities: z
                    .tuple([z.number().int().min(1).max(254), z.number().int().min(1).max(254)])
                    .default([101, 100])
                    .meta(doc("keepalived priorities of directors[0] (MASTER) and directors[1] (BACKUP); the first must be higher", { type: "[int, int]" })),
                advertInterval: z
                    .number()
                    .min(0.01)
                    .max(40)
                    .default(0.2)
                    .meta(doc("VRRP v3 advert interval; the backup takes over after about 3 intervals", { type: "seconds" })),
                routerIds: z
                    .object({
                        internal: z.number().int().min(1).max(255).default(52).meta(doc("virtual router id of the internal instance (thesis), distinct from the external one", { type: "1–255" })),
                        external: z.number().int().min(1).max(255).default(51).meta(doc("virtual router id of the external instance (thesis)", { type: "1–255" })),
                    })
                    .strict()
                    .prefault({}),
            })
            .strict()
            .prefault({}),
        pxe: z.boolean().default(false).meta(doc("network boot from the directors' dnsmasq (TFTP root /srv/tftp, pxelinux.0)")),
        dnsUpstream: z.array(z.string()).default([]).meta(doc("DNS servers for names outside the cluster; none keeps the lab closed", { type: "IPv4 list" })),
        dhcpMtu: z.number().int().min(576).max(9216).optional().meta(doc("MTU handed out by DHCP (thesis: 9000)")),
    })
    .strict();

export type FrontDoorSpec = z.infer<typeof frontDoorSchema>;

const volumeSchema = z
    .object({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be letters, digits, '_' or '-'").meta(doc("volume name (thesis: `gv0`, `gv1`)", { type: "name" })),
        type: z.enum(["replicate", "distribute"]).meta(doc("every brick holds every file, or files spread over the bricks")),
        replica: z
            .number()
            .int()
            .min(2)
            .max(16)
            .optional()
            .meta(doc("copies of each file (replicate only); must not exceed, and must divide, the number of the volume's nodes", { default: "all the volume's nodes" })),
        nodes: z
            .array(nodeName)
            .min(1)
            .optional()
            .meta(
                doc(
                    "the SAN nodes holding the volume's bricks, in brick order. A node dropped from the list (or from `roles.san`) leaves the volume with its data moved to the other bricks first (`remove-brick start`, wait, `commit`); a change to a replicated volume's replica count is refused",
                    { type: "node names", default: "every node of `roles.san`" },
                ),
            ),
        disk: z
            .number()
            .int()
            .min(0)
            .max(7)
            .meta(doc("which extra disk of each SAN node is the brick: 0 = /dev/sdb → /export/brick1, 1 = /dev/sdc → /export/brick2")),
        mount: z.string().regex(/^\/[A-Za-z0-9._/-]+$/, "must be an absolute path").meta(doc("mount point on every node (thesis: `/mnt/gfs-r`, `/mnt/gfs-d`)", { type: "absolute path" })),
        options: z
            .record(z.string(), z.string())
            .default({})
            .meta(doc("`gluster volume set` options on top of `auth.allow` = the internal network and `network.ping-timeout` = 10", { type: "map" })),
    })
    .strict();

const storageSchema = z
    .object({
        nfsRootSquash: z.boolean().default(true).meta(doc("the nas' NFS export squashes root (set false for the thesis' `no_root_squash`)")),
        volumes: z
            .array(volumeSchema)
            .default([
                { name: "gv0", type: "replicate", disk: 0, mount: "/mnt/gfs-r", options: {} },
                { name: "gv1", type: "distribute", disk: 1, mount: "/mnt/gfs-d", options: {} },
            ])
            .meta(doc("GlusterFS volumes over the SAN nodes' extra disks, mounted on every node", { default: "gv0 (replica, `/mnt/gfs-r`), gv1 (distributed, `/mnt/gfs-d`)" })),
    })
    .strict();

export type VolumeSpec = z.infer<typeof volumeSchema>;

const userSchema = z
    .object({
        name: z
            .string()
            .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a login name: lower-case letter or '_', then letters, digits, '_' or '-'")
            .meta(doc("lower-case letter or `_`, then letters, digits, `_`, `-`", { type: "login name" })),
        uid: z.number().int().min(1000).max(59999).meta(doc("user and group id, the same on every node", { type: "1000–59999" })),
        sshKeys: z
            .array(z.string().regex(publicKeyLine, "must be an SSH public key line"))
            .default([])
            .meta(doc("keys that may log in as the user (SSH takes keys only); the password is generated (output `identity`, secret)", { type: "list of public keys" })),
    })
    .strict();

const identitySchema = z
    .object({
        nisDomain: z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, "must be a NIS domain name").default("cluster").meta(doc("the NIS domain", { type: "name" })),
        homeBase: z
            .string()
            .regex(/^\/[A-Za-z0-9._/-]+$/, "must be an absolute path")
            .optional()
            .meta(doc("where users' homes are, shared by every node", { type: "absolute path", default: "`/nfs`; nspawn: `<first replicated volume's mount>/home`" })),
        users: z
            .array(userSchema)
            .default([])
            .meta(doc("cluster users, created on the NIS master and pushed to every node; removed when dropped from the list (homes stay)")),
    })
    .strict();

export type UserSpec = z.infer<typeof userSchema>;

const condorSchema = z
    .object({
        poolName: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, "must be letters, digits, spaces, '.', '_' or '-'")
            .default("thesis-cluster")
            .meta(doc("the HTCondor pool's name (`COLLECTOR_NAME`), shown by `condor_status`", { type: "name" })),
        uidDomain: domainName.optional().meta(doc("`UID_DOMAIN`: users of this domain run their jobs as themselves (NIS)", { type: "DNS domain", default: "`frontDoor.domain`" })),
        filesystemDomain: domainName
            .optional()
            .meta(doc("`FILESYSTEM_DOMAIN`: nodes of this domain share the homes, so vanilla jobs need no file transfer", { type: "DNS domain", default: "`frontDoor.domain`" })),
        highAvailability: z
            .boolean()
            .default(true)
            .meta(doc("both directors run a collector, HAD and REPLICATION keep one negotiator alive (on directors[0] while it lives); false: directors[0] is the only central manager")),
        tuned: z
            .boolean()
            .default(true)
            .meta(
                doc(
                    "negotiation and ad updates tuned for short jobs: `NEGOTIATOR_INTERVAL` (next row), `NEGOTIATOR_MIN_INTERVAL`, `NEGOTIATOR_CYCLE_DELAY` and `SCHEDD_MIN_INTERVAL` 1 s, no reschedule request from the schedd (`SCHEDD_SEND_RESCHEDULE = False`: the periodic cycle finds a submit, and a fresh schedd's first request could deadlock with the negotiator for 20 s), no preemption pass, `SCHEDD_INTERVAL` and `UPDATE_INTERVAL` 10 s; false keeps HTCondor's defaults, for comparison. Either way the negotiator matches only slots heard from within two update intervals and 5 s (25 s tuned, 605 s not; `NEGOTIATOR_SLOT_CONSTRAINT`), so a dead node's lingering slot ads get no jobs",
                ),
            ),
        negotiatorInterval: z.number().int().min(1).max(3600).default(2).meta(doc("`NEGOTIATOR_INTERVAL` when tuned (HTCondor: 60)", { type: "seconds" })),
        jobLeaseSeconds: z
            .number()
            .int()
            .min(10)
            .max(86400)
            .default(20)
            .meta(doc("`JOB_DEFAULT_LEASE_DURATION`: how long a job waits for an execute node that went silent before it runs elsewhere (HTCondor: 2400); `TCP_KEEPALIVE_INTERVAL` is half of it (at least 5 s), so a node that lost power is found out within the lease", { type: "seconds" })),
        benchmarks: z
            .boolean()
            .default(false)
            .meta(
                doc(
                    "each startd runs HTCondor's CPU benchmarks (condor_mips, condor_kflops) when it starts, for the `Mips` and `KFlops` attributes that rank nodes of different speeds (`RunBenchmarks`; HTCondor: on). Off, as the compute nodes are alike: they cost each node seconds of CPU at every start",
                ),
            ),
        drainTimeoutSeconds: z
            .number()
            .int()
            .min(0)
            .max(86400)
            .default(600)
            .meta(
                doc(
                    "how long a running job may go on (from its start) when its compute node is drained: before the node leaves `roles.compute`, or before a change that restarts its startd (`MAXJOBRETIREMENTTIME`); a self-checkpointing job is vacated at once and resumes from its checkpoint elsewhere",
                    { type: "seconds" },
                ),
            ),
    })
    .strict();

const mosixSchema = z
    .object({
        tarball: z
            .string()
            .regex(/^\/[^\0]*\.(tbz|tar\.bz2|tgz|tar\.gz|tar\.xz|tar)$/, "must be an absolute path to a .tbz, .tar.bz2, .tgz, .tar.gz, .tar.xz or .tar file")
            .optional()
            .meta(
                doc("a MOSIX tarball on the machine running Pulumi (`.tbz`, `.tar.bz2`, `.tgz`, `.tar.gz`, `.tar.xz`, `.tar`); it must exist when `preview`/`up` starts", {
                    type: "absolute path",
                    default: "unset (MOSIX off)",
                }),
            ),
        installCommand: z.string().min(1).default("./mosix.install").meta(doc("run as root in the unpacked tarball's top directory with stdin closed, once per tarball", { type: "shell command" })),
        service: z
            .string()
            .regex(/^[A-Za-z0-9@._-]+$/, "must be a unit name")
            .default("mosix")
            .meta(doc("the service the installer leaves; enabled and started on each MOSIX node", { type: "unit name" })),
        nodes: z.array(nodeName).optional().meta(doc("the MOSIX cluster (thesis: cluster1..5)", { type: "node names", default: "directors[0] and the compute nodes" })),
    })
    .strict();

const virtualboxSchema = z
    .object({
        baseImage: absolutePath.optional().meta(
            doc("`virtualbox` backend: the Debian 13 disk (VDI) every VM's disk is cloned from (`scripts/build-vbox-image` builds it); it must exist when `up` creates a VM, not for `preview`", {
                type: "absolute path",
                default: "`~/.cache/thesis-cluster/debian-13-thesis-cluster.vdi`",
            }),
        ),
        baseFolder: absolutePath
            .optional()
            .meta(doc("`virtualbox` backend: where the VMs and their disks live", { type: "absolute path", default: "`~/VirtualBox VMs/thesis-cluster-<stack>`" })),
    })
    .strict();

/** The job managers the cluster can run, side by side. */
export const SCHEDULERS = ["htcondor", "slurm"] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

const jobsSchema = z
    .object({
        schedulers: z
            .array(z.enum(SCHEDULERS))
            .min(1)
            .default(["htcondor"])
            .meta(
                doc(
                    "the job managers on the directors and compute nodes, `htcondor` (the thesis) and `slurm` (its future work); both may run at once, each offering every CPU and all the memory of each compute node (docs/jobs.md)",
                    { type: "list of `htcondor`, `slurm`" },
                ),
            ),
    })
    .strict();

const slurmName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, "must be lower-case letters, digits, '_' or '-', starting with a letter");

const slurmSchema = z
    .object({
        clusterName: slurmName.default("thesis-cluster").meta(doc("Slurm's `ClusterName`, as `sacct` and `sinfo` show it", { type: "name" })),
        partition: slurmName.default("compute").meta(doc("the one partition, every compute node in it, the default for `sbatch` and `srun`", { type: "name" })),
        accountingHost: z
            .string()
            .optional()
            .meta(doc("the node that runs `slurmdbd` and its MariaDB (job accounting, `sacct`)", { type: "node name", default: "`roles.nas`" })),
        controllerTimeoutSeconds: z
            .number()
            .int()
            .min(3)
            .max(3600)
            .default(6)
            .meta(
                doc(
                    "`SlurmctldTimeout`: how long the backup controller (directors[1]) waits for the primary, unanswering and its heartbeat file unchanged, before it takes over (Slurm: 120); clients that find only a standby controller wait half of it before they try again",
                    { type: "seconds" },
                ),
            ),
        nodeTimeoutSeconds: z
            .number()
            .int()
            .min(5)
            .max(3600)
            .default(20)
            .meta(doc("`SlurmdTimeout`: how long a silent compute node stays up in the controller's eyes before it is DOWN and its jobs requeued (Slurm: 300)", { type: "seconds" })),
        drainTimeoutSeconds: z
            .number()
            .int()
            .min(0)
            .max(86400)
            .default(600)
            .meta(
                doc(
                    "how long the jobs of a compute node leaving `roles.compute` may go on after Slurm stops starting new ones there; those still running then are requeued to run elsewhere (self-checkpointing ones resume from their checkpoint), and one that cannot be requeued stops the change",
                    { type: "seconds" },
                ),
            ),
        requeueDelaySeconds: z
            .number()
            .int()
            .min(5)
            .max(3600)
            .default(10)
            .meta(
                doc(
                    "how long a requeued job (its node died, or it checkpointed and asked to be requeued) waits before it may start again: Slurm's credential lifetime, `AuthInfo=cred_expire` (Slurm: 120; at least 5)",
                    { type: "seconds" },
                ),
            ),
    })
    .strict();

export type SlurmSpec = z.infer<typeof slurmSchema> & { accountingHost: string };

export type CondorSpec = z.infer<typeof condorSchema> & { uidDomain: string; filesystemDomain: string };
export type MosixSpec = Omit<z.infer<typeof mosixSchema>, "nodes"> & { nodes: string[] };

export const topSchema = z
    .object({
        backend: z
            .enum(BACKENDS)
            .default("nspawn")
            .meta(doc("which machine layer builds the nodes: systemd-nspawn machines on this host, VirtualBox VMs, or hosts that already answer SSH")),
        machinesFrom: z
            .string()
            .regex(/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/, "must be a stack name: STACK (of this project) or ORGANIZATION/PROJECT/STACK")
            .optional()
            .meta(
                doc(
                    "`existing` backend: the stack whose machines these hosts are; each node's SSH endpoint, jump host and pinned host key, and the login key (its `adminPrivateKey`, unless `sshPrivateKey` is set), come from that stack's outputs through a StackReference instead of `nodes[].ssh` (docs/consumers.md)",
                    { type: "stack name", default: "unset" },
                ),
            ),
        networks: z.object({ internal: networkSchema("internal"), external: networkSchema("external") }).strict(),
        nodes: z.array(nodeSchema).min(1).meta(doc("the machines, in order")),
        roles: rolesSchema,
        frontDoor: frontDoorSchema.prefault({}),
        storage: storageSchema.prefault({}),
        identity: identitySchema.prefault({}),
        jobs: jobsSchema.prefault({}),
        condor: condorSchema.prefault({}),
        slurm: slurmSchema.prefault({}),
        mosix: mosixSchema.prefault({}),
        rollout: z
            .object({
                batchSize: z
                    .number()
                    .int()
                    .min(1)
                    .max(64)
                    .default(1)
                    .meta(
                        doc(
                            "how many compute nodes a change that reloads or restarts their sshd, ypbind, HTCondor or MOSIX reaches at once in a running cluster; each is done and read back before the next (a new cluster comes up all at once)",
                        ),
                    ),
            })
            .strict()
            .prefault({}),
        virtualbox: virtualboxSchema.prefault({}),
        imageCacheDir: absolutePath
            .optional()
            .meta(
                doc("`nspawn` backend: where base images are built and kept, one directory per package list and build script; shared by stacks", {
                    type: "absolute path",
                    default: "`/var/cache/thesis-cluster/images`",
                }),
            ),
    })
    .strict();

/** The keys this model reads. */
export const CONFIG_KEYS = ["backend", "machinesFrom", "networks", "nodes", "roles", "frontDoor", "storage", "identity", "jobs", "condor", "slurm", "mosix", "rollout", "virtualbox", "imageCacheDir"] as const;
/** Keys of the namespace read elsewhere: the `existing` backend's own login key (index.ts). */
export const OTHER_KEYS = ["sshPrivateKey"] as const;
/** What the reference says of OTHER_KEYS. */
export const OTHER_KEY_DOCS: Record<(typeof OTHER_KEYS)[number], KeyDoc> = {
    sshPrivateKey: {
        type: "secret string",
        default: "the generated key",
        text: "`existing` backend: the private key that logs in to the hosts (`pulumi config set --secret thesis-cluster:sshPrivateKey < key`); without it the stack's generated key is used, whose public half (`adminPublicKey`) must then be in the hosts' `authorized_keys`",
    },
};
