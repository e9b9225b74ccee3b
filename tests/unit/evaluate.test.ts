import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { verdict } from "../../bench/report";
import { charts } from "../../evaluate/charts";
import { parseEvaluateOptions } from "../../evaluate/options";
import { markdown, writeReport } from "../../evaluate/render";
import { emptySeries, Figure, Results, tally } from "../../evaluate/results";
import { readStatsPage } from "../e2e/probe";

describe("evaluate options", () => {
    it("defaults to the local stack and report/ under the working directory", () => {
        expect(parseEvaluateOptions([], "/work")).toEqual({ stack: "local", out: "/work/report", fresh: false, check: false, rounds: 3 });
    });

    it("reads the stack, the directory, --fresh, --rounds and --check", () => {
        expect(parseEvaluateOptions(["--stack", "lab2", "--out", "out/ev", "--check"], "/w")).toEqual({ stack: "lab2", out: "/w/out/ev", fresh: false, check: true, rounds: 3 });
        expect(parseEvaluateOptions(["--fresh", "--rounds", "1"], "/w")).toMatchObject({ fresh: true, rounds: 1 });
    });

    it("names the option and the value it refuses", () => {
        expect(() => parseEvaluateOptions(["--stack", "a b"])).toThrow("--stack a b: not a stack name");
        expect(() => parseEvaluateOptions(["--stack"])).toThrow("--stack needs a value");
        expect(() => parseEvaluateOptions(["--out", "--check"])).toThrow("--out needs a value");
        expect(() => parseEvaluateOptions(["--stack", "local", "--fresh"])).toThrow("--stack local with --fresh");
        expect(() => parseEvaluateOptions(["--quick"])).toThrow("unknown option --quick");
        expect(() => parseEvaluateOptions(["--rounds", "0"])).toThrow("--rounds 0: give a whole number from 1 to 20");
    });
});

describe("targets", () => {
    const f = (value: number, op: "<" | "<=" | ">=" | "=", goal: number, unit: Figure["unit"] = "files"): Figure => ({ id: "x", section: "5.1", what: "x", value, unit, goal: { op, value: goal } });

    it("meets = only at the value, >= at or above it; a figure not measured misses", () => {
        expect([f(100, "=", 100), f(99, "=", 100), f(101, "=", 100)].map(verdict)).toEqual(["PASS", "MISS", "MISS"]);
        expect([f(100, ">=", 100), f(99, ">=", 100)].map(verdict)).toEqual(["PASS", "MISS"]);
        expect(verdict(f(NaN, "=", 1, "yes/no"))).toBe("MISS");
    });

    it("counts the targets and the misses; figures without one are neither", () => {
        const t = tally([f(1, "<", 2, "s"), f(3, "<", 2, "s"), { id: "b", section: "5.2", what: "bond", value: NaN, unit: "yes/no", text: "absent" }]);
        expect(t.targets).toBe(2);
        expect(t.missed.map((m) => m.value)).toEqual([3]);
    });
});

describe("HAProxy's stats page", () => {
    // The lines that matter of a page served by the front door (HAProxy 3, Debian 13).
    const page = [
        "<h2>Statistics Report for pid 360: cluster1</h2>",
        '<tr class="frontend"><td class=ac><a name="sshfarm/Frontend"></a><a class=lfsb href="#sshfarm/Frontend">Frontend</a></td>',
        '<tr class="active_up"><td class=ac><a name="serverfarm/cluster2"></a><a class=lfsb href="#serverfarm/cluster2">cluster2</a></td>',
        '<tr class="active_down"><td class=ac><a name="serverfarm/cluster3"></a><a class=lfsb href="#serverfarm/cluster3">cluster3</a></td>',
        '<tr class="backend"><td class=ac><a name="serverfarm/Backend"></a><a class=lfsb href="#serverfarm/Backend">Backend</a></td>',
    ].join("\n");

    it("reads which director serves it and each server's state, as a person reads the page", () => {
        expect(readStatsPage(page)).toEqual({ host: "cluster1", rows: { "serverfarm/cluster2": "active_up", "serverfarm/cluster3": "active_down" } });
        expect(readStatsPage("<html>503</html>")).toEqual({ host: undefined, rows: {} });
    });
});

