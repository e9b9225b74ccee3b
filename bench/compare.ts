/**
 * HTCondor and Slurm side by side on the same cluster, in one run (the
 * thesis' future work, section 6): each measurement taken the same way for
 * both, `rounds` times, reported as the median with min and max. A director
 * or compute node is crashed once per round for both managers at once.
 * Used by `npm run bench -- --only schedulers`.
 */
import { clusterOf, myjobIdeal, waitForJobs, waitForSettledPool } from "../tests/e2e/condor";
import { crash } from "../tests/e2e/host";
import { sleep, until } from "../tests/e2e/probe";
import { jobIdOf, sacctRecords, waitForSlurmJob } from "../tests/e2e/slurm";
import { NodeOutput, Ssh, throughLiveDirector } from "../tests/e2e/ssh";
import { median, Row } from "./report";

export interface CompareContext {
    ssh: Ssh;
    nodes: Record<string, NodeOutput>;
    executeSlots: Record<string, number>;
    stateDir: string;
    /** `pulumi up` of the stack: repairs a crashed machine. */
    up: () => Promise<unknown>;
    progress: (msg: string) => void;
}

type Manager = "HTCondor" | "Slurm";
const MANAGERS: Manager[] = ["HTCondor", "Slurm"];
type Samples = Record<Manager, number[]>;
const samples = (): Samples => ({ HTCondor: [], Slurm: [] });

const CONDOR = "/usr/local/share/thesis-cluster/condor";
const SLURM = "/usr/local/share/thesis-cluster/slurm";

/** A job's own line "<host> <epoch seconds>" (written when it ran), as [host, seconds]. */
const stamp = (text: string): [string, number] => {
    const [host, t] = text.trim().split(/\s+/);
    return [host, Number(t)];
};
/** The job both managers run: sleeps $1 seconds, then prints where and when it ended. */
const STAMP_SCRIPT = ["#!/bin/sh", 'sleep "${1:-0}"', 'echo "$(hostname) $(date +%s.%N)"'].join("\n");
/** A fresh directory of jordi's with the stamp job and an HTCondor submit file for `count` of them, sleeping `sleep` s. */
const stampDir = (dir: string, count: number, sleep: number) =>
    `rm -rf ${dir} && mkdir ${dir} && cd ${dir} && echo ${Buffer.from(STAMP_SCRIPT).toString("base64")} | base64 -d >stamp && chmod 755 stamp && ` +
    `printf 'executable = stamp\\narguments = ${sleep}\\noutput = condor.out.$(Process)\\nerror = condor.err\\nlog = condor.log\\nqueue ${count}\\n' >stamp.sub`;

/** An HTCondor user log event's time ("001 (12.000.000) 2026-12-04 09:30:01 …" or "… 12/04 09:30:01 …"), epoch seconds. */
export function eventTime(line: string): number {
    const [, , day, time] = line.split(" ");
    const date = /^\d{4}-/.test(day) ? day : `${new Date().getUTCFullYear()}-${day.replace("/", "-")}`;
    return Date.parse(`${date}T${time}Z`) / 1000;
}

/** A compared figure, with a stable key for the evaluation's results (schedulers.makespan.slurm …). */
export type ComparedRow = Row & { id: string };

