/** Network probes from the host to the lab: SSH greetings, HAProxy's stats CSV, VIP holders. */
import { execFileSync } from "child_process";
import * as http from "http";
import * as net from "net";
import { guestInit } from "./host";

/** True when something at host:port greets like sshd within the timeout. */
export function sshGreets(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
    return new Promise((resolve) => {
        const sock = net.connect({ host, port });
        const done = (ok: boolean) => {
            sock.destroy();
            resolve(ok);
        };
        sock.setTimeout(timeoutMs, () => done(false));
        sock.once("error", () => done(false));
        sock.once("data", (d) => done(d.toString().startsWith("SSH-")));
        // Closed without a word (HAProxy with no server to hand the connection
        // to): no greeting. Without this the promise never settles, and a
        // probe loop waits forever with nothing left to wake it.
        sock.once("close", () => done(false));
    });
}

/** HAProxy's stats as CSV rows keyed by "proxy/server" (e.g. serverfarm/cluster2). */
export function statsCsv(url: string, password: string): Promise<Record<string, Record<string, string>>> {
    return new Promise((resolve, reject) => {
        const auth = Buffer.from(`admin:${password}`).toString("base64");
        const req = http.get(`${url};csv`, { headers: { Authorization: `Basic ${auth}` }, timeout: 3000 }, (res) => {
            res.on("error", reject);
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => {
                if (res.statusCode !== 200) return reject(new Error(`stats page answered ${res.statusCode}`));
                const [head, ...rows] = body.trim().split("\n");
                const cols = head.replace(/^# /, "").split(",");
                const out: Record<string, Record<string, string>> = {};
                for (const r of rows) {
                    const v = r.split(",");
                    const row = Object.fromEntries(cols.map((c, i) => [c, v[i]]));
                    out[`${row.pxname}/${row.svname}`] = row;
                }
                resolve(out);
            });
        });
        req.on("timeout", () => req.destroy(new Error("stats page timed out")));
        req.on("error", reject);
    });
}

const STATS_HEADING = /Statistics Report for pid (\d+):? (?:on )?([\w.-]+)/;

/** HAProxy's stats page (HTML, as a person sees it): the heading's host and each server row's class (active_up, active_down …). */
export function readStatsPage(html: string): { host?: string; rows: Record<string, string> } {
    const rows: Record<string, string> = {};
    for (const m of html.matchAll(/<tr class="([a-z_0-9]+)"><td class=ac><a name="([^"]+)"><\/a>/g)) {
        if (!["frontend", "backend"].includes(m[1])) rows[m[2]] = m[1];
    }
    return { host: html.match(STATS_HEADING)?.[2], rows };
}

/** HAProxy's stats page as HTML, fetched with its user and password. */
export function fetchStatsPage(url: string, user: string, password: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const auth = Buffer.from(`${user}:${password}`).toString("base64");
        const req = http.get(url, { headers: { Authorization: `Basic ${auth}` }, timeout: 3000 }, (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`the stats page answered ${res.statusCode}`))));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("the stats page did not answer within 3 s")));
        req.on("error", reject);
    });
}

/**
 * The IPv4 addresses a running machine of the local backend holds, read from
 * the host in its init's network namespace; none when the machine is down.
 */
export function addressesOf(stateDir: string, machine: string): string[] {
    const init = guestInit(stateDir, machine);
    if (init === undefined) return [];
    try {
        const out = execFileSync("nsenter", ["-t", String(init), "-n", "ip", "-j", "-4", "addr", "show"], { encoding: "utf8" });
        return (JSON.parse(out) as { addr_info: { local: string }[] }[]).flatMap((l) => l.addr_info.map((a) => a.local));
    } catch {
        return [];
    }
}

/**
 * Who holds each of VIPS among DIRECTORS, read from the host: one word per
 * VIP in order, a director's name, names joined by "+" when several hold it,
 * or "nobody"; e.g. "cluster1 cluster1" for the external and internal VIPs.
 */
export function vipHolders(stateDir: string, directors: string[], vips: string[]): string {
    const held = directors.map((d) => [d, addressesOf(stateDir, d)] as const);
    return vips.map((v) => held.filter(([, a]) => a.includes(v)).map(([d]) => d).join("+") || "nobody").join(" ");
}

/** How many times READ's answer changes over MS, read every EVERY ms. */
export async function changesOver(read: () => string, ms: number, every = 50): Promise<number> {
    let changes = 0;
    let before = read();
    for (const end = Date.now() + ms; Date.now() < end; ) {
        await sleep(every);
        const now = read();
        if (now !== before) changes++;
        before = now;
    }
    return changes;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls f every intervalMs until it is true; resolves with the seconds it took, or rejects. */
export async function until(f: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
        if (await f()) return (Date.now() - start) / 1000;
        await sleep(intervalMs);
    }
    throw new Error(`condition not met within ${timeoutMs / 1000} s`);
}

/**
 * After `fail()` (a hard failure), the seconds until host:port greets like sshd
 * again. A greeting from the dying machine before the outage begins does not
 * count: the clock stops at the first greeting after a failed probe.
 */
export async function outage(host: string, port: number, fail: () => void, timeoutMs = 20_000): Promise<{ down: number; back: number }> {
    fail();
    const start = Date.now();
    const elapsed = () => (Date.now() - start) / 1000;
    let down: number | undefined;
    while (Date.now() - start < timeoutMs) {
        const ok = await sshGreets(host, port, 200);
        if (!ok && down === undefined) down = elapsed();
        if (ok && down !== undefined) return { down, back: elapsed() };
        await sleep(10);
    }
    throw new Error(`${host}:${port} ${down === undefined ? "never went down" : "did not answer again"} within ${timeoutMs / 1000} s`);
}
