import { parseClusterConfig } from "../../components/config";
import { hostNames } from "../../components/backends";
import { basePackages } from "../../components/backends/nspawn";
import { loginFrom, MachineSource, SourceNode, sourceStackName } from "../../components/backends/existing/source";
import { MachineLayer } from "../../components/machines";
import { clusterPlan, macOf } from "../../components/plan";
import { installMocks, Registered, valueOf } from "./mocks";
import { planOf, stackConfig } from "./stackfiles";

const cfg = parseClusterConfig(stackConfig("local"));
const plan = planOf(stackConfig("local"));
const nicPlan = (name: string) => plan.at(name).nics;

describe("the plan's NICs", () => {
    it("gives a director eth0 on the internal network and eth1 on the external one, routed via the host", () => {
        expect(nicPlan("cluster1")).toEqual([
            { name: "eth0", network: "internal", mac: macOf("cluster1", "eth0"), address: "10.0.100.1/24", gateway: undefined },
            { name: "eth1", network: "external", mac: macOf("cluster1", "eth1"), address: "192.168.1.101/24", gateway: "192.168.1.1" },
        ]);
    });

    it("routes an internal-only node through the internal VIP", () => {
        expect(nicPlan("cluster3")).toEqual([
            { name: "eth0", network: "internal", mac: macOf("cluster3", "eth0"), address: "10.0.100.3/24", gateway: "10.0.100.200" },
        ]);
    });

    it("gives every NIC a fixed, distinct unicast MAC with VirtualBox's prefix", () => {
        const macs = plan.nodes.flatMap((n) => n.nics.map((p) => p.mac));
        expect(new Set(macs).size).toBe(macs.length);
        for (const m of macs) expect(m).toMatch(/^08:00:27(:[0-9a-f]{2}){3}$/);
        expect(macOf("cluster2", "eth0")).toBe(macOf("cluster2", "eth0"));
    });

    it("gives the nas one internal NIC per bond slave, the address on eth0", () => {
        expect(nicPlan("nas").map((n) => [n.name, n.network, n.address])).toEqual([
            ["eth0", "internal", "10.0.100.100/24"],
            ["eth1", "internal", undefined],
        ]);
    });
});

describe("hostNames", () => {
    it("keeps interface names within 15 characters, whatever the stack name", () => {
        for (const stack of ["local", "e2e", "a-very-long-stack-name-for-testing"]) {
            const n = hostNames(stack);
            expect(n.bridge("internal").length).toBeLessThanOrEqual(15);
            expect(n.bridge("external").length).toBeLessThanOrEqual(15);
            expect(n.bridge("internal")).not.toBe(n.bridge("external"));
        }
        expect(hostNames("local").bridge("external")).toBe("tc-local-ex");
        expect(hostNames("local").stateDir).toBe("/var/lib/thesis-cluster/local");
        expect(hostNames("local").namespace("nas")).toBe("tc-local-nas");
    });
});

describe("basePackages", () => {
    it("reads the one package list without comments or blanks", () => {
        const pkgs = basePackages();
        expect(pkgs).toContain("openssh-server");
        expect(pkgs).toContain("glusterfs-server");
        expect(pkgs.every((p) => /^[a-z0-9][a-z0-9.+-]*$/.test(p))).toBe(true);
    });
});

