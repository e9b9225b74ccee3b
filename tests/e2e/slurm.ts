import { until } from "./probe";
import { NodeOutput, Ssh } from "./ssh";

/** Where the compute nodes keep the thesis' test jobs for Slurm (components/jobs/slurm.ts). */
export const SLURM_EXAMPLES = "/usr/local/share/thesis-cluster/slurm";

/** The job id sbatch --parsable printed (an array's own id). */
export function jobIdOf(sbatchOutput: string): number {
    const m = sbatchOutput.trim().match(/^(\d+)(;|$)/m);
    if (!m) throw new Error(`no job id in sbatch's output: ${sbatchOutput}`);
    return Number(m[1]);
}

/**
 * Waits until job `id` (every task of an array) has left the queue, read from
 * the controller in control; `seconds` bounds the wait.
 */
export async function waitForSlurmJob(ssh: Ssh, node: NodeOutput, user: string, id: number, seconds: number): Promise<void> {
    await until(async () => (await ssh.runAs(node, user, `squeue -h -j ${id} -o %i 2>&1 | head -1`)).trim() === "", seconds * 1000, 500).catch(() => {
        throw new Error(`Slurm job ${id} was still queued after ${seconds} s`);
    });
}

/** One record of sacct: a job (or array task) as accounting has it, requeues as separate records (--duplicates). */
export interface SacctRecord {
    id: string;
    state: string;
    node: string;
    submit: number;
    start: number;
    end: number;
}

/** Every allocation record of job `id` (sacct -X -D), times in epoch seconds. */
export async function sacctRecords(ssh: Ssh, node: NodeOutput, user: string, id: number): Promise<SacctRecord[]> {
    const text = await ssh.runAs(node, user, `SLURM_TIME_FORMAT=%s sacct -n -P -X -D -j ${id} -o JobID,State,NodeList,Submit,Start,End`);
    return text
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => {
            const [jid, state, host, submit, start, end] = l.split("|");
            return { id: jid, state: state.split(" ")[0], node: host, submit: Number(submit), start: Number(start), end: Number(end) };
        });
}

/** The makespan of an array's records: its first start to its last end, and the first submit. */
export function span(records: SacctRecord[]): { submit: number; firstStart: number; lastEnd: number } {
    return {
        submit: Math.min(...records.map((r) => r.submit)),
        firstStart: Math.min(...records.map((r) => r.start)),
        lastEnd: Math.max(...records.map((r) => r.end)),
    };
}
