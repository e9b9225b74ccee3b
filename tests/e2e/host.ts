/** Looks at this host's side of a local stack: links, namespaces, mounts, loops, processes. */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";

/**
 * A command's output lines; a command that fails fails the test. `none` is
 * the exit status by which it says it found nothing (`ps --ppid`: 1).
 */
function lines(cmd: string, args: string[], none?: number): string[] {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error) throw r.error;
    if (r.status === none && r.stdout.trim() === "") return [];
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}: ${r.stderr.trim()}`);
    return r.stdout.split("\n").filter((l) => l.trim() !== "");
}

/** Where the host's cgroup hierarchies are mounted (cgroup2, and name=systemd v1 on a hybrid host). */
function cgroupMounts(): string[] {
    return fs
        .readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .map((l) => l.split(" "))
        .filter((f) => {
            const sep = f.indexOf("-");
            return sep > 0 && (f[sep + 1] === "cgroup2" || (f[sep + 1] === "cgroup" && (f[sep + 3] ?? "").split(",").includes("name=systemd")));
        })
        .map((f) => f[4]);
}

export interface HostSnapshot {
    links: string[];
    namespaces: string[];
    mounts: string[];
    loops: string[];
    processes: string[];
    /** The machines' cgroups (thesis-cluster/<namespace>) in every hierarchy. */
    cgroups: string[];
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
        loops: lines("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"], 1).filter((l) => l.includes(stateDir)),
        processes: lines("ps", ["-eo", "pid,args"]).filter((l) => l.includes(stateDir) && !l.includes("ps -eo")),
        cgroups: cgroupMounts().flatMap((m) => {
            const dir = `${m}/thesis-cluster`;
            return fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => d.startsWith(prefix)).map((d) => `${dir}/${d}`) : [];
        }),
    };
}

/** The PID namespace of a process (`pid:[INODE]`), or undefined once it is gone. */
export function pidNamespace(pid: number): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
        return undefined;
    }
}

/** The processes of the host that are in one of these PID namespaces. */
export function processesIn(namespaces: string[]): number[] {
    return fs
        .readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map(Number)
        .filter((pid) => {
            const ns = pidNamespace(pid);
            return ns !== undefined && namespaces.includes(ns);
        });
}

/** The pid of the systemd-nspawn process that boots a machine, if any. */
export function nspawnPid(stateDir: string, machine: string): number | undefined {
    const root = `--directory=${stateDir}/machines/${machine}/root`;
    const hit = lines("ps", ["-eo", "pid,args"]).find((l) => l.includes("systemd-nspawn") && l.includes(root + " "));
    return hit ? Number(hit.trim().split(/\s+/)[0]) : undefined;
}

/** The direct children of a process (for systemd-nspawn: the guest's init). */
export function childrenOf(pid: number): number[] {
    return lines("ps", ["-o", "pid=", "--ppid", String(pid)], 1).map((l) => Number(l.trim()));
}

/** The pid of a running machine's init (systemd-nspawn's child), as the host sees it; undefined when the machine is down. */
export function guestInit(stateDir: string, machine: string): number | undefined {
    const pid = nspawnPid(stateDir, machine);
    return pid === undefined ? undefined : childrenOf(pid)[0];
}

/**
 * A machine of the local backend dies as in a power cut: its links go down
 * first, then its systemd-nspawn and init are killed. Killed alone, the
 * kernel would close the machine's TCP connections as its processes die, and
 * its peers (Gluster clients, HAProxy, shadows) would learn of the death at
 * once from the FIN or RST; a machine that loses power says nothing, and its
 * peers find out by their timeouts.
 */
export function crash(stateDir: string, machine: string): void {
    const pid = nspawnPid(stateDir, machine);
    const init = guestInit(stateDir, machine);
    if (pid === undefined || init === undefined) throw new Error(`${machine} is not running`);
    const inMachine = (...args: string[]) => execFileSync("nsenter", ["-t", String(init), "-n", "ip", ...args], { encoding: "utf8" });
    const links = (JSON.parse(inMachine("-j", "link", "show")) as { ifname: string }[]).map((l) => l.ifname).filter((l) => l !== "lo");
    for (const l of links) inMachine("link", "set", l, "down");
    for (const p of [init, pid]) process.kill(p, "SIGKILL");
}

/**
 * What each running machine of a local stack holds in memory: the proportional
 * set size (PSS, MiB) summed over the processes in its PID namespace, so pages
 * the machines share (the base image's programs) are split between them.
 */
export function machinesPss(stateDir: string, machines: string[]): Record<string, number> {
    const pss = (pid: number) => {
        try {
            const m = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+) kB/m);
            return m ? Number(m[1]) / 1024 : 0;
        } catch {
            return 0; // ended meanwhile
        }
    };
    return Object.fromEntries(
        machines.map((m) => {
            const init = guestInit(stateDir, m);
            const ns = init === undefined ? undefined : pidNamespace(init);
            if (ns === undefined) throw new Error(`${m} is not running`);
            return [m, processesIn([ns]).reduce((sum, p) => sum + pss(p), 0)];
        }),
    );
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