export async function compareSchedulers(c: CompareContext, rounds: number): Promise<ComparedRow[]> {
    const down = new Set<string>();
    const node = (n: string) => throughLiveDirector(c.nodes, ["cluster1", "master2"], down, n);
    const jordi = (script: string, timeoutMs = 900_000) => c.ssh.runAs(node("cluster2"), "jordi", script, timeoutMs);
    const settled = async () => {
        await waitForSettledPool(c.ssh, c.nodes, node("cluster2"), "jordi", c.executeSlots, ["cluster1", "master2"], { slotsMs: 600_000, negotiatorMs: 300_000 });
        await until(async () => /^Slurmctld\(primary\) at cluster1 is UP\nSlurmctld\(backup\) at master2 is UP/.test(await jordi("scontrol ping 2>&1 || true")), 300_000, 1000);
        await until(async () => (await jordi("sinfo -h -o %t | sort -u")).trim() === "idle", 300_000, 1000);
    };
    const repair = async () => {
        await c.up();
        down.clear();
        await settled();
    };
    const kill = (m: string) => {
        crash(c.stateDir, m);
        down.add(m);
        return Date.now() / 1000;
    };
    const { slots, ideal } = myjobIdeal(c.executeSlots);
    const makespan = samples();
    const firstStart = samples();
    const takeover = samples();
    const nodeLost = samples();
    const resume = samples();

    await settled();
    for (let r = 1; r <= rounds; r++) {
        const round = `schedulers round ${r}/${rounds}`;
        // The thesis' 100 jobs of 2 s on shared homes, one manager after the other (the order alternates).
        for (const m of r % 2 ? MANAGERS : [...MANAGERS].reverse()) {
            c.progress(`${round}: 100 × 2 s, ${m}`);
            const dir = `~/cmp-${m.toLowerCase()}`;
            await jordi(`rm -rf ${dir} && mkdir ${dir} && cp ${m === "HTCondor" ? `${CONDOR}/myprog ${CONDOR}/myjob.condor` : `${SLURM}/myprog ${SLURM}/myjob.sbatch`} ${dir}/`);
            const t0 = Date.now();
            if (m === "HTCondor") {
                const cluster = clusterOf(await jordi(`cd ${dir} && condor_submit myjob.condor`));
                await waitForJobs(c.ssh, node("cluster2"), "jordi", dir, "results.log", cluster, 600);
            } else {
                await waitForSlurmJob(c.ssh, node("cluster2"), "jordi", jobIdOf(await jordi(`cd ${dir} && sbatch --parsable myjob.sbatch`)), 600);
            }
            makespan[m].push((Date.now() - t0) / 1000);
            const done = (await jordi(`cd ${dir} && grep -l 'Sleep of 2 seconds finished' results.output.* | wc -l`)).trim();
            if (done !== "100") throw new Error(`${m}: ${done} of 100 jobs finished`);
        }

        // One job on the idle cluster: from the submit command to the job's own first line, on cluster2's clock.
        c.progress(`${round}: submit to start of one job`);
        await jordi(stampDir("~/cmp-one", 1, 0));
        const condorAt = Number((await jordi("cd ~/cmp-one && date +%s.%N && condor_submit stamp.sub >/dev/null")).trim());
        const slurmAt = Number((await jordi("cd ~/cmp-one && date +%s.%N && sbatch -o slurm.out stamp 0 >/dev/null")).trim());
        await until(async () => (await jordi("cat ~/cmp-one/condor.out.0 ~/cmp-one/slurm.out 2>/dev/null | wc -l")).trim() === "2", 300_000, 500);
        firstStart.HTCondor.push(stamp(await jordi("cat ~/cmp-one/condor.out.0"))[1] - condorAt);
        firstStart.Slurm.push(stamp(await jordi("cat ~/cmp-one/slurm.out"))[1] - slurmAt);

        // cluster1 lost as in a power cut; at once a job to each manager, from cluster2 (through master2).
        c.progress(`${round}: cluster1's power cut, a job to each manager at once`);
        await jordi(stampDir("~/cmp-crash", 1, 0));
        const crashed = kill("cluster1");
        await Promise.all([jordi("cd ~/cmp-crash && condor_submit stamp.sub >/dev/null"), jordi("cd ~/cmp-crash && sbatch -o slurm.out stamp 0 >/dev/null")]);
        await until(async () => (await jordi("cat ~/cmp-crash/condor.out.0 ~/cmp-crash/slurm.out 2>/dev/null | wc -l")).trim() === "2", 600_000, 1000);
        takeover.HTCondor.push(stamp(await jordi("cat ~/cmp-crash/condor.out.0"))[1] - crashed);
        takeover.Slurm.push(stamp(await jordi("cat ~/cmp-crash/slurm.out"))[1] - crashed);
        c.progress(`${round}: repairing cluster1`);
        await repair();

        // cluster4 lost while each manager runs a 20 s job there: until that job has run to its end elsewhere.
        c.progress(`${round}: cluster4's power cut under a 20 s job of each manager`);
        await jordi(stampDir("~/cmp-node", slots, 20));
        const cluster = clusterOf(await jordi("cd ~/cmp-node && condor_submit stamp.sub"));
        const array = jobIdOf(await jordi(`cd ~/cmp-node && sbatch --parsable --array=0-${slots - 1} -o slurm.out.%a stamp 20`));
        await until(
            async () =>
                (await jordi(`condor_q ${cluster} -run -af RemoteHost`)).includes("cluster4") && (await jordi(`squeue -h -j ${array} -t R -o %N`)).includes("cluster4"),
            300_000,
            500,
        );
        await sleep(1000);
        const lost = kill("cluster4");
        await waitForJobs(c.ssh, node("cluster2"), "jordi", "~/cmp-node", "condor.log", cluster, 900);
        await waitForSlurmJob(c.ssh, node("cluster2"), "jordi", array, 900);
        const last = async (glob: string) =>
            Math.max(
                ...(await jordi(`cat ~/cmp-node/${glob}`))
                    .trim()
                    .split("\n")
                    .map((l) => stamp(l)[1]),
            );
        nodeLost.HTCondor.push((await last("condor.out.*")) - lost);
        nodeLost.Slurm.push((await last("slurm.out.*")) - lost);
        c.progress(`${round}: repairing cluster4`);
        await repair();

        // The self-checkpointing pi interrupted (HTCondor: vacated; Slurm: its warning signal), until it runs again from the checkpoint.
        c.progress(`${round}: pi interrupted after its first checkpoint, each manager`);
        await jordi(`rm -rf ~/cmp-pi && mkdir ~/cmp-pi && cd ~/cmp-pi && cp ${CONDOR}/pi.c ${CONDOR}/pi.sub ${SLURM}/pi.sbatch . && gcc -O2 -o pi pi.c`);
        const piCluster = clusterOf(await jordi("cd ~/cmp-pi && condor_submit pi.sub"));
        await until(async () => /^001 /m.test(await jordi("cat ~/cmp-pi/pi.log 2>/dev/null || true")), 120_000, 500);
        await sleep(4000);
        await jordi(`condor_vacate_job ${piCluster}.0`);
        await waitForJobs(c.ssh, node("cluster2"), "jordi", "~/cmp-pi", "pi.log", piCluster, 900);
        const events = (await jordi("grep -E '^(001|004) ' ~/cmp-pi/pi.log")).trim().split("\n");
        const evicted = events.findIndex((e) => e.startsWith("004 "));
        resume.HTCondor.push(eventTime(events[evicted + 1]) - eventTime(events[evicted]));
        await jordi("rm -f ~/cmp-pi/pi.ckpt");
        const piJob = jobIdOf(await jordi("cd ~/cmp-pi && sbatch --parsable pi.sbatch"));
        await until(async () => (await jordi("test -s ~/cmp-pi/pi.ckpt && echo yes || echo no")).trim() === "yes", 120_000, 500);
        await jordi(`scancel --signal=USR1 --batch ${piJob}`);
        await waitForSlurmJob(c.ssh, node("cluster2"), "jordi", piJob, 900);
        const recs = await sacctRecords(c.ssh, node("cluster2"), "jordi", piJob);
        resume.Slurm.push(recs[1].start - recs[0].end);
    }

    const row = (key: string, what: string, m: Manager, xs: number[], note: string, goal?: Row["goal"]): ComparedRow => ({
        id: `schedulers.${key}.${m === "HTCondor" ? "htcondor" : "slurm"}`,
        what: `${what}: ${m}`,
        value: median(xs),
        unit: "s",
        how: `median of ${xs.length}`,
        samples: xs,
        goal,
        note: `min ${Math.min(...xs).toFixed(1)} s, max ${Math.max(...xs).toFixed(1)} s; ${note}`,
    });
    const rows: ComparedRow[] = [];
    for (const m of MANAGERS) {
        rows.push(row("makespan", `100 × 2 s jobs, shared homes, ${slots} CPUs`, m, makespan[m], `ideal ${ideal} s`, m === "Slurm" ? { op: "<=", value: Math.round(ideal * 11) / 10 } : undefined));
    }
    for (const m of MANAGERS) {
        rows.push(row("overhead", "overhead per job (makespan over ideal, per job on a CPU)", m, makespan[m].map((s) => (s - ideal) / (100 / slots)), "the gap between one job's end and the next start on the same CPU"));
    }
    for (const m of MANAGERS) rows.push(row("submitToStart", "one job, submit to start on an idle cluster", m, firstStart[m], "the job's own clock against the submit command's, on cluster2"));
    for (const m of MANAGERS) {
        rows.push(
            row(
                "directorLost",
                "director cluster1 lost: a job submitted at once has run",
                m,
                takeover[m],
                m === "Slurm" ? "the backup slurmctld takes over (SlurmctldTimeout), sbatch waits for it" : "HAD starts master2's negotiator; the schedule is local to cluster2",
                m === "Slurm" ? { op: "<", value: 15 } : undefined,
            ),
        );
    }
    for (const m of MANAGERS) rows.push(row("nodeLost", "compute node lost under a 20 s job: that job done elsewhere", m, nodeLost[m], "from the power cut to the rerun's end"));
    for (const m of MANAGERS) {
        rows.push(row("checkpointResume", "pi interrupted: runs again from its checkpoint", m, resume[m], m === "Slurm" ? "sacct: requeue to restart (requeueDelaySeconds)" : "pi.log: eviction to the next execute event"));
    }
    return rows;
}
