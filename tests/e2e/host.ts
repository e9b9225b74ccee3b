/** Looks at this host's side of a local stack: links, namespaces, mounts, loops, processes. */
import { execFileSync } from "child_process";
import * as fs from "fs";

function lines(cmd: string, args: string[]): string[] {
    try {
        return execFileSync(cmd, args, { encoding: "utf8" }).split("\n").filter((l) => l.trim() !== "");
    } catch {
        return [];
    }
}

export interface HostSnapshot {
    links: string[];
    namespaces: string[];
    mounts: string[];
    loops: string[];
    processes: string[];
}

/** Everything on the host that mentions `stateDir` or carries the stack's prefix. */
export function hostObjects(stateDir: string, prefix: string): HostSnapshot {
    const links = lines("ip", ["-o", "link", "show"]).map((l) => l.split(": ")[1].split("@")[0]);
    return {
        links,
        namespaces: lines("ip", ["netns", "list"]).map((l) => l.split(" ")[0]).filter((n) => n.startsWith(prefix)),
        mounts: fs
            .readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .filter((l) => l.includes(stateDir)),
        loops: lines("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"]).filter((l) => l.includes(stateDir)),
        processes: lines("ps", ["-eo", "pid,args"]).filter((l) => l.includes(stateDir) && !l.includes("ps -eo")),
    };
}

/** The pid of the systemd-nspawn process that boots a machine, if any. */
export function nspawnPid(stateDir: string, machine: string): number | undefined {
    const root = `--directory=${stateDir}/machines/${machine}/root`;
    const hit = lines("ps", ["-eo", "pid,args"]).find((l) => l.includes("systemd-nspawn") && l.includes(root + " "));
    return hit ? Number(hit.trim().split(/\s+/)[0]) : undefined;
}

/** The direct children of a process (for systemd-nspawn: the guest's init). */
export function childrenOf(pid: number): number[] {
    return lines("ps", ["-o", "pid=", "--ppid", String(pid)]).map((l) => Number(l.trim()));
}

/** A wall-clock timer whose readings go to the test log. */
export async function timed<T>(label: string, times: Record<string, number>, f: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
        return await f();
    } finally {
        times[label] = Number(process.hrtime.bigint() - start) / 1e9;
    }
}
