/**
 * The chaos run of `npm run chaos` and of the e2e test: while the thesis' 100
 * HTCondor jobs run and two compute nodes append checksummed records to files
 * on the replicated volume, machines are killed hard in turn (a compute node,
 * a SAN node, the master director, then the backup once the master is back),
 * each followed by `pulumi up` to repair. What counts is what users lose: jobs
 * not completed, records written but not read back intact, a replica that
 * differs. The front door's outages and the repair times are measured beside.
 *
 * Only the local (systemd-nspawn) backend: a kill cuts a machine's links and
 * then kills its systemd-nspawn and init (see crash()), found by the stack's
 * state directory, so nothing but the stack's own machines is touched.
 */
import * as crypto from "crypto";
import { hostNames } from "../../components/backends";
import { clusterOf, waitForJobs } from "./condor";
import { crash, nspawnPid } from "./host";
import { addressesOf, sleep, sshGreets, until } from "./probe";
import { Project } from "./project";
import { frontDoorKnownHosts, NodeOutput, Ssh, throughLiveDirector } from "./ssh";

export interface ChaosOptions {
    stack: string;
    project: Project;
    /** Jobs in the HTCondor cluster (the thesis: 100) and each one's sleep. */
    jobs: number;
    jobSeconds: number;
    /** How long the cluster runs degraded after each kill before `pulumi up` repairs it. */
    dwellSeconds: number;
    /** The whole run's bound: past it, the run stops where it is and reports a failure. */
    deadlineMinutes: number;
    progress: (msg: string) => void;
}

export interface Outage {
    /** Seconds since the run began. */
    start: number;
    seconds: number;
    failedProbes: number;
    /** The last event before it (e.g. "kill cluster1"). */
    after: string;
    /** Still down when the probing stopped. */
    open: boolean;
}

export interface WriterResult {
    node: string;
    file: string;
    /** Records whose append and fsync returned. */
    written: number;
    /** Of those, read back intact on the reader. */
    intact: number;
    /** Lines that do not verify (bad checksum, torn), and records read twice. */
    corrupt: number;
    duplicates: number;
    writeErrors: number;
    /** The longest time between two confirmed appends. */
    longestStallSeconds: number;
}

export interface KillResult {
    machine: string;
    role: string;
    at: number;
    repairSeconds: number;
    notes: string[];
}

export interface ChaosResult {
    startedAt: string;
    kills: KillResult[];
    jobs: { submitted: number; completed: number; startedMoreThanOnce: number; seconds: number };
    writers: WriterResult[];
    /** Per brick of the replicated volume, whether its copies equal what the reader read. */
    replicas: { brick: string; identical: boolean }[];
    frontDoor: { probes: number; failed: number; outages: Outage[] };
    previewClean: boolean;
    /** Each loss or failed property in words; empty when nothing was lost. */
    problems: string[];
}

const WRITER_UNIT = "thesis-cluster-chaos-writer";
const WRITER_DIR = "/var/tmp/thesis-cluster-chaos";

/**
 * Appends records "NODE SEQ PAYLOAD SHA256(NODE SEQ PAYLOAD)" to FILE, each
 * with O_APPEND and fsync, until DIR/stop exists or DEADLINE (epoch seconds)
 * passes. DIR/count holds the records confirmed so far, the failed appends
 * and the longest gap between two confirmations (ms); a failed append is
 * retried with the same SEQ after half a second.
 */
export const writerScript = `set -u
file=$1 dir=$2 deadline=$3 node=$(hostname)
seq=0 errors=0 maxgap=0 last=$(date +%s%N)
while [ ! -e "$dir/stop" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  body="$node $seq $(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n')"
  sum=$(printf '%s' "$body" | sha256sum)
  if printf '%s %s\\n' "$body" "\${sum%% *}" | dd of="$file" oflag=append conv=notrunc,fsync status=none 2>>"$dir/errors"; then
    now=$(date +%s%N)
    gap=$(( (now - last) / 1000000 ))
    [ "$gap" -gt "$maxgap" ] && maxgap=$gap
    last=$now
    seq=$((seq + 1))
  else
    errors=$((errors + 1))
    echo "$(date +%T.%N) append of record $seq failed" >>"$dir/errors"
    sleep 0.5
  fi
  echo "$seq $errors $maxgap" >"$dir/count.new" && mv "$dir/count.new" "$dir/count"
  sleep 0.05
done
touch "$dir/finished"
`;