describe("the report", () => {
    const figures: Figure[] = [
        { id: "gluster.gv0", section: "5.1", what: "gv0 (replica 3): of 100 copies, on each brick", value: 100, unit: "files", goal: { op: "=", value: 100 }, samples: [100, 100, 100], how: "the fewest" },
        { id: "bond.nas", section: "5.2", what: "bond0 on nas", value: NaN, unit: "yes/no", text: "absent: this kernel has no bonding driver" },
        { id: "ha.vipTakeover", section: "5.3", what: "both VIPs on master2 after cluster1's power cut", value: 1.4, unit: "s", goal: { op: "<", value: 1 } },
        { id: "jobs.myjob", section: "5.4", what: "100 × 2 s jobs: over the ideal 50 s", value: 8, unit: "%", goal: { op: "<=", value: 15 } },
        { id: "lifecycle.noopUp", section: "lifecycle", what: "no-op up", value: 6.4, unit: "s", goal: { op: "<", value: 8 } },
    ];
    const series = emptySeries();
    series.jobs = [
        { run: "myjob", job: 0, slot: "slot1@cluster2", start: 1, end: 3 },
        { run: "cut", job: 1, slot: "slot1@cluster4", start: 1, end: 2, lost: true },
    ];
    series.probes = [
        { t: -0.5, ok: true },
        { t: 0.1, ok: false },
        { t: 0.8, ok: true },
    ];
    series.events = [
        { t: 0, label: "cluster1 cut off" },
        { t: 0.7, label: "VIPs on master2" },
    ];
    series.bricks = ["san1", "san2", "san3"].map((brick) => ({ volume: "gv0 (replica 3)", brick, files: 100 }));
    series.lifecycle = [{ what: "no-op up", seconds: 6.4, target: 8 }];
    const r: Results = {
        command: "npm run evaluate -- --check",
        stack: "local",
        fresh: false,
        host: { name: "h", cores: 2, memoryGiB: 24, kernel: "6.1" },
        commit: "abc1234",
        startedAt: "2026-12-04T05:00:00.000Z",
        finishedAt: "2026-12-04T05:06:00.000Z",
        figures,
        series,
        notes: { "5.2": ["The kernel here cannot make a bond."] },
    };

    it("lists the sections in the thesis' order, each figure beside its target and verdict; the summary names the misses", () => {
        const md = markdown(r);
        const heads = [...md.matchAll(/^## (.*)$/gm)].map((m) => m[1]);
        expect(heads).toEqual(["5.1 SAN storage: GlusterFS", "5.2 Channel bonding", "5.3 High availability", "5.4 User jobs: MOSIX and HTCondor", "Lifecycle: pulumi up, preview and destroy"]);
        expect(md).toContain("**3 of 4 targets met; missed: both VIPs on master2 after cluster1's power cut.**");
        expect(md).toMatch(/^\| gv0 \(replica 3\): of 100 copies, on each brick \| 100 files \(the fewest\) \| = 100 files \| PASS \|$/m);
        expect(md).toMatch(/^\| both VIPs on master2 after cluster1's power cut \| 1\.4 s \| < 1 s \| MISS \|$/m);
        expect(md).toMatch(/^\| bond0 on nas \| absent: this kernel has no bonding driver \| {2}\| {2}\|$/m);
        expect(md).toContain("The kernel here cannot make a bond.");
    });

    it("draws the four charts with vega-lite into the page, and keeps every figure with its verdict in results.json", () => {
        expect(charts(r).map((c) => c.name)).toEqual(["jobs", "frontdoor", "bricks", "lifecycle"]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evaluate-unit-"));
        try {
            const files = writeReport(dir, r);
            expect(files.map((f) => path.basename(f))).toEqual(["results.json", "report.md", "index.html"]);
            const page = fs.readFileSync(path.join(dir, "index.html"), "utf8");
            const svgs = page.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
            expect(svgs).toHaveLength(4);
            // Drawn from the data: the bricks' axis names them, the probes' legend names the events.
            expect(page).toContain("san2");
            expect(page).toContain("VIPs on master2");
            const json = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8"));
            expect(json.figures.map((f: { id: string; verdict: string }) => `${f.id} ${f.verdict}`)).toEqual(["gluster.gv0 PASS", "bond.nas —", "ha.vipTakeover MISS", "jobs.myjob PASS", "lifecycle.noopUp PASS"]);
            expect(json.figures[1].value).toBeNull();
            expect(json.figures[2].target).toBe("< 1 s");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 60_000);

    it("leaves out a chart whose series is empty (a step that did not run)", () => {
        expect(charts({ ...r, series: { ...emptySeries(), bricks: series.bricks } }).map((c) => c.name)).toEqual(["bricks"]);
    });
});
