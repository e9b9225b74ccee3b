/**
 * The bench's rows: each figure measured beside its goal, with the ratio, and
 * whether it met it. `--check` turns a missed goal into a non-zero exit.
 */

export interface Goal {
    /** The figure must be below (`<`) or at most (`<=`) `value`. */
    op: "<" | "<=";
    value: number;
}

export interface Row {
    /** The table line, e.g. "no-op up, settled cluster (10 machines)". */
    what: string;
    /** The figure compared with the goal (a median, the worst run …: `how` says which). */
    value: number;
    unit: "s" | "%" | "MiB" | "failed";
    goal?: Goal;
    /** Which statistic `value` is, when there are several samples: "median of 3", "worst of 3". */
    how?: string;
    samples?: number[];
    note?: string;
}

export type Verdict = "PASS" | "MISS" | "—";

export function verdict(r: Row): Verdict {
    if (!r.goal) return "—";
    if (!Number.isFinite(r.value)) return "MISS";
    return (r.goal.op === "<" ? r.value < r.goal.value : r.value <= r.goal.value) ? "PASS" : "MISS";
}

/** Measured over goal; undefined without a goal or with a zero goal. */
export function ratio(r: Row): number | undefined {
    return r.goal && r.goal.value !== 0 && Number.isFinite(r.value) ? r.value / r.goal.value : undefined;
}

const num = (v: number, unit: Row["unit"]) => (Number.isFinite(v) ? (unit === "MiB" || unit === "failed" ? v.toFixed(0) : unit === "%" ? v.toFixed(0) : v.toFixed(1)) : "—");
const withUnit = (v: number, unit: Row["unit"], text = num(v, unit)) =>
    !Number.isFinite(v) ? "not measured" : unit === "failed" ? `${text} failed` : `${text}${unit === "%" ? "%" : ` ${unit}`}`;

/** The table: what, measured, goal, ratio, verdict; samples and notes on the next line. */
export function formatRows(rows: Row[]): string {
    const cells = rows.map((r) => {
        const q = ratio(r);
        return {
            what: r.what,
            measured: withUnit(r.value, r.unit) + (r.how ? ` (${r.how})` : ""),
            goal: r.goal ? `${r.goal.op} ${withUnit(r.goal.value, r.unit, String(r.goal.value))}` : "",
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
