/** The HTCondor pool as the e2e test and the bench read it: negotiators, and a job cluster's own times. */
import { until } from "./probe";
import { NodeOutput, Ssh } from "./ssh";

/** How many negotiator processes each director runs, e.g. "cluster1:1 master2:0". */
export async function negotiatorProcesses(ssh: Ssh, nodes: Record<string, NodeOutput>, directors = ["cluster1", "master2"]): Promise<string> {
    const counts = await Promise.all(directors.map(async (d) => `${d}:${(await ssh.run(nodes[d], "pgrep -c -f '^condor_negotiator' || true")).trim()}`));
    return counts.join(" ");
}

/**
 * Waits for a settled pool: every execute node's partitionable slot listed in
 * condor_status (asked by USER on SUBMIT) and one negotiator process, on the
 * first director. Each wait has its own bound; running past one fails with
 * what was seen. Dynamic slots are not counted: one of a node that died stays
 * in the collector until its ad's lifetime ends (15 min), though nothing is
 * matched to it.
 */
export async function waitForSettledPool(
    ssh: Ssh,
    nodes: Record<string, NodeOutput>,
    submit: NodeOutput,
    user: string,
    executeSlots: Record<string, number>,
    directors: [string, string],
    within = { slotsMs: 300_000, negotiatorMs: 300_000 },
): Promise<void> {
    const nodesWithSlots = Object.keys(executeSlots).length;
    let listed = "";
    await until(
        async () => (listed = (await ssh.runAs(submit, user, `condor_status -constraint 'SlotType =!= "Dynamic"' -af Name | wc -l`, 120_000)).trim()) === String(nodesWithSlots),
        within.slotsMs,
        1000,
    ).catch(() => {
        throw new Error(`the pool lists ${listed} execute nodes' slots, not ${nodesWithSlots}, after ${within.slotsMs / 1000} s: condor_status on ${submit.ssh.host} shows which`);
    });
    const [first, second] = directors;
    let now = "";
    await until(async () => (now = await negotiatorProcesses(ssh, nodes, directors)) === `${first}:1 ${second}:0`, within.negotiatorMs, 1000).catch(() => {
        throw new Error(`the negotiators are ${now}, not only ${first}'s, after ${within.negotiatorMs / 1000} s`);
    });
}

/**
 * Whether the negotiator on NODE has begun a cycle since it last re-read its
 * config. A reconfig does not re-arm the negotiator's cycle timer: a shorter
 * NEGOTIATOR_INTERVAL takes effect only after one more cycle at the old one
 * (seen: the first job after a switch from HTCondor's defaults to the tuned
 * pool matched 33 s after its submit, when the old 60 s period ran out).
 */
export async function negotiatorCycledSinceReconfig(ssh: Ssh, node: NodeOutput): Promise<boolean> {
    const script = "awk '/Got SIGHUP/ {h = NR} /Started Negotiation Cycle/ {c = NR} END {print (c > h) ? \"yes\" : \"no\"}' /var/log/condor/NegotiatorLog";
    return (await ssh.run(node, script)).trim() === "yes";
}

/** A finished job cluster in HTCondor's own clock (whole seconds): queued, first start, last end. */
export interface JobTimes {
    /** From the submit to the first job's start. */
    firstStart: number;
    /** From the first job's start to the last job's end. */
    span: number;
    /** The submit and the first start, in seconds since the epoch. */
    queuedAt: number;
    firstStartAt: number;
}

/** Reads a finished cluster's times from condor_history on its submit node. */
export async function jobTimes(ssh: Ssh, submitNode: NodeOutput, cluster: number): Promise<JobTimes> {
    const rows = (await ssh.run(submitNode, `condor_history ${cluster} -af QDate JobStartDate CompletionDate`))
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/).map(Number));
    if (rows.some((r) => r.length !== 3 || r.some((n) => !Number.isFinite(n)))) {
        throw new Error(`condor_history ${cluster}: no complete job times`);
    }
    const queued = Math.min(...rows.map((r) => r[0]));
    const firstStart = Math.min(...rows.map((r) => r[1]));
    const lastEnd = Math.max(...rows.map((r) => r[2]));
    return { firstStart: firstStart - queued, span: lastEnd - firstStart, queuedAt: queued, firstStartAt: firstStart };
}

/**
 * What the schedd (on the submit node) and the negotiators (on the directors) logged
 * between a cluster's submit and its first start: the story of a slow first match.
 */
export async function matchLogs(ssh: Ssh, nodes: Record<string, NodeOutput>, submitNode: string, t: JobTimes, directors = ["cluster1", "master2"]): Promise<string> {
    // Log lines start "MM/DD/YY HH:MM:SS"; compared as strings within the window.
    const window = (file: string) =>
        `from=$(date -d @${t.queuedAt - 1} '+%m/%d/%y %H:%M:%S'); to=$(date -d @${t.firstStartAt + 1} '+%m/%d/%y %H:%M:%S'); ` +
        `awk -v f="$from" -v t="$to" '{ s = $1 " " $2 } s >= f && s <= t' ${file} 2>/dev/null | grep -v -e setEffectiveOwner -e 'Number of Active Workers' | head -100`;
    // A diagnostic: a log that cannot be read is said so, not thrown.
    const read = (node: string, file: string) => ssh.run(nodes[node], window(file)).catch((e: Error) => `(not readable: ${e.message.split("\n")[0]})`);
    const parts = [`${submitNode} SchedLog:\n${await read(submitNode, "/var/log/condor/SchedLog")}`];
    for (const d of directors) {
        const text = await read(d, "/var/log/condor/NegotiatorLog");
        if (text.trim()) parts.push(`${d} NegotiatorLog:\n${text}`);
    }
    return parts.join("\n");
}

