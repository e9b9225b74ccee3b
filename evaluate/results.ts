/**
 * What `npm run evaluate` measures, as written to results.json: each figure
 * with its thesis section, value, unit, target and verdict, and the series
 * the report's charts are drawn from.
 */
import { Row, verdict } from "../bench/report";

/** The report's sections, in the thesis' order (chapter 5), then what the thesis checked elsewhere. */
export const SECTIONS = [
    { id: "5.1", title: "SAN storage: GlusterFS", thesis: "Thesis 5.1: 100 copies into each volume, and where they land" },
    { id: "5.2", title: "Channel bonding", thesis: "Thesis 5.2: bond0 in 802.3ad on the nas" },
    { id: "5.3", title: "High availability", thesis: "Thesis 5.3: a compute node's sshd down in HAProxy's stats page; the master director lost, the backup taking over" },
    { id: "5.4", title: "User jobs: MOSIX and HTCondor", thesis: "Thesis 5.4: MOSIX; HTCondor's queue of 100 jobs, checkpoint and restart" },
    { id: "4.6.1", title: "Users and homes: NIS and NFS", thesis: "Thesis 3.3, 3.4, 4.6.1: the NIS users on every node, the nas' export" },
    {
        id: "6",
        title: "Future work: Slurm beside HTCondor",
        thesis: "Thesis 6: other job managers configured, tested and compared; the same measurements of both on the same cluster, each run --rounds times (median, min, max)",
    },
    { id: "lifecycle", title: "Lifecycle: pulumi up, preview and destroy", thesis: "Beyond the thesis: the cluster as code, built, repaired and removed through the pulumi CLI (the bars in index.html's last chart)" },
] as const;
export type SectionId = (typeof SECTIONS)[number]["id"];

export interface Figure extends Row {
    /** Stable key, e.g. "ha.vipTakeover". */
    id: string;
    section: SectionId;
}

/** One job of a run, in seconds since its cluster's submit (HTCondor's whole-second clock). */
export interface JobSpan {
    run: string;
    job: number;
    slot: string;
    start: number;
    end: number;
    /** A run cut short by its node's death (the job ran again elsewhere). */
    lost?: boolean;
}

/** A probe of the SSH front door: seconds since the crash, and whether it greeted. */
export interface Probe {
    t: number;
    ok: boolean;
}

export interface Results {
    command: string;
    stack: string;
    fresh: boolean;
    host: { name: string; cores: number; memoryGiB: number; kernel: string };
    /** The commit the program was at, and whether the tree had changes. */
    commit: string;
    startedAt: string;
    finishedAt: string;
    figures: Figure[];
    series: {
        jobs: JobSpan[];
        probes: Probe[];
        /** Moments on the probes' clock: the crash, the VIP on the backup, the front door back. */
        events: { t: number; label: string }[];
        bricks: { volume: string; brick: string; files: number }[];
        lifecycle: { what: string; seconds: number; target?: number }[];
    };
    /** Per section, what was found besides the figures. */
    notes: Partial<Record<SectionId, string[]>>;
    /** Why the run stopped early, when it did. */
    stopped?: string;
}

export const emptySeries = (): Results["series"] => ({ jobs: [], probes: [], events: [], bricks: [], lifecycle: [] });

/** Figures with a target, and those that missed it. */
export function tally(figures: Figure[]): { targets: number; missed: Figure[] } {
    const withTarget = figures.filter((f) => f.goal);
    return { targets: withTarget.length, missed: withTarget.filter((f) => verdict(f) === "MISS") };
}
