import { bootsFromNetwork } from "../../components/backends/virtualbox/seed";
import { installMocks, mockDevices, PROVIDER_OUTPUTS, Registered, remoteCommandsGolden, registered, useStackConfig, valueOf } from "./mocks";
import { planOf, stackConfig } from "./stackfiles";

/** Secret inputs arrive wrapped in the mocks. */
const plain = (v: unknown): string => (typeof v === "object" && v !== null && "value" in v ? String((v as { value: unknown }).value) : String(v));

// The lab stack's program with the provider mocked: the VirtualBox machine
// layer under the same service components as the local stack.
describe("program on the virtualbox backend (lab stack)", () => {
    let seen: Registered[];
    let program: typeof import("../../index");

    beforeAll(async () => {
        seen = installMocks(PROVIDER_OUTPUTS, "lab", (args) =>
            args.type === "cluster:vbox:HostOnlyNetwork" ? { interface: "vboxnet0" } : // Disk names other than the nspawn machines': services must take the backend's.
            args.type === "cluster:vbox:Machine" ? { devices: mockDevices(args.inputs, "/dev/vd") } : {},
        );
        useStackConfig(stackConfig("lab"));
        program = await import("../../index");
        await registered(seen, "condor-cluster5");
    }, 60_000);

    const of = (type: string) => seen.filter((r) => r.type === type);

    it("makes the 10 VMs with the thesis' NICs and disks, on an internal network and a host-only one", () => {
        expect(of("cluster:vbox:HostOnlyNetwork").map((r) => r.inputs)).toEqual([{ hostAddress: "192.168.1.1", netmask: "255.255.255.0" }]);
        const vms = Object.fromEntries(of("cluster:vbox:Machine").map((r) => [r.name, r.inputs as Record<string, any>])); // eslint-disable-line @typescript-eslint/no-explicit-any
        expect(Object.keys(vms).sort()).toEqual(["cluster1", "cluster2", "cluster3", "cluster4", "cluster5", "master2", "nas", "san1", "san2", "san3"]);
        expect(vms.cluster1.nics.map((n: { kind: string; network: string }) => [n.kind, n.network])).toEqual([
            ["intnet", "thesis-cluster-lab-internal"],
            ["hostonly", "vboxnet0"],
        ]);
        expect(vms.nas.nics.map((n: { kind: string }) => n.kind)).toEqual(["intnet", "intnet"]); // two NICs for the bond
        expect(vms.san2.disks).toEqual([{ sizeMb: 1024 }, { sizeMb: 1024 }]);
        expect([vms.cluster1.memoryMb, vms.cluster3.memoryMb]).toEqual([1024, 512]);
        expect(vms.cluster3.networkBoot).toBe(false);
        expect(vms.cluster3.baseImage).toMatch(/\/\.cache\/thesis-cluster\/debian-13-thesis-cluster\.vdi$/);
        expect(vms.cluster3.baseFolder).toMatch(/\/VirtualBox VMs\/thesis-cluster-lab$/);
        expect(vms.cluster3.networkConfig).toContain("config: disabled");
        expect(vms.cluster3.metaData).toBe("instance-id: thesis-cluster-lab-cluster3\nlocal-hostname: cluster3\n");
        expect(program.networks).toEqual({
            internal: { cidr: "10.0.100.0/24", virtualbox: "thesis-cluster-lab-internal" },
            external: { cidr: "192.168.1.0/24", virtualbox: expect.anything() },
        });
    });

    it("formats and mounts the disks by the names the VMs report, not names of its own", async () => {
        const script = (name: string) => plain(seen.find((r) => r.type === "cluster:remote:Command" && r.name === name)!.inputs.create);
        await registered(seen, "nfs-server-nas");
        expect(script("gluster-bricks-san1")).toContain("mkfs.xfs -q -i size=512 /dev/vdc");
        expect(script("gluster-bricks-san1")).not.toContain("/dev/sd");
        expect(script("nfs-server-nas")).toContain("mkfs.xfs -q /dev/vdb");
    });

    it("makes users' homes on the nas only once /nfs is mounted there (homes live on NFS here)", () => {
        const homes = seen.find((r) => r.type === "cluster:remote:Command" && r.name === "homes-nas")!;
        expect(homes.dependencies.filter((u) => /::nfs-(client-nas|server-nas)$/.test(u)).map((u) => u.split("::").pop()).sort()).toEqual([
            "nfs-client-nas",
            "nfs-server-nas",
        ]);
    });

    it("seeds each VM with its networkd files, its own pinned host key and the stack's key", async () => {
        const vm = of("cluster:vbox:Machine").find((r) => r.name === "cluster3")!;
        const userData = plain(vm.inputs.userData);
        expect(userData).toMatch(/^#cloud-config\n/);
        expect(userData).toContain("ssh_pwauth: false");
        expect(userData).toContain("  - path: /etc/systemd/network/10-eth0.network\n    content: |\n      # Written by thesis-cluster.\n      [Match]\n      Name=eth0\n");
        expect(userData).toContain("      Address=10.0.100.3/24\n      Gateway=10.0.100.200\n");
        expect(userData).toContain("ed25519_public: ssh-ed25519 AAAA test"); // its host key (mocked)
        expect(userData).toContain("content: |\n      ssh-ed25519 AAAA test\n"); // the stack's key (mocked)
        const hostKeys = of("cluster:index:SshKeyPair").map((r) => r.name);
        expect(hostKeys).toContain("cluster3-host-key");
        expect(hostKeys).toHaveLength(11); // the stack's key and one host key per VM
        expect(await valueOf(program.nodes.cluster3.ssh)).toEqual({ host: "10.0.100.3", port: 22, user: "root", proxy: { host: "192.168.1.101", port: 22, user: "root" } });
    });

    it("converges the same services as the local stack: only the machine layer differs", () => {
        // tests/unit/index.test.ts holds the local stack's commands to the same file.
        const { got, want } = remoteCommandsGolden(seen);
        expect(got).toEqual(want);
    });
});

describe("VirtualBox network boot", () => {
    it("boots compute nodes from the network when the PXE switch is on, and nothing else", () => {
        const off = planOf(stackConfig("lab"));
        const on = planOf({ ...stackConfig("lab"), frontDoor: { pxe: true } });
        expect(on.nodes.filter((n) => bootsFromNetwork(on, n)).map((n) => n.name)).toEqual(["cluster2", "cluster3", "cluster4", "cluster5"]);
        expect(off.nodes.filter((n) => bootsFromNetwork(off, n))).toEqual([]);
    });
});