/** The cluster id in condor_submit's output ("... submitted to cluster 7."). */
export function clusterOf(submitOutput: string): number {
    const m = submitOutput.match(/submitted to cluster (\d+)/);
    if (!m) throw new Error(`condor_submit printed no cluster id: ${submitOutput.trim()}`);
    return Number(m[1]);
}

/** The thesis' myjob (100 jobs of 2 s) on the pool's execute slots: the slots and the ideal makespan. */
export function myjobIdeal(executeSlots: Record<string, number>): { slots: number; ideal: number } {
    const slots = Object.values(executeSlots).reduce((a, b) => a + b, 0);
    return { slots, ideal: Math.ceil(100 / slots) * 2 };
}

/**
 * Waits (as `user` on the submit node) until every job of a cluster has left the
 * queue, by its user log. If they have not within `seconds`, fails with what the
 * queue and the log say of them, so a stuck job shows why.
 */
export async function waitForJobs(ssh: Ssh, submitNode: NodeOutput, user: string, dir: string, log: string, cluster: number, seconds: number): Promise<void> {
    try {
        await ssh.runAs(submitNode, user, `cd ${dir} && condor_wait -wait ${seconds} ${log} ${cluster} >/dev/null`, (seconds + 60) * 1000);
    } catch (e) {
        const report = await ssh
            .runAs(
                submitNode,
                user,
                `cd ${dir}; condor_q ${cluster} -totals | grep '^Total for query'; ` +
                    `echo "ProcId JobStatus (1 idle, 2 running, 5 held) RemoteHost LastRemoteHost NumShadowStarts HoldReason:"; ` +
                    `condor_q ${cluster} -af ProcId JobStatus RemoteHost LastRemoteHost NumShadowStarts HoldReason | head -12; ` +
                    `echo "last events of ${log}:"; grep -E '^[0-9]{3} ' ${log} | tail -12`,
            )
            .catch((r: Error) => `(queue not readable: ${r.message})`);
        throw new Error(`cluster ${cluster} not done after ${seconds} s: ${(e as Error).message.split("\n")[0]}\n${report}`);
    }
}

/** Where a finished cluster's jobs spent their time, in seconds (means over its jobs, from HTCondor's own whole-second clock). */
export interface JobPhases {
    jobs: number;
    /** Shadow start to the job's executable starting (input transfer, starter set-up). */
    startToExecute: number;
    /** The executable's run (until its output transfer began, or its end). */
    execute: number;
    /** Output transfer to the job's completion. */
    transferOut: number;
    /** On the same slot: one job's completion to the next one's shadow start. */
    gapOnSlot: number;
}

/** Reads a finished cluster's per-job phases from condor_history on its submit node. */
export async function jobPhases(ssh: Ssh, submitNode: NodeOutput, cluster: number): Promise<JobPhases> {
    const attrs = ["JobCurrentStartDate", "JobCurrentStartExecutingDate", "JobCurrentStartTransferOutputDate", "CompletionDate", "LastRemoteHost"];
    const rows = (await ssh.run(submitNode, `condor_history ${cluster} -af ${attrs.join(" ")}`))
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/))
        .map(([start, exec, out, done, slot]) => ({ start: Number(start), exec: Number(exec), out: Number(out), done: Number(done), slot }));
    const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
    const known = (x: number) => Number.isFinite(x) && x > 0;
    const gaps: number[] = [];
    const bySlot = new Map<string, typeof rows>();
    for (const r of rows) bySlot.set(r.slot, [...(bySlot.get(r.slot) ?? []), r]);
    for (const jobs of bySlot.values()) {
        jobs.sort((a, b) => a.start - b.start);
        for (let i = 1; i < jobs.length; i++) gaps.push(jobs[i].start - jobs[i - 1].done);
    }
    const execEnd = (r: (typeof rows)[number]) => (known(r.out) ? r.out : r.done);
    return {
        jobs: rows.length,
        startToExecute: mean(rows.filter((r) => known(r.exec)).map((r) => r.exec - r.start)),
        execute: mean(rows.filter((r) => known(r.exec)).map((r) => execEnd(r) - r.exec)),
        transferOut: mean(rows.filter((r) => known(r.out)).map((r) => r.done - r.out)),
        gapOnSlot: mean(gaps),
    };
}

export const formatPhases = (p: JobPhases) =>
    `per job (mean of ${p.jobs}): start to executing ${p.startToExecute.toFixed(2)} s, executing ${p.execute.toFixed(2)} s, ` +
    `output transfer ${Number.isFinite(p.transferOut) ? p.transferOut.toFixed(2) + " s" : "none"}, completion to the next start on its slot ${p.gapOnSlot.toFixed(2)} s`;