describe("MachineLayer (nspawn)", () => {
    let seen: Registered[];
    let layer: MachineLayer;
    const of = (type: string, name: string) => seen.find((r) => r.type === type && r.name === name)!;

    beforeAll(() => {
        seen = installMocks(
            { "cluster:nspawn:BaseImage": { path: "/images/rootfs" }, "cluster:remote:Command": { stdout: "running\n" } },
            "local",
            (args) => (args.type === "cluster:nspawn:Machine" ? { hostKey: `ssh-ed25519 HOST${args.name}` } : {}),
        );
        layer = new MachineLayer("cluster", { cfg, plan, stack: "local", privateKey: "PRIVATE", publicKey: "ssh-ed25519 ADMIN" });
    });

    it("builds one base image, two isolated bridges with the host address only on the external one", async () => {
        await valueOf(layer.machines.cluster1.state);
        expect(seen.filter((r) => r.type === "cluster:nspawn:BaseImage")).toHaveLength(1);
        expect(of("cluster:nspawn:Network", "internal-network").inputs).toEqual({ bridge: "tc-local-in", cidr: "10.0.100.0/24" });
        expect(of("cluster:nspawn:Network", "external-network").inputs).toEqual({
            bridge: "tc-local-ex",
            cidr: "192.168.1.0/24",
            hostAddress: "192.168.1.1",
        });
    });

    it("boots every node from the image with its NICs, disks and the stack's key", async () => {
        await valueOf(layer.machines.san2.state);
        const machines = seen.filter((r) => r.type === "cluster:nspawn:Machine");
        expect(machines.map((m) => m.name).sort()).toEqual(cfg.nodes.map((n) => n.name).sort());
        const san2 = of("cluster:nspawn:Machine", "san2").inputs;
        expect(san2.image).toBe("/images/rootfs");
        expect(san2.namespace).toBe("tc-local-san2");
        expect(san2.stateDir).toBe("/var/lib/thesis-cluster/local");
        expect(san2.disks).toEqual([{ sizeMb: 1024 }, { sizeMb: 1024 }]);
        expect(san2.authorizedKeys).toEqual(["ssh-ed25519 ADMIN"]);
        expect(san2.systemCallFilter).toBeUndefined();
        expect(of("cluster:nspawn:Machine", "nas").inputs.systemCallFilter).toEqual(["open_by_handle_at", "name_to_handle_at"]);
    });

    it("reaches directors directly and internal-only nodes through the first director (the second as fallback), pinning host keys", async () => {
        const direct = await valueOf(layer.machines.master2.connection);
        expect(direct).toMatchObject({ host: "192.168.1.102", hostKeys: ["ssh-ed25519 HOSTmaster2"] });
        expect(direct.proxy).toBeUndefined();
        const viaJump = await valueOf(layer.machines.cluster4.connection);
        expect(viaJump).toMatchObject({
            host: "10.0.100.4",
            hostKeys: ["ssh-ed25519 HOSTcluster4"],
            proxy: { host: "192.168.1.101", hostKeys: ["ssh-ed25519 HOSTcluster1"] },
            proxyFallbacks: [{ host: "192.168.1.102", hostKeys: ["ssh-ed25519 HOSTmaster2"] }],
        });
    });

    it("gates each machine on a readiness command over its own connection", async () => {
        expect(await valueOf(layer.machines.nas.state)).toBe("running");
        const ready = of("cluster:remote:Command", "nas-ready").inputs;
        expect(ready.create).toContain("systemctl is-system-running --wait");
        expect((ready.connection as { host: string }).host).toBe("10.0.100.100");
    });
});

describe("MachineLayer (existing hosts)", () => {
    const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMeWQ82a3AerXhZK9NhfHt+tejVNMGZZ6B7Heu42Ut/D";
    let seen: Registered[];
    let layer: MachineLayer;

    beforeAll(() => {
        const raw = structuredClone(stackConfig("local")) as { backend: string; nodes: { name: string; ssh?: object }[] };
        raw.backend = "existing";
        raw.nodes.forEach((n) => (n.ssh = { host: `${n.name}.lab`, port: 2222, user: "admin", hostKey: `${KEY} ${n.name}` }));
        (raw.nodes[2].ssh as { proxy?: string }).proxy = "cluster1";
        seen = installMocks({ "cluster:remote:Command": { stdout: "degraded\n" } }, "lab");
        const existing = parseClusterConfig(raw);
        layer = new MachineLayer("cluster", { cfg: existing, plan: clusterPlan(existing), stack: "lab", privateKey: "OWN", publicKey: "unused" });
    });

    it("creates nothing on the hosts but the readiness gate, over the configured endpoints", async () => {
        expect(await valueOf(layer.machines.cluster2.state)).toBe("degraded");
        const types = new Set(seen.map((r) => r.type));
        expect([...types].filter((t) => t.startsWith("cluster:nspawn:"))).toEqual([]);
        expect(seen.filter((r) => r.type === "cluster:remote:Command")).toHaveLength(10);
        expect(await valueOf(layer.machines.cluster2.connection)).toEqual({
            host: "cluster2.lab",
            port: 2222,
            user: "admin",
            privateKey: "OWN",
            hostKeys: [`${KEY} cluster2`],
            proxy: { host: "cluster1.lab", port: 2222, user: "admin", privateKey: "OWN", hostKeys: [`${KEY} cluster1`] },
        });
        expect(await valueOf(layer.machines.cluster2.endpoint)).toEqual({
            host: "cluster2.lab",
            port: 2222,
            user: "admin",
            proxy: { host: "cluster1.lab", port: 2222, user: "admin" },
        });
        expect(await valueOf(layer.machines.san1.devices)).toEqual(["/dev/sdb", "/dev/sdc"]);
        expect(layer.networks.internal).toEqual({ cidr: "10.0.100.0/24" });
    });
});

