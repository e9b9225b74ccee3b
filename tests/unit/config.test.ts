import { ConfigError, hostLimitProblems, localFileProblems, parseClusterConfig, unknownKeyProblems } from "../../components/config";
import { stackConfig } from "./stackfiles";

/** The local stack's config with `edit` applied to a deep copy. */
function variant(edit: (c: any) => void): Record<string, unknown> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const c = structuredClone(stackConfig("local"));
    edit(c);
    return c;
}

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMeWQ82a3AerXhZK9NhfHt+tejVNMGZZ6B7Heu42Ut/D";

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseClusterConfig(raw);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    throw new Error("config was accepted");
}

describe("stack config", () => {
    it.each(["local", "lab"])("accepts the committed %s stack: the thesis topology", (stack) => {
        const cfg = parseClusterConfig(stackConfig(stack));
        expect(cfg.nodes.map((n) => n.name)).toEqual([
            "cluster1", "master2", "cluster2", "cluster3", "cluster4", "cluster5", "nas", "san1", "san2", "san3",
        ]);
        expect(cfg.networks.internal.vip).toBe("10.0.100.200");
        expect(cfg.networks.external.vip).toBe("192.168.1.200");
        expect(cfg.roles.directors).toEqual(["cluster1", "master2"]);
        const nas = cfg.nodes.find((n) => n.name === "nas");
        expect(nas?.bond).toEqual({ slaves: 2, mode: "802.3ad", miimon: 100, lacpRate: "fast", mtu: 9000 });
        expect(cfg.nodes.find((n) => n.name === "san2")?.disks).toEqual([{ sizeMb: 1024 }, { sizeMb: 1024 }]);
        expect(cfg.backend).toBe(stack === "local" ? "nspawn" : "virtualbox");
    });

    it("refuses keys of its namespace that nothing reads, naming the key and the known ones", () => {
        const problems = unknownKeyProblems(["thesis-cluster:nodes", "thesis-cluster:frontdoor", "thesis-cluster:condr", "thesis-cluster:sshPrivateKey", "cluster:other", "aws:region"]);
        expect(problems).toHaveLength(2);
        expect(problems[0]).toMatch(/^thesis-cluster:condr: unknown key; the known keys are backend, machinesFrom, networks, .*condor.*sshPrivateKey$/);
        expect(problems[1]).toMatch(/^thesis-cluster:frontdoor: unknown key \(did you mean thesis-cluster:frontDoor\?\); the known keys are /);
        expect(unknownKeyProblems(Object.keys(stackConfig("lab")).map((k) => `thesis-cluster:${k}`))).toEqual([]);
    });

    it("defaults memory by role and cpus to 1", () => {
        const cfg = parseClusterConfig(variant((c) => {
            delete c.nodes[0].memoryMb;
            delete c.nodes[2].memoryMb;
        }));
        expect(cfg.nodes[0]).toMatchObject({ memoryMb: 1024, cpus: 1 });
        expect(cfg.nodes[2]).toMatchObject({ memoryMb: 512, cpus: 1 });
    });

    it("rolls changes to the compute nodes one at a time unless told otherwise, and refuses a batch of 0", () => {
        expect(parseClusterConfig(variant(() => undefined)).rollout).toEqual({ batchSize: 1 });
        expect(parseClusterConfig({ ...variant(() => undefined), rollout: { batchSize: 2 } }).rollout).toEqual({ batchSize: 2 });
        expect(problems({ ...variant(() => undefined), rollout: { batchSize: 0 } })).toEqual([expect.stringMatching(/^thesis-cluster:rollout\.batchSize: 0 /)]);
    });

    it("refuses a duplicate node name", () => {
        expect(problems(variant((c) => { c.nodes[3].name = "cluster2"; }))).toContain(
            'thesis-cluster:nodes[3].name: "cluster2" is a duplicate of nodes[2]',
        );
    });

    it("refuses a duplicate address", () => {
        expect(problems(variant((c) => { c.nodes[5].addresses.internal = "10.0.100.3"; }))).toEqual([
            "thesis-cluster:nodes[5].addresses.internal: \"10.0.100.3\" is already cluster3's internal address",
        ]);
    });

    it("refuses an address outside its network", () => {
        expect(problems(variant((c) => { c.nodes[7].addresses.internal = "10.0.200.6"; }))).toEqual([
            'thesis-cluster:nodes[7].addresses.internal: "10.0.200.6" is outside network internal (10.0.100.0/24)',
        ]);
    });

    it("refuses the network and broadcast addresses", () => {
        expect(problems(variant((c) => { c.nodes[2].addresses.internal = "10.0.100.255"; }))).toEqual([
            'thesis-cluster:nodes[2].addresses.internal: "10.0.100.255" is the broadcast address of 10.0.100.0/24',
        ]);
    });

    it("refuses a VIP that collides with a node address", () => {
        expect(problems(variant((c) => { c.networks.internal.vip = "10.0.100.50"; }))).toEqual([
            'thesis-cluster:nodes[1].addresses.internal: "10.0.100.50" is already the internal VIP',
        ]);
    });

    it("refuses the thesis' typo: master2's VIP as 100.0.100.200", () => {
        expect(problems(variant((c) => { c.networks.internal.vip = "100.0.100.200"; }))).toEqual([
            'thesis-cluster:networks.internal.vip: "100.0.100.200" is outside network internal (10.0.100.0/24)',
        ]);
    });

    it("refuses a role that names an unknown node", () => {
        expect(problems(variant((c) => { c.roles.compute[1] = "cluster9"; }))).toEqual([
            'thesis-cluster:roles.compute[1]: "cluster9" is not a node in thesis-cluster:nodes',
        ]);
    });

    it("refuses too few nodes for a role", () => {
        expect(problems(variant((c) => { c.roles.directors = ["cluster1"]; }))).toEqual([
            'thesis-cluster:roles.directors: ["cluster1"] must name exactly 2 node(s)',
        ]);
        expect(problems(variant((c) => { c.roles.san = []; }))).toEqual([
            "thesis-cluster:roles.san: [] must name at least 1 node(s)",
        ]);
    });

    it("refuses a node in two roles", () => {
        expect(problems(variant((c) => { c.roles.san[0] = "cluster2"; }))).toEqual([
            'thesis-cluster:roles.san[0]: "cluster2" already has role compute',
        ]);
    });

    it("refuses a director without an external address", () => {
        expect(problems(variant((c) => { delete c.nodes[1].addresses.external; }))).toEqual([
            "thesis-cluster:nodes[1].addresses.external: (unset) is required: master2 is a director and holds the external VIP",
        ]);
    });

    it("refuses malformed addresses and networks", () => {
        expect(problems(variant((c) => { c.nodes[4].addresses.internal = "10.0.100.300"; }))).toEqual([
            'thesis-cluster:nodes[4].addresses.internal: "10.0.100.300" is not an IPv4 address',
        ]);
        expect(problems(variant((c) => { c.networks.external.cidr = "192.168.1.0/33"; }))).toContain(
            'thesis-cluster:networks.external.cidr: "192.168.1.0/33" is not an IPv4 network in CIDR form (like 10.0.100.0/24)',
        );
        expect(problems(variant((c) => { c.networks.internal.cidr = "10.0.100.7/24"; }))).toContain(
            'thesis-cluster:networks.internal.cidr: "10.0.100.7/24" has host bits set; the network is 10.0.100.0/24',
        );
    });

    it("refuses wrong types, unknown keys and bad names, naming key and value", () => {
        expect(problems(variant((c) => { c.nodes[0].memoryMb = "lots"; }))).toEqual([
            'thesis-cluster:nodes[0].memoryMb: "lots" Invalid input: expected number, received string',
        ]);
        expect(problems(variant((c) => { c.nodes[0].nics = 3; }))[0]).toMatch(
            /^thesis-cluster:nodes\[0\]: .* Unrecognized key: "nics"$/,
        );
        expect(problems(variant((c) => { c.nodes[2].name = "Cluster_2"; }))[0]).toMatch(
            /^thesis-cluster:nodes\[2\]\.name: "Cluster_2" must be a host name/,
        );
        expect(problems(variant((c) => { c.backend = "docker"; }))[0]).toMatch(
            /^thesis-cluster:backend: "docker" Invalid option: expected one of "nspawn"\|"virtualbox"\|"existing"$/,
        );
    });

    it("needs ssh endpoints with the existing backend, and only there", () => {
        const msgs = problems(variant((c) => { c.backend = "existing"; }));
        expect(msgs).toHaveLength(10);
        expect(msgs[0]).toBe('thesis-cluster:nodes[0].ssh: (unset) is required with backend "existing" (or thesis-cluster:machinesFrom): how to reach cluster1');
        expect(problems(variant((c) => { c.nodes[0].ssh = { host: "h", hostKey: KEY }; }))).toEqual([
            `thesis-cluster:nodes[0].ssh: {"host":"h","hostKey":"${KEY}"} is only used with backend "existing" (backend is "nspawn")`,
        ]);
    });

    it("takes the existing hosts from another stack (machinesFrom) instead of nodes[].ssh, and only with backend existing", () => {
        const cfg = parseClusterConfig(variant((c) => { c.backend = "existing"; c.machinesFrom = "organization/thesis-cluster/local"; }));
        expect(cfg.machinesFrom).toBe("organization/thesis-cluster/local");
        expect(cfg.nodes.every((n) => n.ssh === undefined)).toBe(true);
        expect(problems(variant((c) => (c.machinesFrom = "local")))).toEqual(['thesis-cluster:machinesFrom: "local" is only used with backend "existing" (backend is "nspawn")']);
        expect(problems(variant((c) => { c.backend = "existing"; c.machinesFrom = "a/b/c/d"; }))).toEqual([
            'thesis-cluster:machinesFrom: "a/b/c/d" must be a stack name: STACK (of this project) or ORGANIZATION/PROJECT/STACK',
        ]);
        expect(problems(variant((c) => { c.backend = "existing"; c.machinesFrom = "local"; c.nodes[1].ssh = { host: "h", hostKey: KEY }; }))).toEqual([
            `thesis-cluster:nodes[1].ssh: {"host":"h","hostKey":"${KEY}"} is not used with machinesFrom: master2 is reached as stack local says`,
        ]);
    });

    it("pins a host key for every existing host and checks jump hosts", () => {
        const existing = (edit: (c: any) => void) => // eslint-disable-line @typescript-eslint/no-explicit-any
            variant((c) => {
                c.backend = "existing";
                c.nodes.forEach((n: { name: string; ssh?: object }) => (n.ssh = { host: `${n.name}.lab`, hostKey: KEY }));
                edit(c);
            });
        const cfg = parseClusterConfig(existing((c) => (c.nodes[2].ssh.proxy = "cluster1")));
        expect(cfg.nodes[2].ssh).toEqual({ host: "cluster2.lab", port: 22, user: "root", hostKey: KEY, proxy: "cluster1" });
        expect(problems(existing((c) => (c.nodes[2].ssh.hostKey = "AAAA")))).toEqual([
            'thesis-cluster:nodes[2].ssh.hostKey: "AAAA" must be a public key line like "ssh-ed25519 AAAA…" (from ssh-keyscan)',
        ]);
        expect(problems(existing((c) => (c.nodes[2].ssh.proxy = "gateway")))).toEqual([
            'thesis-cluster:nodes[2].ssh.proxy: "gateway" is not a node in thesis-cluster:nodes',
        ]);
        expect(problems(existing((c) => {
            c.nodes[2].ssh.proxy = "cluster1";
            c.nodes[3].ssh.proxy = "cluster2";
        }))).toEqual([
            'thesis-cluster:nodes[3].ssh.proxy: "cluster2" must be another node that is reached without a jump host',
        ]);
    });

    it("takes an absolute image cache directory only", () => {
        expect(parseClusterConfig(variant((c) => (c.imageCacheDir = "/srv/images"))).imageCacheDir).toBe("/srv/images");
        expect(problems(variant((c) => (c.imageCacheDir = "images")))).toEqual([
            'thesis-cluster:imageCacheDir: "images" must be an absolute path',
        ]);
    });

    it("gives the front door the thesis' numbers by default", () => {
        expect(parseClusterConfig(stackConfig("local")).frontDoor).toEqual({
            domain: "cluster",
            sshPort: 2000,
            statsPort: 9000,
            monitoringPort: 9090,
            checkIntervalMs: 1000,
            vrrp: { priorities: [101, 100], advertInterval: 0.2, routerIds: { internal: 52, external: 51 } },
            pxe: false,
            dnsUpstream: [],
        });
    });

    it("refuses front door numbers that collide", () => {
        expect(problems(variant((c) => (c.frontDoor = { vrrp: { priorities: [100, 101], routerIds: { internal: 7, external: 7 } }, statsPort: 2000, dnsUpstream: ["dns"] })))).toEqual([
            'thesis-cluster:frontDoor.vrrp.priorities: [100,101] must give the first director (MASTER) the higher priority',
            "thesis-cluster:frontDoor.vrrp.routerIds.external: 7 must differ from the internal instance's router id",
            "thesis-cluster:frontDoor.statsPort: 2000 must differ from frontDoor.sshPort",
            'thesis-cluster:frontDoor.dnsUpstream[0]: "dns" is not an IPv4 address',
        ]);
        expect(problems(variant((c) => (c.frontDoor = { monitoringPort: 9000 })))).toEqual([
            "thesis-cluster:frontDoor.monitoringPort: 9000 must differ from frontDoor.sshPort and frontDoor.statsPort",
        ]);
        expect(problems(variant((c) => (c.frontDoor = { vrrp: { advertInterval: 0 } })))).toEqual([
            "thesis-cluster:frontDoor.vrrp.advertInterval: 0 Too small: expected number to be >=0.01",
        ]);
    });

    it("gives the thesis' Gluster volumes by default and refuses impossible ones", () => {
        expect(parseClusterConfig(stackConfig("local")).storage.volumes.map((v) => [v.name, v.type, v.disk, v.mount])).toEqual([
            ["gv0", "replicate", 0, "/mnt/gfs-r"],
            ["gv1", "distribute", 1, "/mnt/gfs-d"],
        ]);
        const vols = (v: object[]) => variant((c) => (c.storage = { volumes: v }));
        expect(problems(vols([{ name: "gv0", type: "replicate", replica: 4, disk: 0, mount: "/mnt/a" }]))).toEqual([
            "thesis-cluster:storage.volumes[0].replica: 4 is larger than the 3 bricks of roles.san",
        ]);
        expect(problems(vols([
            { name: "gv0", type: "replicate", replica: 2, disk: 0, mount: "/mnt/a" },
            { name: "gv0", type: "distribute", disk: 2, mount: "/mnt/a" },
        ]))).toEqual([
            "thesis-cluster:storage.volumes[0].replica: 2 must divide the 3 bricks of roles.san",
            'thesis-cluster:storage.volumes[1].name: "gv0" is already used by volume gv0',
            'thesis-cluster:storage.volumes[1].mount: "/mnt/a" is already used by volume gv0',
            "thesis-cluster:storage.volumes[1].disk: 2 needs a disk 3 on every SAN node of the volume, and san1 has 2",
        ]);
        // A volume on some SAN nodes: each of roles.san, once; the replica count divides them.
        expect(parseClusterConfig(vols([{ name: "gv0", type: "replicate", replica: 2, disk: 0, mount: "/mnt/a", nodes: ["san1", "san2"] }])).storage.volumes[0].nodes).toEqual(["san1", "san2"]);
        expect(problems(vols([{ name: "gv0", type: "replicate", replica: 2, disk: 0, mount: "/mnt/a", nodes: ["san1", "nas", "san1", "san2"] }]))).toEqual([
            'thesis-cluster:storage.volumes[0].nodes[1]: "nas" is not in roles.san',
            'thesis-cluster:storage.volumes[0].nodes[2]: "san1" is listed twice',
        ]);
        expect(problems(vols([{ name: "gv0", type: "replicate", replica: 2, disk: 0, mount: "/mnt/a", nodes: ["san3"] }]))).toEqual([
            "thesis-cluster:storage.volumes[0].replica: 2 is larger than the 1 bricks of the volume's nodes",
        ]);
    });

    it("puts homes on the replicated volume on nspawn, on /nfs elsewhere, and refuses duplicate users", () => {
        expect(parseClusterConfig(stackConfig("local")).identity).toEqual({
            nisDomain: "cluster",
            homeBase: "/mnt/gfs-r/home",
            users: [{ name: "jordi", uid: 2001, sshKeys: [] }],
        });
        expect(parseClusterConfig(stackConfig("lab")).identity.homeBase).toBe("/nfs");
        expect(problems(variant((c) => (c.identity = { users: [{ name: "ana", uid: 2001 }, { name: "ana", uid: 2001 }, { name: "Bob", uid: 5 }] })))).toEqual([
            'thesis-cluster:identity.users[2].name: "Bob" must be a login name: lower-case letter or \'_\', then letters, digits, \'_\' or \'-\'',
            "thesis-cluster:identity.users[2].uid: 5 Too small: expected number to be >=1000",
        ]);
        expect(problems(variant((c) => (c.identity = { users: [{ name: "ana", uid: 2001 }, { name: "ana", uid: 2001 }] })))).toEqual([
            'thesis-cluster:identity.users[1].name: "ana" is already used by user ana',
            "thesis-cluster:identity.users[1].uid: 2001 is already used by user ana",
        ]);
    });

    it("gives the HTCondor pool the thesis' domains and HA managers by default, and refuses bad values", () => {
        expect(parseClusterConfig(stackConfig("local")).condor).toEqual({
            poolName: "thesis-cluster",
            uidDomain: "cluster",
            filesystemDomain: "cluster",
            highAvailability: true,
            tuned: true,
            negotiatorInterval: 2,
            jobLeaseSeconds: 20,
            benchmarks: false,
            drainTimeoutSeconds: 600,
        });
        expect(parseClusterConfig(variant((c) => (c.frontDoor = { domain: "lab.example" }))).condor.uidDomain).toBe("lab.example");
        expect(problems(variant((c) => (c.condor = { poolName: "", uidDomain: "Cluster", negotiatorInterval: 0, drainTimeoutSeconds: -1, schedd: "x" })))).toEqual([
            'thesis-cluster:condor.poolName: "" must be letters, digits, spaces, \'.\', \'_\' or \'-\'',
            'thesis-cluster:condor.uidDomain: "Cluster" must be a DNS domain of lower-case labels',
            "thesis-cluster:condor.negotiatorInterval: 0 Too small: expected number to be >=1",
            "thesis-cluster:condor.drainTimeoutSeconds: -1 Too small: expected number to be >=0",
            'thesis-cluster:condor: {"poolName":"","uidDomain":"Cluster","negotiatorInterval":0,"drainTimeoutSeconds":-1,"schedd":"x"} Unrecognized key: "schedd"',
        ]);
    });

    it("keeps MOSIX off unless a tarball is named, and checks its nodes (MOSIX itself cannot run here)", () => {
        expect(parseClusterConfig(stackConfig("local")).mosix).toEqual({
            installCommand: "./mosix.install",
            service: "mosix",
            nodes: ["cluster1", "cluster2", "cluster3", "cluster4", "cluster5"],
        });
        expect(problems(variant((c) => (c.mosix = { tarball: "MOSIX-4.4.4.tbz", nodes: ["cluster2", "nobody", "cluster2"] })))).toEqual([
            'thesis-cluster:mosix.tarball: "MOSIX-4.4.4.tbz" must be an absolute path to a .tbz, .tar.bz2, .tgz, .tar.gz, .tar.xz or .tar file',
        ]);
        expect(problems(variant((c) => (c.mosix = { tarball: "/srv/MOSIX-4.4.4.tbz", nodes: ["cluster2", "nobody", "cluster2"] })))).toEqual([
            'thesis-cluster:mosix.nodes[1]: "nobody" is not a node in thesis-cluster:nodes',
            'thesis-cluster:mosix.nodes[2]: "cluster2" is listed twice',
        ]);
        const cfg = parseClusterConfig(variant((c) => (c.mosix = { tarball: "/nonexistent/MOSIX-4.4.4.tbz" })));
        expect(localFileProblems(cfg)).toEqual(['thesis-cluster:mosix.tarball: "/nonexistent/MOSIX-4.4.4.tbz" does not exist on this machine']);
        expect(localFileProblems(parseClusterConfig(stackConfig("local")))).toEqual([]);
    });

    it("runs HTCondor alone unless Slurm is named, and checks the job managers before anything is touched", () => {
        // The project's stacks run both; a config that does not say runs the thesis' HTCondor alone.
        expect(parseClusterConfig(stackConfig("local")).jobs).toEqual({ schedulers: ["htcondor", "slurm"] });
        const cfg = parseClusterConfig(variant((c) => delete c.jobs));
        expect(cfg.jobs).toEqual({ schedulers: ["htcondor"] });
        expect(cfg.slurm).toEqual({
            clusterName: "thesis-cluster",
            partition: "compute",
            accountingHost: "nas",
            controllerTimeoutSeconds: 6,
            nodeTimeoutSeconds: 20,
            drainTimeoutSeconds: 600,
            requeueDelaySeconds: 10,
        });
        expect(problems(variant((c) => (c.jobs = { schedulers: ["htcondor", "torque"] })))[0]).toMatch(/^thesis-cluster:jobs\.schedulers\[1\]: "torque" /);
        expect(problems(variant((c) => (c.jobs = { schedulers: ["slurm", "slurm"] })))).toEqual(['thesis-cluster:jobs.schedulers[1]: "slurm" is listed twice']);
        expect(problems(variant((c) => ((c.jobs = { schedulers: ["slurm"] }), (c.slurm = { accountingHost: "db1" }))))).toEqual(['thesis-cluster:slurm.accountingHost: "db1" is not a node in thesis-cluster:nodes']);
        expect(problems(variant((c) => ((c.jobs = { schedulers: ["slurm"] }), (c.roles.compute = []))))).toContain(
            'thesis-cluster:jobs.schedulers: ["slurm"] includes slurm, but roles.compute is empty: Slurm needs a compute node to run jobs on',
        );
        expect(problems(variant((c) => (c.slurm = { partition: "Compute" })))[0]).toMatch(/^thesis-cluster:slurm\.partition: "Compute" must be lower-case/);
        expect(problems(variant((c) => (c.slurm = { requeueDelaySeconds: 2 })))[0]).toMatch(/^thesis-cluster:slurm\.requeueDelaySeconds: 2 /);
        // The backup controller reads the primary's state on a replicated volume.
        expect(
            problems(
                variant((c) => {
                    c.jobs = { schedulers: ["slurm"] };
                    c.storage = { volumes: [{ name: "gv1", type: "distribute", disk: 1, mount: "/mnt/gfs-d" }] };
                    c.identity = { ...c.identity, homeBase: "/mnt/gfs-d/home" };
                }),
            ),
        ).toContain(
            'thesis-cluster:jobs.schedulers: ["slurm"] includes slurm with two controllers, but storage.volumes has no replicated volume: the backup slurmctld reads the primary\'s state and heartbeat there (StateSaveLocation)',
        );
    });

    it("refuses a Slurm compute node with more memory or CPUs than a nspawn machine has (the host's)", () => {
        const slurm = parseClusterConfig(variant((c) => ((c.jobs = { schedulers: ["htcondor", "slurm"] }), (c.nodes[2].memoryMb = 4096), (c.nodes[3].cpus = 4))));
        expect(hostLimitProblems(slurm, { memoryMb: 24000, cpus: 4 })).toEqual([]);
        expect(hostLimitProblems(slurm, { memoryMb: 2048, cpus: 2 })).toEqual([
            "thesis-cluster:nodes[2].memoryMb: 4096 is more than the 2048 MiB this host has (a nspawn machine has the host's memory; slurmd would report less than slurm.conf says, and Slurm would drain cluster2)",
            "thesis-cluster:nodes[3].cpus: 4 is more than the 2 CPUs this host has (a nspawn machine has the host's CPUs; Slurm would drain cluster3)",
        ]);
        // HTCondor alone takes the config as it is; so do other backends (a VM has what it is given).
        const condor = parseClusterConfig(variant((c) => ((c.jobs = { schedulers: ["htcondor"] }), (c.nodes[2].memoryMb = 4096))));
        expect(hostLimitProblems(condor, { memoryMb: 2048, cpus: 2 })).toEqual([]);
        expect(hostLimitProblems({ ...slurm, backend: "virtualbox" }, { memoryMb: 2048, cpus: 2 })).toEqual([]);
    });

    it("reports every problem at once", () => {
        const msgs = problems(variant((c) => {
            c.nodes[3].name = "cluster2";
            c.nodes[5].addresses.internal = "10.0.100.3";
        }));
        expect(msgs).toEqual([
            'thesis-cluster:nodes[5].addresses.internal: "10.0.100.3" is already cluster2\'s internal address',
            'thesis-cluster:nodes[3].name: "cluster2" is a duplicate of nodes[2]',
            'thesis-cluster:roles.compute[1]: "cluster3" is not a node in thesis-cluster:nodes',
        ]);
    });
});
