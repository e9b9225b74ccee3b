/**
 * The bench's rows: each figure measured beside its goal, with the ratio, and
 * whether it met it. `--check` turns a missed goal into a non-zero exit.
 */

export interface Goal {
    /** The figure must be below (`<`), at most (`<=`), at least (`>=`) or exactly (`=`) `value`. */
    op: "<" | "<=" | ">=" | "=";
    value: number;
}

/** Counts (`failed`, `files` …) are whole numbers; `yes/no` is 1 for yes, 0 for no. */
export type Unit = "s" | "%" | "MiB" | "failed" | "files" | "jobs" | "nodes" | "moves" | "yes/no";

export interface Row {
    /** The table line, e.g. "no-op up, settled cluster (10 machines)". */
    what: string;
    /** The figure compared with the goal (a median, the worst run …: `how` says which). */
    value: number;
    unit: Unit;
    goal?: Goal;
    /** Which statistic `value` is, when there are several samples: "median of 3", "worst of 3". */
    how?: string;
    samples?: number[];
    note?: string;
    /** A figure that is words, not a number (a bond's absence, MOSIX off): shown instead of the value. */
    text?: string;
}

export type Verdict = "PASS" | "MISS" | "—";

export function verdict(r: Row): Verdict {
    if (!r.goal) return "—";
    if (!Number.isFinite(r.value)) return "MISS";
    const { op, value } = r.goal;
    const met = op === "<" ? r.value < value : op === "<=" ? r.value <= value : op === ">=" ? r.value >= value : r.value === value;
    return met ? "PASS" : "MISS";
}

/** Measured over goal, for goals a figure stays under; undefined otherwise (no goal, a zero goal, a count to reach). */
export function ratio(r: Row): number | undefined {
    return r.goal && (r.goal.op === "<" || r.goal.op === "<=") && r.goal.value !== 0 && Number.isFinite(r.value) ? r.value / r.goal.value : undefined;
}

/** A value in its unit's precision: seconds to a tenth, the rest whole. */
export const num = (v: number, unit: Unit) => (!Number.isFinite(v) ? "—" : unit === "yes/no" ? (v === 1 ? "yes" : "no") : unit === "s" ? v.toFixed(1) : v.toFixed(0));

/** A value with its unit ("0.7 s", "13%", "100 files", "yes"), or "not measured". */
export const withUnit = (v: number, unit: Unit, text = num(v, unit)) =>
    !Number.isFinite(v) ? "not measured" : unit === "yes/no" ? text : unit === "%" ? `${text}%` : `${text} ${unit}`;

/** A goal in words: "< 1 s", "= 100 files", "yes". */
export const goalText = (g: Goal, unit: Unit) => (unit === "yes/no" ? withUnit(g.value, unit) : `${g.op} ${withUnit(g.value, unit, String(g.value))}`);

/** The table: what, measured, goal, ratio, verdict; samples and notes on the next line. */
export function formatRows(rows: Row[]): string {
    const cells = rows.map((r) => {
        const q = ratio(r);
        return {
            what: r.what,
            measured: r.text ?? withUnit(r.value, r.unit) + (r.how ? ` (${r.how})` : ""),
            goal: r.goal ? goalText(r.goal, r.unit) : "",
            ratio: q === undefined ? "" : `${q.toFixed(2)}×`,
            verdict: verdict(r),
            detail: [r.samples && r.samples.length > 1 ? `runs: ${r.samples.map((s) => num(s, r.unit)).join(", ")}` : "", r.note ?? ""].filter((s) => s !== "").join("; "),
        };
    });
    const head = { what: "figure", measured: "measured", goal: "goal", ratio: "ratio", verdict: "", detail: "" };
    const w = (k: "what" | "measured" | "goal" | "ratio") => Math.max(...[head, ...cells].map((c) => c[k].length));
    const line = (c: typeof head) => `${c.what.padEnd(w("what"))}  ${c.measured.padStart(w("measured"))}  ${c.goal.padEnd(w("goal"))}  ${c.ratio.padStart(w("ratio"))}  ${c.verdict}`.trimEnd();
    return [line(head), ...cells.flatMap((c) => [line(c), ...(c.detail ? [`${"".padEnd(w("what"))}    ${c.detail}`] : [])])].join("\n");
}

/** The rows that missed their goal. */
export function misses(rows: Row[]): Row[] {
    return rows.filter((r) => verdict(r) === "MISS");
}

export function median(xs: number[]): number {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