describe("MachineLayer (existing hosts from another stack: machinesFrom)", () => {
    const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMeWQ82a3AerXhZK9NhfHt+tejVNMGZZ6B7Heu42Ut/D";
    // The source stack's `nodes` output as index.ts writes it: directors straight, the others through cluster1.
    const sourceNodes: Record<string, SourceNode> = Object.fromEntries(
        cfg.nodes.map((n) => {
            const direct = n.addresses.external !== undefined;
            const host = n.addresses.external ?? n.addresses.internal;
            return [n.name, { addresses: n.addresses, ssh: { host, port: 22, user: "root", ...(direct ? {} : { proxy: { host: "192.168.1.101", port: 22, user: "root" } }) }, hostKey: `${KEY} ${n.name}` }];
        }),
    );
    let seen: Registered[];
    let layer: MachineLayer;
    let source: MachineSource;

    beforeAll(() => {
        const raw = structuredClone(stackConfig("local")) as Record<string, unknown>;
        raw.backend = "existing";
        raw.machinesFrom = "local";
        seen = installMocks({ "cluster:remote:Command": { stdout: "running\n" } }, "borrower", (args) =>
            args.type === "pulumi:pulumi:StackReference" && args.name === "machines-from" ? { outputs: { nodes: sourceNodes, adminPrivateKey: "SOURCE-KEY" } } : {},
        );
        const existing = parseClusterConfig(raw);
        source = new MachineSource(existing.machinesFrom!);
        layer = new MachineLayer("cluster", { cfg: existing, plan: clusterPlan(existing), stack: "borrower", privateKey: source.privateKey, publicKey: "unused", source });
    });

    it("reads the source stack by its full name, and logs in with its key to its machines, through its jump host", async () => {
        expect(source.name).toBe("organization/thesis-cluster/local");
        const ref = seen.find((r) => r.type === "pulumi:pulumi:StackReference" && r.name === "machines-from")!;
        expect(ref.inputs.name).toBe("organization/thesis-cluster/local");
        expect(await valueOf(layer.machines.cluster3.connection)).toEqual({
            host: "10.0.100.3",
            port: 22,
            user: "root",
            privateKey: "SOURCE-KEY",
            hostKeys: [`${KEY} cluster3`],
            proxy: { host: "192.168.1.101", port: 22, user: "root", privateKey: "SOURCE-KEY", hostKeys: [`${KEY} cluster1`] },
        });
        expect(await valueOf(layer.machines.cluster3.endpoint)).toEqual({ host: "10.0.100.3", port: 22, user: "root", proxy: { host: "192.168.1.101", port: 22, user: "root" } });
        expect(await valueOf(layer.machines.master2.endpoint)).toEqual({ host: "192.168.1.102", port: 22, user: "root" });
        expect(await valueOf(layer.machines.nas.hostKey)).toBe(`${KEY} nas`);
        expect(seen.filter((r) => r.type.startsWith("cluster:nspawn:"))).toEqual([]);
    });

    it("refuses a node the source lacks, an address that differs, and a jump host that is none of its nodes, naming the key", () => {
        const spec = cfg.nodes[2];
        expect(() => loginFrom("o/p/s", undefined, spec, 2)).toThrow("thesis-cluster:machinesFrom: stack o/p/s has no `nodes` output (is it up?)");
        expect(() => loginFrom("o/p/s", { cluster1: sourceNodes.cluster1 }, spec, 2)).toThrow("thesis-cluster:machinesFrom: stack o/p/s has no node cluster2 (it has cluster1)");
        const moved = { ...sourceNodes, cluster2: { ...sourceNodes.cluster2, addresses: { internal: "10.0.100.99" } } };
        expect(() => loginFrom("o/p/s", moved, spec, 2)).toThrow('thesis-cluster:nodes[2].addresses.internal: "10.0.100.2" is not cluster2\'s address in stack o/p/s (10.0.100.99)');
        const lost = { ...sourceNodes, cluster2: { ...sourceNodes.cluster2, ssh: { ...sourceNodes.cluster2.ssh, proxy: { host: "gw", port: 22, user: "root" } } } };
        expect(() => loginFrom("o/p/s", lost, spec, 2)).toThrow("thesis-cluster:machinesFrom: stack o/p/s reaches cluster2 through gw:22, which is none of its directly reached nodes");
        expect(loginFrom("o/p/s", sourceNodes, spec, 2)).toEqual({ host: "10.0.100.2", port: 22, user: "root", hostKey: `${KEY} cluster2`, proxy: "cluster1" });
    });

    it("names a bare stack as one of this project's", () => {
        expect(sourceStackName("local", "org", "proj")).toBe("org/proj/local");
        expect(sourceStackName("other/local", "org", "proj")).toBe("org/other/local");
        expect(sourceStackName("a/b/c", "org", "proj")).toBe("a/b/c");
        expect(() => new MachineSource("borrower")).toThrow('thesis-cluster:machinesFrom: "borrower" is this stack itself');
    });
});