/** Checks a writer's file as read back: which of its confirmed records are there intact. */
export function verifyRecords(text: string, node: string, confirmed: number): { intact: number; corrupt: number; duplicates: number } {
    const seen = new Set<number>();
    let corrupt = 0;
    let duplicates = 0;
    for (const line of text.split("\n")) {
        if (line === "") continue;
        const m = line.match(/^(\S+) (\d+) ([0-9a-f]{48}) ([0-9a-f]{64})$/);
        const ok = m !== null && m[1] === node && crypto.createHash("sha256").update(`${m[1]} ${m[2]} ${m[3]}`).digest("hex") === m[4];
        if (!ok) {
            corrupt++;
            continue;
        }
        const seq = Number(m[2]);
        if (seen.has(seq)) duplicates++;
        seen.add(seq);
    }
    let intact = 0;
    for (let s = 0; s < confirmed; s++) if (seen.has(s)) intact++;
    return { intact, corrupt, duplicates };
}

/** Runs of failed probes in a probe series: each outage, with the last event before it. */
export function outagesOf(samples: { t: number; ok: boolean }[], events: { t: number; label: string }[]): Outage[] {
    const out: Outage[] = [];
    let current: Outage | undefined;
    for (const s of samples) {
        if (!s.ok && current === undefined) {
            const after = [...events].reverse().find((e) => e.t <= s.t)?.label ?? "start";
            current = { start: s.t, seconds: 0, failedProbes: 0, after, open: true };
        }
        if (!s.ok && current) current.failedProbes++;
        if (s.ok && current) {
            current.seconds = s.t - current.start;
            current.open = false;
            out.push(current);
            current = undefined;
        }
    }
    if (current) {
        current.seconds = samples[samples.length - 1].t - current.start;
        out.push(current);
    }
    return out;
}

/** The run's figures as the lines `npm run chaos` prints. */
export function formatChaos(r: ChaosResult, o: Pick<ChaosOptions, "stack" | "jobs" | "jobSeconds" | "dwellSeconds">): string[] {
    const f = (n: number) => n.toFixed(1);
    const pass = (ok: boolean) => (ok ? "PASS" : "MISS");
    const lines = [
        `chaos on stack ${o.stack}, ${r.startedAt}: ${o.jobs} HTCondor jobs of ${o.jobSeconds} s, checksummed appends to gv0 from ${r.writers.map((w) => w.node).join(" and ")}, ${o.dwellSeconds} s degraded before each repair`,
    ];
    for (const k of r.kills) {
        lines.push(`  killed ${k.machine} (${k.role}) at ${f(k.at)} s; repaired by pulumi up in ${f(k.repairSeconds)} s${k.notes.length ? "; " + k.notes.join("; ") : ""}`);
    }
    const j = r.jobs;
    lines.push(
        `jobs: ${j.completed} of ${j.submitted} completed (target: all) ${pass(j.completed === j.submitted)}; ${j.startedMoreThanOnce} started more than once (their node was killed); submit to last done ${f(j.seconds)} s`,
    );
    for (const w of r.writers) {
        lines.push(
            `records from ${w.node}: ${w.written} written, ${w.intact} read back intact (target: equal) ${pass(w.intact === w.written && w.corrupt === 0)}; ` +
                `${w.corrupt} lines not intact, ${w.duplicates} read twice, ${w.writeErrors} appends failed; longest wait for an append ${f(w.longestStallSeconds)} s`,
        );
    }
    lines.push(`replicas of gv0 after healing: ${r.replicas.map((b) => `${b.brick} ${b.identical ? "identical" : "DIFFERS"}`).join(", ")} ${pass(r.replicas.length > 0 && r.replicas.every((b) => b.identical))}`);
    const fd = r.frontDoor;
    lines.push(
        `front door (a new SSH session every 250 ms): ${fd.failed} of ${fd.probes} failed; ` +
            (fd.outages.length === 0
                ? "no outage"
                : `outages: ${fd.outages.map((x) => `${f(x.seconds)} s${x.open ? " (still down at the end)" : ""} after ${x.after} (${x.failedProbes} probes)`).join(", ")}`),
    );
    lines.push(`after the run: pulumi preview ${r.previewClean ? "reports no changes" : "REPORTS CHANGES"} ${pass(r.previewClean)}`);
    lines.push(r.problems.length === 0 ? "chaos: nothing lost" : `chaos: ${r.problems.length} problem(s):\n${r.problems.map((p) => "  - " + p).join("\n")}`);
    return lines;
}

interface Outputs {
    backend: string;
    nodes: Record<string, NodeOutput>;
    adminPrivateKey: string;
    vips: { internal: string; external: string };
    sshFrontDoor: { host: string; port: number };
    glusterBricks: Record<string, { bricks: string[]; replica?: number }>;
    glusterVolumes: Record<string, string>;
}

