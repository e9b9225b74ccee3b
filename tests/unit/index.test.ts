import * as fs from "fs";
import * as path from "path";
import { installMocks, mockDevices, PROVIDER_OUTPUTS, Registered, remoteCommandsGolden, registered, useStackConfig, valueOf } from "./mocks";
import { stackConfig } from "./stackfiles";

describe("program", () => {
    let seen: Registered[];
    let program: typeof import("../../index");

    beforeAll(async () => {
        seen = installMocks(PROVIDER_OUTPUTS, "unit", (args) =>
            args.type === "cluster:nspawn:Machine" ? { hostKey: `ssh-ed25519 HOST${args.name}`, devices: mockDevices(args.inputs) } : {},
        );
        useStackConfig(stackConfig("local"));
        program = await import("../../index");
    }, 60_000);

    it("generates the stack's SSH key pair in the provider, at the pinned provider version", async () => {
        const key = seen.find((r) => r.type === "cluster:index:SshKeyPair");
        expect(key?.name).toBe("admin-key");
        expect(key?.inputs.comment).toBe("thesis-cluster-unit");
        expect(await valueOf(program.adminPublicKey)).toBe("ssh-ed25519 AAAA test");
    });

    it("exports every node with its role, addresses, SSH endpoint, host key and state, and both VIPs", async () => {
        expect(Object.keys(program.nodes)).toHaveLength(10);
        const nas = program.nodes.nas;
        expect(nas.role).toBe("nas");
        expect(nas.addresses).toEqual({ internal: "10.0.100.100" });
        expect(await valueOf(nas.ssh)).toEqual({
            host: "10.0.100.100",
            port: 22,
            user: "root",
            proxy: { host: "192.168.1.101", port: 22, user: "root" },
        });
        expect(await valueOf(nas.hostKey)).toBe("ssh-ed25519 HOSTnas");
        expect(await valueOf(nas.state)).toBe("running");
        expect(await valueOf(program.nodes.master2.ssh)).toEqual({ host: "192.168.1.102", port: 22, user: "root" });
        expect(program.vips).toEqual({ internal: "10.0.100.200", external: "192.168.1.200" });
    });

    it("makes users' homes only once the replicated volume that holds them is mounted on the nas; users and maps wait for no storage", async () => {
        await registered(seen, "homes-nas");
        const deps = (name: string) => seen.find((r) => r.type === "cluster:remote:Command" && r.name === name)!.dependencies.map((u) => u.split("::").pop());
        expect(deps("homes-nas")).toContain("gluster-mounts-nas");
        expect(deps("nis-master-nas").filter((d) => /^(gluster|nfs)-/.test(d!))).toEqual([]);
        expect(deps("nis-client-cluster2").filter((d) => /^(gluster|nfs|homes)-/.test(d!))).toEqual([]);
    });

    it("brings Slurm's controllers up and gives them a new slurm.conf one at a time, the primary first; the state's volume mounted first", async () => {
        await registered(seen, "slurmd-cluster5");
        const deps = (name: string) => seen.find((r) => r.type === "cluster:remote:Command" && r.name === name)!.dependencies.map((u) => u.split("::").pop());
        expect(deps("slurm-master2")).toContain("slurm-cluster1");
        expect(deps("slurm-cluster1")).not.toContain("slurm-master2");
        expect(deps("slurmctld-master2")).toContain("slurmctld-cluster1");
        expect(deps("slurmctld-cluster1")).toEqual(expect.arrayContaining(["slurmdbd-nas", "slurm-cluster1", "gluster-mounts-cluster1"]));
        expect(deps("slurmd-cluster5")).toEqual(expect.arrayContaining(["slurmctld-cluster1", "slurmctld-master2", "slurm-cluster5"]));
        // Compute nodes and the nas take their files beside the primary.
        expect(deps("slurm-cluster2").filter((d) => /^slurm(ctld)?-(cluster|master)/.test(d!))).toEqual([]);
    });

    it("rolls the directors one at a time: the master's front-door steps wait for every one of the backup's", async () => {
        await registered(seen, "keepalived-cluster1");
        const deps = (name: string) => seen.find((r) => r.type === "cluster:remote:Command" && r.name === name)!.dependencies;
        const waitsFor = (name: string, other: string) => deps(name).some((u) => u.endsWith(`::${other}`));
        const backup = ["dnsmasq-master2", "nat-master2", "haproxy-master2", "keepalived-master2"];
        for (const step of ["dnsmasq-cluster1", "nat-cluster1", "haproxy-cluster1", "keepalived-cluster1"]) {
            expect([step, backup.filter((b) => !waitsFor(step, b))]).toEqual([step, []]);
        }
        expect(waitsFor("keepalived-cluster1", "haproxy-cluster1")).toBe(true);
        expect(waitsFor("keepalived-master2", "haproxy-master2")).toBe(true);
        // The backup waits for nothing of the master's.
        for (const step of backup) expect([step, deps(step).filter((u) => u.includes("cluster1") && !u.endsWith("cluster1-ready"))]).toEqual([step, []]);
    });

    it("puts the compute nodes' sshd, ypbind and HTCondor steps in one rollout group, one node at a time by default; nothing else", async () => {
        await registered(seen, "condor-cluster5");
        const rollout = (name: string) => seen.find((r) => r.type === "cluster:remote:Command" && r.name === name)!.inputs.rollout;
        for (const n of ["cluster2", "cluster3", "cluster4", "cluster5"]) {
            for (const step of ["sshd", "nis-client", "condor"]) expect([`${step}-${n}`, rollout(`${step}-${n}`)]).toEqual([`${step}-${n}`, { group: "compute", batch: 1 }]);
        }
        for (const step of ["sshd-cluster1", "condor-master2", "nis-client-nas", "haproxy-cluster1", "gluster-mounts-cluster2"]) expect([step, rollout(step)]).toEqual([step, undefined]);
    });

    it("drains a compute node leaving the pool before anything on it goes, and skips that on destroy", async () => {
        await registered(seen, "drain-cluster5");
        const cmd = (name: string) => seen.find((r) => r.type === "cluster:remote:Command" && r.name === name)!;
        for (const n of ["cluster2", "cluster3", "cluster4", "cluster5"]) {
            const drain = cmd(`drain-${n}`);
            // Its delete runs first: it waits for the node's pool, users, sshd and homes, which stay until it is done.
            const waited = ["condor", "nis-client", "sshd", "gluster-mounts", "names"].filter((s) => !drain.dependencies.some((u) => u.endsWith(`::${s}-${n}`)));
            expect([n, waited]).toEqual([n, []]);
            expect(drain.inputs.delete).toContain(`condor_drain -graceful -reason 'thesis-cluster: ${n} leaves roles.compute'`);
            expect(drain.inputs.timeoutSeconds).toBe(600 + 120);
            // Only a destroy removes the key pair: then nothing is drained.
            expect(drain.deletedWith).toMatch(/::admin-key$/);
        }
        expect(seen.filter((r) => r.name.startsWith("drain-") && r.type === "cluster:remote:Command").map((r) => r.name).sort()).toEqual(
            ["cluster2", "cluster3", "cluster4", "cluster5"].map((n) => `drain-${n}`),
        );
        // Every other step is skipped when its machine goes with it.
        expect(cmd("haproxy-cluster1").deletedWith).toMatch(/cluster:nspawn:Machine::cluster1$/);
        expect(cmd("condor-cluster5").deletedWith).toMatch(/cluster:nspawn:Machine::cluster5$/);
    });

    it("hands each nspawn machine the networkd files a VM's seed carries, rendered from the one template", async () => {
        const machine = () => seen.find((r) => r.type === "cluster:nspawn:Machine" && r.name === "cluster1");
        for (let i = 0; i < 100 && !machine(); i++) await new Promise((r) => setTimeout(r, 50));
        const m = machine()!;
        expect(m.inputs.guestFiles).toEqual([
            { path: "/etc/systemd/network/10-eth0.network", content: expect.stringContaining("Name=eth0\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\nAddress=10.0.100.1/24\n") },
            { path: "/etc/systemd/network/10-eth1.network", content: expect.stringContaining("Address=192.168.1.101/24\nGateway=192.168.1.1\n") },
        ]);
    });

    it("says MOSIX is off, and why, when no tarball is named", () => {
        expect(program.mosixStatus).toEqual({ enabled: false, nodes: [], note: expect.stringMatching(/^off: thesis-cluster:mosix.tarball is not set/) });
        expect(seen.filter((r) => r.type.startsWith("cluster:") && r.name.startsWith("mosix"))).toEqual([]);
    });

    it("converges the same services as the lab stack (tests/golden/remote-commands.txt)", async () => {
        await registered(seen, "condor-cluster5");
        const { got, want } = remoteCommandsGolden(seen);
        expect(got).toEqual(want);
    });

    it("uses the provider version written in plugins/VERSION", async () => {
        const { PROVIDER_VERSION } = await import("../../components/provider");
        const file = fs.readFileSync(path.join(__dirname, "../../plugins/VERSION"), "utf8").trim();
        expect(PROVIDER_VERSION).toBe(file);
        expect(PROVIDER_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    });
});
