import { execFileSync } from "child_process";
import * as crypto from "crypto";
import { KEY_PATH } from "../../components/jobs/condor";
import { statsCsv, until } from "./probe";
import { lab, TempProject } from "./project";
import { formatSoak, leakForms, portTable, rpcNullCall, dnsQuery, scanTcp, soak, startWatch, udpAnswers, Watch } from "./security";
import { frontDoorKnownHosts, NodeOutput, Ssh } from "./ssh";

// docs/security.md on the local stack: no secret reaches a cluster user, the
// external network sees only the front door, and sshd's penalties never lock
// the directors (and with them every user) out, at the fastest health checks.
describe("security (docs/security.md)", () => {
    const project = new TempProject("security");
    const stack = "sec";
    let out: {
        nodes: Record<string, NodeOutput>;
        vips: { internal: string; external: string };
        sshFrontDoor: { host: string; port: number };
        stats: { url: string; user: string; password: string };
        identity: { users: Record<string, { password: string }> };
        adminPrivateKey: string;
    };
    let ssh: Ssh;
    const compute = ["cluster2", "cluster3", "cluster4", "cluster5"];
    const figures: Record<string, string> = {};
    const outputs = async () => JSON.parse(await project.ok(["stack", "output", "--stack", stack, "--json", "--show-secrets"]));
    // The node's role as the stack outputs name it, as docs/security.md's table names it.
    const roleOf = (node: string) => (out.nodes[node].role === "directors" ? "director" : out.nodes[node].role);

    beforeAll(async () => {
        await project.initStack(stack, "local");
        // The fastest health checks the issue asks for: four checks a second per director and node.
        await project.ok(["config", "set", "--path", "--stack", stack, "frontDoor.checkIntervalMs", "250"]);
        await project.ok(["up", "--stack", stack, "--yes", "--skip-preview"], 1_800_000);
        out = await outputs();
        ssh = new Ssh(out.adminPrivateKey, out.nodes, frontDoorKnownHosts(out.sshFrontDoor, out.nodes, compute));
    }, 1_900_000);

    afterAll(async () => {
        ssh?.remove();
        await project.destroyAndRemove(stack);
        console.log("security figures: " + JSON.stringify(figures));
    }, 900_000);

    it("listens on each node only as docs/security.md's table says", async () => {
        const table = portTable();
        expect(table.length).toBeGreaterThan(20);
        const problems: string[] = [];
        for (const node of ["cluster1", "master2", "cluster2", "nas", "san1"]) {
            const role = roleOf(node);
            const sockets = (await ssh.run(out.nodes[node], `ss -Hltnup | awk '{print $1, $5, $7}'`)).trim().split("\n");
            for (const s of sockets) {
                const [proto, local, users] = s.split(" ");
                const port = local.slice(local.lastIndexOf(":") + 1);
                const daemon = (users ?? "").match(/"([^"]+)"/)?.[1] ?? "?";
                const rows = table.filter((r) => r.role === role || (r.role === "every node" && !table.some((x) => x.role === role && x.daemon === r.daemon && x.proto === r.proto)));
                const known = rows.some(
                    (r) =>
                        r.proto === proto &&
                        (r.port === port || r.port === "dynamic") &&
                        (r.daemon.endsWith("*") ? daemon.startsWith(r.daemon.slice(0, -1)) : r.daemon.startsWith(daemon)),
                );
                if (!known && !local.startsWith("127.0.0.1:") && !local.startsWith("[::1]:")) problems.push(`${node} (${role}): ${proto} ${local} ${daemon}`);
            }
        }
        expect(problems).toEqual([]);
        // The central managers listen on their internal address alone.
        for (const d of ["cluster1", "master2"]) {
            const condor = (await ssh.run(out.nodes[d], `ss -Hltnu | awk '{print $5}' | grep -E ':9618$' | sort -u | paste -sd,`)).trim();
            expect([d, condor]).toEqual([d, `${out.nodes[d].addresses.internal}:9618`]);
        }
    }, 120_000);

    it("shows the external network only SSH, the front door, the stats page and the monitoring port", async () => {
        const targets = { [lab("external", 101)]: [22, 9000], [lab("external", 102)]: [22, 9000], [out.vips.external]: [22, 2000, 9000, 9090] };
        // What the table says the external side reaches on a director: the same ports.
        const external = portTable().filter((r) => r.role === "director" && r.external && r.proto === "tcp").map((r) => Number(r.port));
        expect([...new Set(external)].sort((a, b) => a - b)).toEqual([22, 2000, 9000, 9090]);
        const t0 = Date.now();
        const scan = await scanTcp(Object.keys(targets));
        figures.tcpScan =
            Object.entries(scan).map(([h, r]) => `${h}: open ${r.open.join(",")}, refused ${r.closed.join(",") || "none"}`).join("; ") +
            `; every other port unanswered; ${((Date.now() - t0) / 1000).toFixed(0)} s for 3 x 65535 ports`;
        for (const [h, want] of Object.entries(targets)) {
            expect([h, scan[h].open]).toEqual([h, want]);
            // Every other port is dropped without an answer, but for the firewall's
            // open ports where nothing listens on that address (2000 and 9090 off the VIP).
            expect([h, scan[h].closed.filter((p) => ![22, 2000, 9000, 9090].includes(p))]).toEqual([h, []]);
        }
        // UDP: rpcbind, ypbind and dnsmasq answer on the internal side, and not one datagram from outside.
        const ypbindPort = Number((await ssh.run(out.nodes.cluster2, `rpcinfo -p ${lab("internal", 1)} | awk '$1 == 100007 && $3 == "udp" {print $4; exit}'`)).trim());
        expect(ypbindPort).toBeGreaterThan(0);
        const inside = await ssh.run(out.nodes.cluster2, `rpcinfo -u ${lab("internal", 1)} 100000 2 && rpcinfo -u ${lab("internal", 1)} 100007 2 && getent hosts cluster3.cluster`);
        expect(inside).toMatch(/program 100000 version 2 ready and waiting[\s\S]*program 100007 version 2 ready and waiting/);
        const udp: string[] = [];
        for (const h of Object.keys(targets)) {
            for (const [what, port, payload] of [
                ["rpcbind", 111, rpcNullCall(100000, 2)],
                ["ypbind", ypbindPort, rpcNullCall(100007, 2)],
                ["dns", 53, dnsQuery("cluster3.cluster")],
                ["condor", 9618, rpcNullCall(1, 1)],
            ] as const) {
                if (await udpAnswers(h, port, payload)) udp.push(`${h} ${what} udp/${port} answered`);
            }
        }
        expect(udp).toEqual([]);
        // Nor does the external side reach an internal node through a director.
        expect(await ssh.run(out.nodes.cluster1, "nft list chain inet thesis_filter forward | grep -c 'ct state established,related accept'")).toMatch(/^1/);
    }, 300_000);

    it("lets no cluster user see a secret while an up rotates every one of them", async () => {
        const { nodes } = out;
        const rnd = crypto.randomBytes(6).toString("hex");
        const urns = JSON.parse(await project.ok(["stack", "export", "--stack", stack]))
            .deployment.resources.filter((r: { type: string }) => r.type === "cluster:index:RandomSecret")
            .map((r: { urn: string }) => r.urn) as string[];
        const rotate = ["condor-signing-key", "haproxy-stats-password", "nis-password-jordi"].map((n) => {
            const urn = urns.find((u) => u.endsWith(`::${n}`));
            if (!urn) throw new Error(`no RandomSecret ${n} among ${urns.join(", ")}`);
            return urn;
        });
        const secretsNow = async () => {
            const o = await outputs();
            return [
                o.stats.password as string,
                o.identity.users.jordi.password as string,
                (await ssh.run(nodes.cluster2, `cat ${KEY_PATH}`)).trim(),
                (await ssh.run(nodes.nas, "getent shadow jordi | cut -d: -f2")).trim(),
            ];
        };
        const before = await secretsNow();
        // jordi on a compute node, and on a director (a login there for this test only: runuser as root).
        const watches = [await startWatch(ssh, nodes.cluster2, "jordi", `c-${rnd}`), await startWatch(ssh, nodes.cluster1, "jordi", `d-${rnd}`)];
        let watched: Watch[] = [];
        try {
            // Markers the watchers must see: root's argv and a readable file in /tmp.
            for (const n of [nodes.cluster2, nodes.cluster1]) {
                await ssh.run(n, `bash -c ': argv-canary-${rnd}; sleep 2'; umask 022; echo file-canary-${rnd} >/tmp/canary-${rnd}; sleep 2; rm -f /tmp/canary-${rnd}`);
            }
            const up = await project.ok(["up", "--stack", stack, "--yes", "--skip-preview", ...rotate.flatMap((u) => ["--replace", u])], 900_000);
            expect(up).toMatch(/condor-cluster2/);
        } finally {
            watched = await Promise.all(watches.map((w) => w.stop()));
        }
        const after = await secretsNow();
        for (let i = 0; i < before.length; i++) expect(after[i]).not.toBe(before[i]);
        const needles = [...before, ...after].flatMap(leakForms);
        for (const [i, w] of watched.entries()) {
            const seen = w.seen.join("\n");
            expect(seen).toContain(`argv-canary-${rnd}`);
            expect(seen).toContain(`file-canary-${rnd}`);
            expect(needles.filter((n) => seen.includes(n)).map((n) => `watcher ${i} saw ${n.slice(0, 6)}…`)).toEqual([]);
            expect(w.iterations).toBeGreaterThan(100);
        }
        figures.watch = watched
            .map((w, i) => `${i ? "director" : "compute node"}: ${w.iterations} rounds in ${w.seconds.toFixed(0)} s over ${w.processes} processes and ${w.files.length} files, no secret seen`)
            .join("; ");

        // No digest of a secret file in the state's plain text either.
        const plain = await project.ok(["stack", "export", "--stack", stack]);
        const digests = [
            (await ssh.run(nodes.cluster2, `sha256sum <${KEY_PATH} | cut -c1-64`)).trim(),
            (await ssh.run(nodes.cluster1, "sha256sum </etc/haproxy/haproxy.cfg | cut -c1-64")).trim(),
        ];
        for (const d of digests) expect(plain).not.toContain(d);
        expect(plain).not.toContain(after[0]);
    }, 1_200_000);

    it("works with the rotated secrets: the pool runs a job, the stats page and the password take the new values", async () => {
        const { nodes } = out;
        const o = await outputs();
        const jordi = (script: string) => ssh.runAs(nodes.cluster2, "jordi", script, 300_000);
        await until(async () => (await jordi("condor_status -af Name | wc -l")).trim() === "4", 180_000, 2000);
        await jordi("rm -rf ~/rotated && mkdir ~/rotated && cd ~/rotated && printf 'executable = /bin/hostname\\noutput = out\\nerror = err\\nlog = log\\nqueue\\n' >job.sub && condor_submit job.sub >/dev/null");
        await until(async () => (await jordi("grep -c '^005 ' ~/rotated/log || true")).trim() === "1", 240_000, 2000);
        expect((await jordi("cat ~/rotated/out")).trim()).toMatch(/^cluster[2-5]$/);
        // The stats page: the new password in, the old one out.
        const rows = await statsCsv(o.stats.url, o.stats.password);
        expect(Object.keys(rows)).toContain("serverfarm/cluster2");
        await expect(statsCsv(o.stats.url, out.stats.password)).rejects.toThrow(/401/);
        // The nas' hash is the new password's.
        const hash = (await ssh.run(nodes.nas, "getent shadow jordi | cut -d: -f2")).trim();
        const salt = hash.split("$")[2];
        const mine = execFileSync("openssl", ["passwd", "-6", "-salt", salt, "-stdin"], { input: o.identity.users.jordi.password, encoding: "utf8" }).trim();
        expect(mine).toBe(hash);
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
    }, 900_000);

    it("keeps the front door and the jump host open through two minutes of health checks every 250 ms", async () => {
        const r = await soak(ssh, out.sshFrontDoor, compute.map((c) => out.nodes[c]).concat(out.nodes.nas), 120);
        figures.soak = formatSoak(r);
        expect(r.frontDoor.ok + r.jumpHost.ok).toBeGreaterThan(300);
        expect(r.frontDoor.errors).toEqual([]);
        expect(r.jumpHost.errors).toEqual([]);
        // The compute nodes saw the checks and penalized no one for them.
        const log = await ssh.run(out.nodes.cluster3, "journalctl -u ssh --since '-3 min' --no-pager | grep -c 'penalty' || true");
        expect(log.trim()).toBe("0");
    }, 600_000);

    it("still penalizes any other source that connects without authenticating", async () => {
        // From the nas: 30 connections that close without a word to cluster3's sshd.
        const target = out.nodes.cluster3.addresses.internal;
        await ssh.run(out.nodes.nas, `for i in $(seq 30); do timeout 2 bash -c 'exec 3<>/dev/tcp/${target}/22; head -c 4 <&3 >/dev/null' || true; done`, 120_000);
        const refused = await ssh.run(out.nodes.nas, `timeout 3 bash -c 'exec 3<>/dev/tcp/${target}/22; head -c 4 <&3' 2>/dev/null | grep -c SSH- || true`);
        expect(refused.trim()).toBe("0");
        const log = await ssh.run(out.nodes.cluster3, `journalctl -u ssh --since '-2 min' --no-pager | grep penalty | grep -c '${out.nodes.nas.addresses.internal}' || true`);
        expect(Number(log.trim())).toBeGreaterThan(0);
    }, 300_000);
});
