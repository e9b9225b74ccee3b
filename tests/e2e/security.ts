/**
 * What the security tests (and `npm run bench`) look at from outside: the
 * external side's open ports, the front door and jump host under fast health
 * checks, and what a cluster user can see of a running `pulumi up`.
 */
import * as dgram from "dgram";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { sleep } from "./probe";
import { NodeOutput, Ssh } from "./ssh";

/** How a TCP connect to host:port ends: accepted, refused (RST) or nothing before the timeout (dropped). */
function tcpState(host: string, port: number, timeoutMs: number): Promise<"open" | "closed" | "filtered"> {
    return new Promise((resolve) => {
        const sock = net.connect({ host, port });
        let settled = false;
        const done = (s: "open" | "closed" | "filtered") => {
            if (settled) return;
            settled = true;
            sock.destroy();
            resolve(s);
        };
        // Timers run before I/O in Node's loop: when the loop was busy past the
        // timeout (thousands of connects at once), an answer may already be
        // waiting. Decide "no answer" only after pending I/O had its turn.
        sock.setTimeout(timeoutMs, () => setImmediate(() => done("filtered")));
        sock.once("connect", () => done("open"));
        sock.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "closed" : "filtered"));
    });
}

/** Every TCP port of each host, `concurrency` connects at a time: per host the open ports and the refused ones (the rest went unanswered). */
export async function scanTcp(hosts: string[], timeoutMs = 500, concurrency = 2000): Promise<Record<string, { open: number[]; closed: number[] }>> {
    const jobs = hosts.flatMap((h) => Array.from({ length: 65535 }, (_, i) => [h, i + 1] as const));
    const out = Object.fromEntries(hosts.map((h) => [h, { open: [] as number[], closed: [] as number[] }]));
    let next = 0;
    const worker = async () => {
        while (next < jobs.length) {
            const [h, p] = jobs[next++];
            const s = await tcpState(h, p, timeoutMs);
            if (s === "open") out[h].open.push(p);
            if (s === "closed") out[h].closed.push(p);
        }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    for (const h of hosts) for (const l of [out[h].open, out[h].closed]) l.sort((a, b) => a - b);
    return out;
}

/** An ONC RPC NULL call (RFC 5531) to program PROG version VERS: any RPC server on the port answers it. */
export function rpcNullCall(prog: number, vers: number): Buffer {
    const b = Buffer.alloc(40);
    [0x7c0ffee, 0, 2, prog, vers, 0, 0, 0, 0, 0].forEach((v, i) => b.writeUInt32BE(v, i * 4));
    return b;
}

/** A DNS query for NAME's A record. */
export function dnsQuery(name: string): Buffer {
    const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    return Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/** Sends one UDP datagram to host:port; true when anything comes back within the timeout. */
export function udpAnswers(host: string, port: number, payload: Buffer, timeoutMs = 1500): Promise<boolean> {
    return new Promise((resolve) => {
        const sock = dgram.createSocket("udp4");
        const done = (v: boolean) => {
            clearTimeout(timer);
            sock.close();
            resolve(v);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        sock.once("message", () => done(true));
        sock.once("error", () => done(false));
        sock.send(payload, port, host);
    });
}

export interface SoakResult {
    seconds: number;
    frontDoor: { ok: number; failed: number; errors: string[] };
    jumpHost: { ok: number; failed: number; errors: string[] };
}

type Tally = SoakResult["frontDoor"];

/** Starts `attempt` every `everyMs` while `going()` holds, counting what succeeds and what fails (the first errors kept). */
async function attempts(going: () => boolean, everyMs: number, attempt: (i: number) => Promise<unknown>): Promise<Tally> {
    const tally: Tally = { ok: 0, failed: 0, errors: [] };
    const pending: Promise<void>[] = [];
    for (let i = 0; going(); i++) {
        pending.push(
            attempt(i).then(
                () => void tally.ok++,
                (e: Error) => {
                    tally.failed++;
                    if (tally.errors.length < 5) tally.errors.push(e.message.split("\n").slice(-2).join(" ").trim());
                },
            ),
        );
        await sleep(everyMs);
    }
    await Promise.all(pending);
    return tally;
}

/**
 * For `seconds`, a new SSH session through the front door every `everyMs`
 * (`true` on whichever compute node it lands) and, side by side, a new login
 * on the internal nodes in turn through the first director as jump host.
 */
export async function soak(ssh: Ssh, frontDoor: { host: string; port: number }, nodes: NodeOutput[], seconds: number, everyMs = 300): Promise<SoakResult> {
    const end = Date.now() + seconds * 1000;
    const going = () => Date.now() < end;
    const [fd, jump] = await Promise.all([
        attempts(going, everyMs, () => ssh.runAt(frontDoor.host, frontDoor.port, "true", 30_000)),
        attempts(going, everyMs, (i) => ssh.run(nodes[i % nodes.length], "true", 30_000)),
    ]);
    return { seconds, frontDoor: fd, jumpHost: jump };
}

/** A new SSH session through the front door every `everyMs` until `done` settles. */
export async function sessionsUntil(ssh: Ssh, frontDoor: { host: string; port: number }, done: Promise<unknown>, everyMs = 300): Promise<Tally> {
    let settled = false;
    void done.finally(() => (settled = true)).catch(() => undefined);
    return attempts(() => !settled, everyMs, () => ssh.runAt(frontDoor.host, frontDoor.port, "true", 30_000));
}

export const formatSoak = (r: SoakResult) =>
    `${r.seconds} s: front door ${r.frontDoor.failed} of ${r.frontDoor.ok + r.frontDoor.failed} sessions failed, ` +
    `jump host ${r.jumpHost.failed} of ${r.jumpHost.ok + r.jumpHost.failed} logins failed`;

/**
 * The forms in which a secret could leak: as is, and base64-encoded at each of
 * the three alignments it can have inside a larger encoded file (the
 * characters that also depend on its neighbours left out).
 */
export function leakForms(secret: string): string[] {
    const forms = [secret];
    for (let k = 0; k < 3; k++) {
        const enc = Buffer.concat([Buffer.alloc(k), Buffer.from(secret)]).toString("base64").replace(/=+$/, "");
        forms.push(enc.slice(k === 0 ? 0 : 4, -4));
    }
    return forms;
}

/**
 * A watcher a cluster user runs: until STOP exists (or LIMIT seconds pass) it
 * reads every process' cmdline and environ it may read and every readable file
 * under /tmp and /var/tmp, again and again, and writes all it saw to OUT.
 */
const WATCHER = `
import json, os, sys, time
stop, out, limit, started = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
seen, files, pids, iterations = set(), set(), set(), 0
open(started, "w").close()
t0 = time.time()
end = t0 + limit
while time.time() < end and not os.path.exists(stop):
    iterations += 1
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        pids.add(pid)
        for what in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    seen.add(f.read())
            except OSError:
                pass
    for top in ("/tmp", "/var/tmp"):
        for root, _, names in os.walk(top):
            for name in names:
                p = os.path.join(root, name)
                try:
                    with open(p, "rb") as f:
                        seen.add(f.read(1 << 20))
                    files.add(p)
                except OSError:
                    pass
with open(out, "w") as f:
    json.dump({"iterations": iterations, "seconds": time.time() - t0, "processes": len(pids), "files": sorted(files), "seen": [b.decode("latin-1") for b in seen]}, f)
`;

export interface Watch {
    iterations: number;
    seconds: number;
    processes: number;
    files: string[];
    seen: string[];
}

/** Starts the watcher as USER on NODE; resolves once it runs. `finished` settles when STOP appears and it has written what it saw. */
export async function startWatch(ssh: Ssh, node: NodeOutput, user: string, tag: string): Promise<{ stop: () => Promise<Watch> }> {
    const dir = `/tmp/secwatch-${tag}`;
    await ssh.run(node, `rm -rf ${dir} && install -d -m 1777 ${dir}`);
    const running = ssh.runAs(
        node,
        user,
        `cat >~/secwatch-${tag}.py <<'EOF'\n${WATCHER}\nEOF\npython3 ~/secwatch-${tag}.py ${dir}/stop ~/secwatch-${tag}.json 900 ${dir}/started`,
        1_000_000,
    );
    running.catch(() => undefined);
    for (let i = 0; (await ssh.run(node, `test -e ${dir}/started && echo yes || echo no`)).trim() !== "yes"; i++) {
        if (i > 100) throw new Error(`the watcher on ${node.ssh.host} did not start`);
        await sleep(200);
    }
    return {
        stop: async () => {
            await ssh.run(node, `touch ${dir}/stop`);
            await running;
            const text = await ssh.runAs(node, user, `cat ~/secwatch-${tag}.json && rm -f ~/secwatch-${tag}.json ~/secwatch-${tag}.py`, 120_000);
            await ssh.run(node, `rm -rf ${dir}`);
            return JSON.parse(text) as Watch;
        },
    };
}

/** The rows of docs/security.md's port table. */
export interface PortRow {
    role: string;
    daemon: string;
    proto: string;
    port: string;
    external: boolean;
}

export function portTable(): PortRow[] {
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "security.md"), "utf8");
    const rows: PortRow[] = [];
    for (const line of doc.split("\n")) {
        const cells = line.split("|").slice(1, -1).map((c) => c.trim().replace(/`/g, ""));
        if (cells.length !== 7 || !/^(director|compute|nas|san|every node)$/.test(cells[0])) continue;
        const [role, daemon, proto, port, , reach] = cells;
        rows.push({ role, daemon, proto, port, external: /external/.test(reach) && !/not from the external/.test(reach) });
    }
    return rows;
}
