import * as fs from "fs";
import { hostNames } from "../../components/backends";
import { childrenOf, hostObjects, HostSnapshot, nspawnPid, pidNamespace, processesIn, timed } from "./host";
import { Monitoring } from "./monitoring";
import { lab, TempProject } from "./project";
import { until } from "./probe";
import { NodeOutput, Ssh } from "./ssh";

// The `local` stack end to end, through the real CLI, language host and provider:
// ten systemd-nspawn machines booted on this host, reached over SSH as a user
// would, repaired after a hard kill, and removed without a trace.
describe("local stack (systemd-nspawn machines)", () => {
    const project = new TempProject("local");
    const stack = "e2e";
    const names = hostNames(stack);
    const prefix = `tc-${stack}-`;
    const times: Record<string, number> = {};
    let before: HostSnapshot;
    let nodes: Record<string, NodeOutput> = {};
    let ssh: Ssh | undefined;
    // A second project's stack on this one's outputs, from its up to its destroy (three tests below).
    const monitoring = new Monitoring(project, "e2e-monitoring");

    const output = async () => JSON.parse(await project.ok(["stack", "output", "--stack", stack, "--json"]));

    beforeAll(async () => {
        before = hostObjects(names.stateDir, prefix);
        await project.initStack(stack, "local");
    });

    afterAll(async () => {
        ssh?.remove();
        // Whatever a failed test left: destroy is the cleanup path under test too.
        await project.destroyAndRemove(stack);
        console.log(
            "local stack wall times (s): " +
                Object.entries(times)
                    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
                    .join(", "),
        );
    }, 900_000);

    it("brings up all ten machines from nothing", async () => {
        const preview = await project.ok(["preview", "--stack", stack]);
        expect(preview).toMatch(/\+\s+cluster:nspawn:Machine\s+cluster1\s+create/);
        // The first run on a host also builds the base image (a few minutes).
        await timed("cold up", times, () => project.ok(["up", "--stack", stack, "--yes", "--skip-preview"], 1_800_000));
        const out = await output();
        nodes = out.nodes;
        expect(Object.keys(nodes).sort()).toEqual(
            ["cluster1", "cluster2", "cluster3", "cluster4", "cluster5", "master2", "nas", "san1", "san2", "san3"],
        );
        for (const [name, n] of Object.entries(nodes)) {
            expect([name, n.hostKey]).toEqual([name, expect.stringMatching(/^ssh-ed25519 \S+/)]);
            expect(nspawnPid(names.stateDir, name)).toEqual(expect.any(Number));
        }
        expect(nodes.san1.disks).toEqual(["/dev/sdb", "/dev/sdc"]);
        expect(out.adminPrivateKey).toBe("[secret]");
    }, 1_900_000);

    it("keeps the private key only as ciphertext in the state", async () => {
        const state = await project.ok(["stack", "export", "--stack", stack]);
        expect(state).not.toContain("OPENSSH PRIVATE KEY");
        const key = JSON.parse(state).deployment.resources.find((r: { type: string }) => r.type === "cluster:index:SshKeyPair");
        expect(key.outputs.privateKey.ciphertext).toEqual(expect.any(String));
    });

    it("reaches every machine over SSH with pinned host keys (internal ones through the director)", async () => {
        const key = JSON.parse(await project.ok(["stack", "output", "--stack", stack, "--json", "--show-secrets"])).adminPrivateKey;
        ssh = new Ssh(key, nodes);
        const states: Record<string, string> = {};
        for (const [name, n] of Object.entries(nodes)) {
            const [host, state] = (await ssh.run(n, "hostname; systemctl is-system-running || true")).trim().split("\n");
            expect(host).toBe(name);
            states[name] = state;
        }
        console.log("systemctl is-system-running per node: " + JSON.stringify(states));
        expect(Object.values(states).every((s) => s === "running")).toBe(true);
        // Machines do not share cgroups: a unit restarted on one leaves the others' alone.
        const pids = async () =>
            Object.fromEntries(await Promise.all(Object.entries(nodes).map(async ([k, n]) => [k, (await ssh!.run(n, "systemctl show -P MainPID ssh")).trim()])));
        const sshdBefore = await pids();
        await ssh.run(nodes.cluster2, "systemctl restart ssh.service");
        const sshdAfter = await pids();
        for (const name of Object.keys(nodes).filter((k) => k !== "cluster2")) {
            expect([name, sshdAfter[name]]).toEqual([name, sshdBefore[name]]);
        }
        expect(sshdAfter.cluster2).not.toBe(sshdBefore.cluster2);
        // The extra disks are block devices the guest can use, as on a VM.
        expect((await ssh.run(nodes.san2, "lsblk -dn -o NAME /dev/sdb /dev/sdc")).split("\n").filter(Boolean)).toHaveLength(2);
        // Isolation: the lab bridges route nothing out of the host.
        for (const net of ["internal", "external"] as const) {
            const fwd = fs.readFileSync(`/proc/sys/net/ipv4/conf/${names.bridge(net)}/forwarding`, "utf8");
            expect(fwd.trim()).toBe("0");
        }
    }, 600_000);

    it("reports no changes on a second up", async () => {
        const up = await timed("no-op up", times, () =>
            project.ok(["up", "--stack", stack, "--yes", "--skip-preview", "--expect-no-changes"]),
        );
        expect(up).not.toMatch(/[+~-] \d+ (to )?(create|update|delete|replace)/);
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
    }, 600_000);

    it("refuses bad config before touching anything, and keeps what is built", async () => {
        const count = async () => JSON.parse(await project.ok(["stack", "export", "--stack", stack])).deployment.resources.length;
        const n = await count();
        await project.ok(["config", "set", "--path", "nodes[7].addresses.internal", "10.0.200.6", "--stack", stack]);
        const r = await project.pulumi(["up", "--stack", stack, "--yes"]);
        expect(r.code).not.toBe(0);
        expect(r.stdout + r.stderr).toContain(
            `thesis-cluster:nodes[7].addresses.internal: "10.0.200.6" is outside network internal (${lab("internal", 0)}/24)`,
        );
        expect(await count()).toBe(n);
        await project.ok(["config", "set", "--path", "nodes[7].addresses.internal", lab("internal", 6), "--stack", stack]);
        // A misspelt key would leave the defaults in force: it is refused the same way.
        await project.ok(["config", "set", "--path", "frontdoor.checkIntervalMs", "250", "--stack", stack]);
        const typo = await project.pulumi(["up", "--stack", stack, "--yes"]);
        expect(typo.code).not.toBe(0);
        expect(typo.stdout + typo.stderr).toContain("thesis-cluster:frontdoor: unknown key (did you mean thesis-cluster:frontDoor?)");
        expect(await count()).toBe(n);
        await project.ok(["config", "rm", "frontdoor", "--stack", stack]);
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
    }, 600_000);

    it("serves as existing hosts to a second stack that reads its outputs (machinesFrom)", async () => {
        // Backend `existing`: the same machines, found through a StackReference to this stack.
        const other = "e2e-existing";
        const local = project.stackConfig(stack);
        await project.initStackWith(other, { ...local, backend: "existing", machinesFrom: stack });
        try {
            await project.ok(["up", "--stack", other, "--yes", "--skip-preview"]);
            const states: Record<string, NodeOutput> = JSON.parse(await project.ok(["stack", "output", "--stack", other, "--json", "nodes"]));
            expect(Object.values(states).map((n) => n.state)).toEqual(Array(10).fill("running"));
            // Reached where this stack says, pinning its host keys, with its key (no key in the second stack's config).
            for (const [name, n] of Object.entries(nodes)) expect([name, states[name].ssh, states[name].hostKey]).toEqual([name, n.ssh, n.hostKey]);
            expect(project.stackConfig(other)).not.toHaveProperty("sshPrivateKey");
            await project.ok(["preview", "--stack", other, "--expect-no-changes"]);
        } finally {
            // The second stack borrowed the first one's machines: it is forgotten,
            // not destroyed (a destroy would undo the shared services).
            await project.ok(["stack", "rm", other, "--yes", "--force"]);
        }
        for (const name of Object.keys(nodes)) expect([name, nspawnPid(names.stateDir, name)]).toEqual([name, expect.any(Number)]);
        // It wrote its own generated secrets (HAProxy stats, NIS password) on the
        // shared machines: this stack sees that as drift, and takes them back.
        const drift = await project.pulumi(["preview", "--stack", stack, "--expect-no-changes"]);
        expect(drift.code).not.toBe(0);
        expect(drift.stdout).toMatch(/~\s+cluster:remote:Command\s+haproxy-cluster1\s+update\s+\[diff: ~observed\]/);
        await project.ok(["up", "--stack", stack, "--yes", "--skip-preview"]);
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
    }, 600_000);

    it("carries a monitoring stack built on its outputs (StackReference): every target UP, Prometheus behind its login on the VIP", async () => {
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
        await monitoring.up(`organization/thesis-cluster/${stack}`);
        const upAfter = await monitoring.allUp();
        const targets = await monitoring.targets();
        expect(targets.filter((t) => t.labels.job === "node").map((t) => t.labels.node).sort()).toEqual(Object.keys(nodes).sort());
        expect(targets.filter((t) => t.labels.job === "haproxy").map((t) => t.labels.node).sort()).toEqual(["cluster1", "master2"]);
        expect((await monitoring.get("/api/v1/targets", false)).status).toBe(401);
        // The collectors' state: the VIPs on the MASTER, every brick online, the pool's four execute nodes.
        const query = async (q: string) =>
            (await monitoring.api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`)).result;
        await until(async () => (await query("thesis_condor_execute_nodes == 4")).length === 2, 60_000, 1000);
        expect((await query("thesis_vip_held == 1")).map((r) => `${r.metric.node} ${r.metric.vip}`).sort()).toEqual([`cluster1 ${lab("external", 200)}`, `cluster1 ${lab("internal", 200)}`].sort());
        const bricks = await query("min by (volume, brick) (thesis_gluster_brick_online)");
        expect(bricks.length).toBe(6);
        expect(bricks.every((b) => b.value[1] === "1")).toBe(true);
        expect(await monitoring.alerts()).toEqual([]);
        console.log(`monitoring: ${targets.length} targets UP ${upAfter.toFixed(0)} s after its up`);
        // Nothing of the cluster's changed: the monitoring stack writes files and units of its own.
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
    }, 600_000);

    it("shows a guest left without its systemd-nspawn as such, and boots a machine killed by hand again on the next up", async () => {
        const bootId = "cat /proc/sys/kernel/random/boot_id";
        const first = await ssh!.run(nodes.cluster3, `${bootId}; cat /proc/1/stat | cut -d' ' -f22`);
        const pid = nspawnPid(names.stateDir, "cluster3")!;
        const guestInit = childrenOf(pid);
        // systemd-nspawn killed alone: the guest runs on without its supervisor.
        process.kill(pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 1000));
        expect(nspawnPid(names.stateDir, "cluster3")).toBeUndefined();
        const orphan = await project.pulumi(["preview", "--stack", stack, "--expect-no-changes"]);
        expect(orphan.code).not.toBe(0);
        expect(orphan.stdout).toMatch(/~\s+cluster:nspawn:Machine\s+cluster3\s+update\s+\[diff: ~supervised\]/);
        expect(orphan.stdout + orphan.stderr).toMatch(/machine cluster3 runs without its systemd-nspawn/);
        // Then a hard power-off: the guest's init too, no clean halt.
        for (const p of guestInit) process.kill(p, "SIGKILL");
        const poweredOff = Date.now();
        await new Promise((r) => setTimeout(r, 1000));

        const preview = await project.pulumi(["preview", "--stack", stack, "--expect-no-changes"]);
        expect(preview.code).not.toBe(0);
        expect(preview.stdout).toMatch(/~\s+cluster:nspawn:Machine\s+cluster3\s+update\s+\[diff: ~running\]/);
        // The monitoring stack sees it DOWN and fires its alert.
        await until(async () => (await monitoring.alerts()).some((a) => a.labels.alertname === "ComputeNodeDown" && a.labels.node === "cluster3" && a.state === "firing"), 120_000, 1000);
        const down = (Date.now() - poweredOff) / 1000;
        expect((await monitoring.targets()).filter((t) => t.health !== "up").map((t) => `${t.labels.job} ${t.labels.node}`)).toEqual(["node cluster3"]);
        console.log(`monitoring: ComputeNodeDown firing for cluster3 by ${down.toFixed(0)} s after its power-off (two previews in between)`);

        await timed("repair up", times, () => project.ok(["up", "--stack", stack, "--yes", "--skip-preview"]));
        const again = await ssh!.run(nodes.cluster3, `${bootId}; cat /proc/1/stat | cut -d' ' -f22; systemctl is-system-running --wait || true`);
        expect(again.split("\n")[2]).toBe("running");
        // A new boot (the guest's PID 1 started again), with the same identity.
        expect(again.split("\n")[1]).not.toBe(first.split("\n")[1]);
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
    }, 600_000);

    it("destroys the monitoring stack and leaves the cluster as it was", async () => {
        await monitoring.allUp();
        await monitoring.destroy();
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
        for (const [name, n] of Object.entries(nodes)) {
            const left = await ssh!.run(
                n,
                "systemctl is-active prometheus-node-exporter prometheus thesis-monitoring-state.timer | sort -u | paste -sd,; " +
                    "ls -d /etc/systemd/system/*thesis-monitoring* /etc/systemd/system/prometheus*.d /etc/prometheus/thesis-cluster* /var/lib/prometheus/thesis-cluster /var/lib/prometheus/node-exporter/thesis-* /usr/local/lib/thesis-monitoring 2>/dev/null | wc -l",
            );
            expect([name, left.trim()]).toEqual([name, "inactive\n0"]);
        }
    }, 600_000);

    it("destroys everything, and returns only then: no bridge, namespace, mount, loop device, cgroup or process left", async () => {
        // Each machine's PID namespace, named by its guest's init, to look for once destroy returns.
        const guests = Object.keys(nodes).flatMap((n) => childrenOf(nspawnPid(names.stateDir, n)!));
        const pidNamespaces = guests.map(pidNamespace).filter((ns): ns is string => ns !== undefined);
        expect(pidNamespaces).toHaveLength(10);
        expect(new Set(pidNamespaces).size).toBe(10);
        expect(hostObjects(names.stateDir, prefix).cgroups.length).toBeGreaterThanOrEqual(10);
        await timed("destroy", times, () => project.ok(["destroy", "--stack", stack, "--yes", "--skip-preview"], 600_000));
        const after = hostObjects(names.stateDir, prefix);
        expect(after.namespaces).toEqual([]);
        expect(after.mounts).toEqual([]);
        expect(after.loops).toEqual([]);
        expect(after.processes).toEqual([]);
        expect(after.cgroups).toEqual([]);
        expect(processesIn(pidNamespaces)).toEqual([]);
        expect(after.links.filter((l) => !before.links.includes(l))).toEqual([]);
        expect(fs.existsSync(names.stateDir)).toBe(false);
    }, 600_000);
});
