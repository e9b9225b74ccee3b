/**
 * The report's charts as vega-lite specs, drawn from results.json's series and
 * rendered to SVG by vega in a child process (vega-svg.mjs).
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { Results } from "./results";

// vega-lite's spec is plain JSON; its types live in an ES module this CommonJS program does not import.
type Spec = Record<string, unknown>;

export interface Chart {
    name: string;
    title: string;
    /** What the chart shows, in a sentence under it. */
    caption: string;
    spec: Spec;
}

const base = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", background: "white", config: { font: "sans-serif", view: { stroke: null } } };

/** The charts the series hold data for; a series that is empty (a step that did not run) gives no chart. */
export function charts(r: Results): Chart[] {
    const out: Chart[] = [];
    const s = r.series;
    if (s.jobs.length > 0) {
        out.push({
            name: "jobs",
            title: "HTCondor: the 100 jobs on each slot",
            caption: "Each bar is one job of 2 s, from its start to its completion, in seconds since the submit (HTCondor's whole-second clock). In the second run a compute node was cut off mid-run: the grey bar is the job it was running, cut short at its death; that job ran again on another slot once HTCondor gave up on the dead node.",
            spec: {
                ...base,
                data: { values: s.jobs.map((j) => ({ ...j, end: Math.max(j.end, j.start + 0.5) })) },
                facet: { row: { field: "run", type: "nominal", title: null, sort: [...new Set(s.jobs.map((j) => j.run))] } },
                spec: {
                    width: 640,
                    height: { step: 22 },
                    mark: { type: "bar", stroke: "white", strokeWidth: 1 },
                    encoding: {
                        x: { field: "start", type: "quantitative", title: "seconds since the submit" },
                        x2: { field: "end" },
                        y: { field: "slot", type: "nominal", title: null },
                        color: { condition: { test: "datum.lost", value: "#bbbbbb" }, field: "slot", type: "nominal", legend: null },
                        tooltip: [{ field: "job" }, { field: "start" }, { field: "end" }, { field: "lost" }],
                    },
                },
                resolve: { scale: { y: "independent" } },
            },
        });
    }
    if (s.probes.length > 0) {
        // The outage and a few seconds after it; the probes go on for 20 s, all of them in results.json.
        const back = Math.max(0, ...s.events.map((e) => (Number.isFinite(e.t) ? e.t : 0)));
        const window = Math.ceil(back) + 3;
        const probes = s.probes.filter((p) => p.t >= -2 && p.t <= window).map((p) => ({ t: p.t, result: p.ok ? "greets" : "no answer" }));
        out.push({
            name: "frontdoor",
            title: "The SSH front door around the master director's power cut",
            caption: "A new TCP connection to the front door (the external VIP, the SSH farm's port) every 20 ms, each waiting 200 ms at most for sshd's greeting; 0 is the moment the master director was cut off. The lines mark the VIPs arriving on the backup and the first greeting after the outage; the probes went on for 20 s after the cut (all in results.json).",
            spec: {
                ...base,
                width: 640,
                height: 120,
                layer: [
                    {
                        data: { values: probes },
                        mark: { type: "tick", thickness: 1.5, clip: true },
                        encoding: {
                            x: { field: "t", type: "quantitative", title: "seconds since the power cut", scale: { domain: [-2, window] } },
                            y: { field: "result", type: "nominal", title: null, sort: ["greets", "no answer"] },
                            color: { field: "result", type: "nominal", scale: { domain: ["greets", "no answer"], range: ["#2a9d4b", "#d62728"] }, legend: null },
                        },
                    },
                    {
                        data: { values: s.events.filter((e) => Number.isFinite(e.t)) },
                        mark: { type: "rule", strokeDash: [4, 3], strokeWidth: 1.5 },
                        encoding: {
                            x: { field: "t", type: "quantitative" },
                            strokeDash: { field: "label", type: "nominal", title: null, sort: null, legend: { orient: "bottom", direction: "vertical", labelLimit: 400 } },
                            color: { value: "#333" },
                        },
                    },
                ],
            },
        });
    }
    if (s.bricks.length > 0) {
        out.push({
            name: "bricks",
            title: "GlusterFS: where the 100 copies landed",
            caption: "Files on each brick after 100 copies of /etc/hosts into each volume, as the thesis' test 5.1: every brick of the replicated volume holds all of them, the distributed volume spreads them over its bricks.",
            spec: {
                ...base,
                data: { values: s.bricks },
                facet: { column: { field: "volume", type: "nominal", title: null } },
                spec: {
                    width: 200,
                    height: 200,
                    layer: [
                        { mark: "bar", encoding: { x: { field: "brick", type: "nominal", title: null, axis: { labelAngle: 0 } }, y: { field: "files", type: "quantitative", title: "files", scale: { domain: [0, 100] } }, color: { field: "brick", type: "nominal", legend: null } } },
                        { mark: { type: "text", dy: -6 }, encoding: { x: { field: "brick", type: "nominal" }, y: { field: "files", type: "quantitative" }, text: { field: "files" } } },
                    ],
                },
            },
        });
    }
    if (s.lifecycle.length > 0) {
        out.push({
            name: "lifecycle",
            title: "pulumi: previews, ups and repairs",
            caption: "Wall time of each pulumi command the evaluation ran, through the CLI as a user runs it; a black tick marks the target where there is one.",
            spec: {
                ...base,
                data: { values: s.lifecycle },
                width: 560,
                height: { step: 24 },
                layer: [
                    { mark: "bar", encoding: { y: { field: "what", type: "nominal", title: null, sort: null, axis: { labelLimit: 400 } }, x: { field: "seconds", type: "quantitative", title: "seconds" }, color: { value: "#4c78a8" } } },
                    { mark: { type: "text", align: "left", dx: 3 }, encoding: { y: { field: "what", type: "nominal", sort: null }, x: { field: "seconds", type: "quantitative" }, text: { field: "seconds", format: ".1f" } } },
                    { transform: [{ filter: "isValid(datum.target)" }], mark: { type: "tick", color: "black", thickness: 2 }, encoding: { y: { field: "what", type: "nominal", sort: null }, x: { field: "target", type: "quantitative" } } },
                ],
            },
        });
    }
    return out;
}

/** Each chart's SVG, rendered by vega in a child process. */
export function renderSvg(list: Chart[]): Record<string, string> {
    if (list.length === 0) return {};
    const input = JSON.stringify(Object.fromEntries(list.map((c) => [c.name, c.spec])));
    const text = execFileSync(process.execPath, [path.join(__dirname, "vega-svg.mjs")], { input, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" });
    return JSON.parse(text) as Record<string, string>;
}
