/** The report in three forms: results.json (every figure and series), report.md (a terminal, a pull request) and index.html (with the charts). */
import * as fs from "fs";
import * as path from "path";
import { goalText, num, verdict, withUnit } from "../bench/report";
import { Chart, charts, renderSvg } from "./charts";
import { Figure, Results, SECTIONS, SectionId, tally } from "./results";

/** Which chart goes with which section. */
const CHART_SECTION: Record<string, SectionId> = { bricks: "5.1", frontdoor: "5.3", jobs: "5.4", lifecycle: "lifecycle" };

const measured = (f: Figure) => f.text ?? withUnit(f.value, f.unit) + (f.how && Number.isFinite(f.value) ? ` (${f.how})` : "");
const target = (f: Figure) => (f.goal ? goalText(f.goal, f.unit) : "");
const detail = (f: Figure) => [f.samples && f.samples.length > 1 ? `samples: ${f.samples.map((s) => num(s, f.unit)).join(", ")}` : "", f.note ?? ""].filter((x) => x !== "").join("; ");

function stampLine(r: Results): string {
    return `stack \`${r.stack}\`${r.fresh ? " (a fresh temporary stack)" : ""} on ${r.host.name} (${r.host.cores} cores, ${r.host.memoryGiB} GiB, Linux ${r.host.kernel}), program at ${r.commit}; ${r.startedAt} to ${r.finishedAt}`;
}

function summary(r: Results): string {
    const { targets, missed } = tally(r.figures);
    return `${targets - missed.length} of ${targets} targets met` + (missed.length > 0 ? `; missed: ${missed.map((f) => f.what).join("; ")}` : "");
}

export function markdown(r: Results): string {
    const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
    const lines = [`# Evaluation of the thesis cluster`, "", stampLine(r) + ".", "", "```sh", r.command, "```", "", `**${summary(r)}.**`];
    if (r.stopped) lines.push("", `**The run stopped early:** ${r.stopped}`);
    for (const s of SECTIONS) {
        const figures = r.figures.filter((f) => f.section === s.id);
        const notes = r.notes[s.id] ?? [];
        if (figures.length === 0 && notes.length === 0) continue;
        lines.push("", `## ${s.id === "lifecycle" ? "" : s.id + " "}${s.title}`, "", `_${s.thesis}._`);
        if (figures.length > 0) {
            lines.push("", "| figure | measured | target | |", "|---|---|---|---|");
            for (const f of figures) lines.push(`| ${cell(f.what)} | ${cell(measured(f))} | ${cell(target(f))} | ${verdict(f) === "—" ? "" : verdict(f)} |`);
            const details = figures.filter((f) => detail(f) !== "");
            if (details.length > 0) lines.push("", ...details.map((f) => `- ${f.what}: ${detail(f)}`));
        }
        if (notes.length > 0) lines.push("", ...notes);
    }
    return lines.join("\n") + "\n";
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function html(r: Results, list: Chart[], svgs: Record<string, string>): string {
    const row = (f: Figure) => {
        const v = verdict(f);
        return `<tr><td>${esc(f.what)}${detail(f) ? `<div class="detail">${esc(detail(f))}</div>` : ""}</td><td class="num">${esc(measured(f))}</td><td class="num">${esc(target(f))}</td><td class="${v === "PASS" ? "pass" : v === "MISS" ? "miss" : ""}">${v === "—" ? "" : v}</td></tr>`;
    };
    const body: string[] = [];
    for (const s of SECTIONS) {
        const figures = r.figures.filter((f) => f.section === s.id);
        const notes = r.notes[s.id] ?? [];
        const own = list.filter((c) => CHART_SECTION[c.name] === s.id);
        if (figures.length === 0 && notes.length === 0 && own.length === 0) continue;
        body.push(`<section><h2>${s.id === "lifecycle" ? "" : esc(s.id) + " "}${esc(s.title)}</h2><p class="thesis">${esc(s.thesis)}.</p>`);
        if (figures.length > 0) body.push(`<table><thead><tr><th>figure</th><th>measured</th><th>target</th><th></th></tr></thead><tbody>${figures.map(row).join("")}</tbody></table>`);
        for (const n of notes) body.push(`<p>${esc(n)}</p>`);
        for (const c of own) body.push(`<figure><h3>${esc(c.title)}</h3>${svgs[c.name] ?? "<p>(not drawn)</p>"}<figcaption>${esc(c.caption)}</figcaption></figure>`);
        body.push("</section>");
    }
    const { missed } = tally(r.figures);
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Evaluation of the thesis cluster: ${esc(r.stack)}, ${esc(r.startedAt)}</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.4; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
td.pass { color: #2a7d3b; font-weight: bold; } td.miss { color: #c62828; font-weight: bold; }
.detail { color: #666; font-size: 0.85em; }
.thesis { color: #555; font-style: italic; }
.summary { font-size: 1.15em; font-weight: bold; padding: 0.5em; background: ${missed.length === 0 ? "#e8f5e9" : "#fdecea"}; }
figure { margin: 1.5em 0; } figcaption { color: #555; font-size: 0.9em; } svg { max-width: 100%; height: auto; }
code { background: #f3f3f3; padding: 0 0.2em; }
</style></head>
<body>
<h1>Evaluation of the thesis cluster</h1>
<p>${esc(stampLine(r))}.</p>
<p><code>${esc(r.command)}</code></p>
<p class="summary">${esc(summary(r))}.</p>
${r.stopped ? `<p class="summary">The run stopped early: ${esc(r.stopped)}</p>` : ""}
${body.join("\n")}
</body></html>
`;
}

/** Writes results.json, report.md and index.html into DIR; returns their paths. */
export function writeReport(dir: string, r: Results): string[] {
    fs.mkdirSync(dir, { recursive: true });
    const list = charts(r);
    const svgs = renderSvg(list);
    const files: [string, string][] = [
        // Each figure with its verdict and its target in words; a figure not measured is null.
        ["results.json", JSON.stringify({ ...r, figures: r.figures.map((f) => ({ ...f, target: target(f), verdict: verdict(f) })) }, (_, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n"],
        ["report.md", markdown(r)],
        ["index.html", html(r, list, svgs)],
    ];
    return files.map(([name, text]) => {
        const p = path.join(dir, name);
        fs.writeFileSync(p, text);
        return p;
    });
}