/** A stack that cannot be run against: what is wrong and what to do, without a stack trace. */
export class ChaosRefused extends Error {}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
    const t0 = Date.now();
    const deadline = t0 + o.deadlineMinutes * 60_000;
    const now = () => (Date.now() - t0) / 1000;
    const left = () => Math.max(1000, deadline - Date.now());
    const say = (msg: string) => o.progress(`[${now().toFixed(0).padStart(4)} s] ${msg}`);

    const raw = await o.project.pulumi(["stack", "output", "--stack", o.stack, "--json", "--show-secrets"], 120_000);
    if (raw.code !== 0) throw new ChaosRefused(`no outputs of stack ${o.stack}: ${raw.stderr.trim().split("\n").pop()} (is it up? pulumi up --stack ${o.stack})`);
    const out = JSON.parse(raw.stdout) as Outputs;
    if (out.backend !== "nspawn") {
        throw new ChaosRefused(`stack ${o.stack} has backend "${out.backend}": chaos kills systemd-nspawn machines and runs only against the local backend (nspawn)`);
    }
    const stateDir = hostNames(o.stack).stateDir;
    const byRole = (role: string) => Object.keys(out.nodes).filter((n) => out.nodes[n].role === role).sort();
    const directors = byRole("directors");
    const compute = byRole("compute");
    const san = byRole("san");
    const notRunning = Object.keys(out.nodes).filter((n) => nspawnPid(stateDir, n) === undefined);
    if (notRunning.length > 0) throw new ChaosRefused(`stack ${o.stack}: ${notRunning.join(", ")} not running; bring the stack up first (pulumi up --stack ${o.stack})`);
    if (directors.length !== 2 || compute.length < 4 || san.length < 3) {
        throw new ChaosRefused(`stack ${o.stack} needs 2 directors, 4 compute nodes and 3 SAN nodes (has ${directors.length}, ${compute.length}, ${san.length})`);
    }
    const replicated = Object.entries(out.glusterBricks).find(([, v]) => (v.replica ?? 1) > 1);
    if (!replicated) throw new ChaosRefused(`stack ${o.stack} has no replicated Gluster volume to write to`);
    const [volume, { bricks }] = replicated;
    const mount = out.glusterVolumes[volume];

    // Who does what: the first compute node submits and writes, the second
    // writes, the last reads; the third is killed. The SAN node killed is the
    // first, the one the others' mounts fetch the volume layout from.
    const [submit, writer2, victim] = compute;
    const reader = compute[compute.length - 1];
    const writers = [submit, writer2];
    const vipHolder = () => directors.filter((d) => addressesOf(stateDir, d).includes(out.vips.external));
    const [master] = vipHolder();
    if (!master) throw new ChaosRefused(`no director of stack ${o.stack} holds the VIP ${out.vips.external}`);
    const backup = directors.find((d) => d !== master)!;
    const sanVictim = san[0];

    const down = new Set<string>();
    /** A node as reached now: through a director that is up. */
    const reach = (name: string) => throughLiveDirector(out.nodes, directors, down, name);
    const ssh = new Ssh(out.adminPrivateKey, out.nodes, frontDoorKnownHosts(out.sshFrontDoor, out.nodes, compute));
    const run = (node: string, cmd: string, timeoutMs = 60_000) => ssh.run(reach(node), cmd, timeoutMs);
    const asJordi = (script: string, timeoutMs = 60_000) => ssh.runAs(reach(submit), "jordi", script, timeoutMs);
    const up = () => o.project.ok(["up", "--stack", o.stack, "--yes", "--skip-preview"], Math.min(1_800_000, left()));
    const kill = (machine: string) => {
        crash(stateDir, machine);
        down.add(machine);
    };

    const events: { t: number; label: string }[] = [];
    const samples: { t: number; ok: boolean }[] = [];
    let probing = true;
    const problems: string[] = [];
    const result: ChaosResult = {
        startedAt: new Date(t0).toISOString(),
        kills: [],
        jobs: { submitted: o.jobs, completed: 0, startedMoreThanOnce: 0, seconds: NaN },
        writers: [],
        replicas: [],
        frontDoor: { probes: 0, failed: 0, outages: [] },
        previewClean: false,
        problems,
    };
    const prober = (async () => {
        while (probing) {
            const t = now();
            samples.push({ t, ok: await sshGreets(out.sshFrontDoor.host, out.sshFrontDoor.port, 1000) });
            await sleep(Math.max(0, 250 - (now() - t) * 1000));
        }
    })();

    try {
        say(`pool ready? every compute node's startd in condor_status`);
        // A dead startd's dynamic slots linger in the collectors for a while: the partitionable ones count.
        let listed = "";
        await until(async () => {
            listed = (await asJordi(`condor_status -constraint 'SlotType =!= "Dynamic"' -af Machine | cut -d. -f1 | sort -u | paste -sd,`)).trim();
            return listed === compute.join();
        }, Math.min(300_000, left()), 1000).catch(() => {
            throw new Error(`the pool lists ${listed || "no startd"}, not every compute node (${compute.join()}), after 300 s`);
        });
        await run(reader, `mountpoint -q ${mount}`);

        say(`writers on ${writers.join(" and ")}: appending to ${mount}/chaos/`);
        await run(submit, `mkdir -p ${mount}/chaos && rm -f ${writers.map((w) => `${mount}/chaos/${w}.log`).join(" ")}`);
        const script = Buffer.from(writerScript).toString("base64");
        const stopBy = Math.floor(deadline / 1000);
        await Promise.all(
            writers.map((w) =>
                run(
                    w,
                    `systemctl stop ${WRITER_UNIT} 2>/dev/null; systemctl reset-failed ${WRITER_UNIT} 2>/dev/null; rm -rf ${WRITER_DIR} && mkdir -p ${WRITER_DIR} && ` +
                        `echo ${script} | base64 -d >${WRITER_DIR}/writer.sh && ` +
                        `systemd-run --quiet --collect --unit ${WRITER_UNIT} bash ${WRITER_DIR}/writer.sh ${mount}/chaos/${w}.log ${WRITER_DIR} ${stopBy}`,
                ),
            ),
        );

        say(`${o.jobs} jobs of ${o.jobSeconds} s submitted by jordi on ${submit}`);
        await asJordi(
            `rm -rf ~/chaos && mkdir ~/chaos && cp /usr/local/share/thesis-cluster/condor/myprog ~/chaos/ && cd ~/chaos && ` +
                `printf 'executable = myprog\\narguments = chaos ${o.jobSeconds}\\noutput = out.$(Process)\\nerror = err.$(Process)\\nlog = chaos.log\\nqueue ${o.jobs}\\n' > chaos.sub`,
        );
        const submitted = Date.now();
        const cluster = clusterOf(await asJordi("cd ~/chaos && condor_submit chaos.sub"));

        const repair = async (k: KillResult) => {
            await sleep(o.dwellSeconds * 1000);
            say(`pulumi up to repair ${k.machine}`);
            events.push({ t: now(), label: `the repair of ${k.machine}` });
            const start = Date.now();
            await up();
            k.repairSeconds = (Date.now() - start) / 1000;
            down.delete(k.machine);
            result.kills.push(k);
        };
        const hit = (machine: string, role: string): KillResult => {
            say(`kill ${machine} (${role})`);
            const at = now();
            events.push({ t: at, label: `kill ${machine}` });
            kill(machine);
            return { machine, role, at, repairSeconds: NaN, notes: [] };
        };

        // A compute node while it runs one of the jobs.
        await until(async () => (await asJordi(`condor_q ${cluster} -run -af RemoteHost`)).includes(victim), Math.min(180_000, left()), 250).catch(() => {
            throw new Error(`no job ran on ${victim} within 180 s of the submit`);
        });
        await repair(hit(victim, "compute"));

        // A SAN node: the replicated volume goes on with two bricks of three.
        await repair(hit(sanVictim, "SAN"));

        // The master director: the VIP moves to the backup.
        const m = hit(master, "master director");
        const moved = await until(() => vipHolder().join() === backup, 20_000, 10).catch(() => NaN);
        m.notes.push(`VIP on ${backup} after ${moved.toFixed(2)} s`);
        if (Number.isNaN(moved)) problems.push(`the VIP did not move to ${backup} within 20 s of ${master}'s death`);
        await repair(m);
        const back = await until(() => vipHolder().join() === master, Math.min(120_000, left()), 100).catch(() => NaN);
        m.notes.push(`VIP back on ${master} ${back.toFixed(1)} s after the repair`);
        if (Number.isNaN(back)) problems.push(`the VIP did not come back to ${master} within 120 s of its repair`);

        // Then the backup, with the master back: the VIP should stay.
        const b = hit(backup, "backup director");
        await repair(b);
        const holders = vipHolder().join();
        b.notes.push(`VIP on ${holders || "no director"} after the repair`);

        say("waiting for the jobs to complete");
        await waitForJobs(ssh, reach(submit), "jordi", "~/chaos", "chaos.log", cluster, Math.floor(Math.min(1_200_000, left()) / 1000));
        result.jobs.seconds = (Date.now() - submitted) / 1000;
        result.jobs.completed = Number((await asJordi(`cd ~/chaos && grep -l 'Sleep of ${o.jobSeconds} seconds finished' out.* 2>/dev/null | wc -l`)).trim());
        result.jobs.startedMoreThanOnce = Number(
            (await asJordi(`condor_history ${cluster} -af NumJobStarts | awk '$1 > 1' | wc -l`)).trim(),
        );
        if (result.jobs.completed !== o.jobs) problems.push(`${o.jobs - result.jobs.completed} of ${o.jobs} jobs did not complete`);
    } catch (e) {
        problems.push(`the run stopped: ${(e as Error).message.split("\n").slice(0, 6).join(" | ")}`);
    } finally {
        // Whatever happened: a machine still down (the run stopped early)
        // brought back, the writers stopped, their records checked.
        if (down.size > 0) {
            await up()
                .then(() => down.clear())
                .catch((e: Error) => problems.push(`the final repair failed: ${e.message.split("\n")[0]}`));
        }
        say("stopping the writers; reading their records back");
        for (const w of writers) {
            try {
                await run(w, `touch ${WRITER_DIR}/stop; for i in $(seq 100); do [ -e ${WRITER_DIR}/finished ] && break; sleep 0.2; done; systemctl stop ${WRITER_UNIT} 2>/dev/null; true`);
                const [written, errors, gapMs] = (await run(w, `cat ${WRITER_DIR}/count 2>/dev/null || echo 0 0 0`)).trim().split(" ").map(Number);
                result.writers.push({ node: w, file: `${mount}/chaos/${w}.log`, written, intact: 0, corrupt: 0, duplicates: 0, writeErrors: errors, longestStallSeconds: gapMs / 1000 });
                if (errors > 0) problems.push(`${errors} appends on ${w} failed: ${(await run(w, `head -3 ${WRITER_DIR}/errors`)).trim().replace(/\n/g, " | ")}`);
            } catch (e) {
                problems.push(`writer on ${w} not readable: ${(e as Error).message.split("\n")[0]}`);
            }
        }
        try {
            // Every brick healed, then each file read on a node that did not write it and on every brick.
            const healed = await until(
                async () => (await run(sanVictim, `gluster volume heal ${volume} info | awk '/^Number of entries:/ {n += ($4 == "-") ? 1000 : $4} END {print n + 0}'`)).trim() === "0",
                Math.min(300_000, left()),
                2000,
            ).catch(() => NaN);
            if (Number.isNaN(healed)) problems.push(`${volume} still had entries to heal after 300 s`);
            for (const w of result.writers) {
                const text = await run(reader, `cat ${w.file}`, 300_000);
                Object.assign(w, verifyRecords(text, w.node, w.written));
                if (w.intact !== w.written) problems.push(`${w.written - w.intact} of ${w.written} records written by ${w.node} not read back intact`);
                if (w.corrupt > 0) problems.push(`${w.corrupt} lines of ${w.file} do not verify`);
                const digest = crypto.createHash("sha256").update(text).digest("hex");
                for (const brick of bricks) {
                    const [node, dir] = brick.split(":");
                    const copy = (await run(node, `sha256sum ${dir}/chaos/${w.node}.log | cut -c1-64`)).trim();
                    const identical = copy === digest;
                    const row = result.replicas.find((r) => r.brick === brick);
                    if (row) row.identical = row.identical && identical;
                    else result.replicas.push({ brick, identical });
                    if (!identical) problems.push(`${brick}'s copy of ${w.file} differs from what ${reader} reads`);
                }
            }
        } catch (e) {
            problems.push(`records not checked: ${(e as Error).message.split("\n")[0]}`);
        }
        probing = false;
        await prober;
        result.frontDoor = { probes: samples.length, failed: samples.filter((s) => !s.ok).length, outages: outagesOf(samples, events) };
        const preview = await o.project.pulumi(["preview", "--stack", o.stack, "--expect-no-changes"], 600_000);
        result.previewClean = preview.code === 0;
        if (!result.previewClean) problems.push(`pulumi preview after the run reports changes or fails: ${preview.stdout.split("\n").filter((l) => /^\s*[~+-]|error/.test(l)).slice(0, 8).join(" | ")}`);
        ssh.remove();
    }
    return result;
}
