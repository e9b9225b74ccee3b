import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// `npm run evaluate` as a user runs it: with --fresh it builds a temporary
// stack of its own, runs the thesis' evaluation on it and destroys it. The
// timings are the report's business (its targets, and --check); this test
// asserts what is not a timing: every figure measured, every count and
// property met, the report's three files with their charts.
describe("npm run evaluate", () => {
    const root = path.resolve(__dirname, "..", "..");
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "thesis-cluster-evaluation-"));
    const evaluate = (args: string[], timeoutMs: number) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile("npm", ["run", "--silent", "evaluate", "--", ...args], { cwd: root, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
                resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
            );
        });
    let run: { code: number; stdout: string; stderr: string };
    let results: {
        stopped?: string;
        figures: { id: string; section: string; value: number | null; unit: string; target: string; verdict: string; note?: string }[];
        series: { jobs: unknown[]; probes: { ok: boolean }[]; bricks: { files: number }[]; lifecycle: { what: string; seconds: number }[] };
    };

    beforeAll(async () => {
        // One round of the HTCondor and Slurm comparison (the committed report has three).
        run = await evaluate(["--fresh", "--rounds", "1", "--out", out], 2_400_000);
        console.log(`evaluate --fresh exited ${run.code}\n${run.stdout}\n${run.stderr.split("\n").slice(-15).join("\n")}`);
        results = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
    }, 2_500_000);

    afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

    it("refuses a stack that is not up, and a bad option, with what to do and no stack trace", async () => {
        const missing = await evaluate(["--stack", "e2e-no-such-stack"], 120_000);
        expect(missing.code).toBe(2);
        expect(missing.stderr).toMatch(/^evaluate: stack e2e-no-such-stack: /m);
        expect(missing.stderr).toContain("pulumi up --stack e2e-no-such-stack");
        expect(missing.stderr).not.toMatch(/^\s+at /m);
        const bad = await evaluate(["--stack", "a b"], 60_000);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain("evaluate: --stack a b: not a stack name");
    }, 240_000);

    it("ran to the end and destroyed its stack", () => {
        expect(results.stopped).toBeUndefined();
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^report: .*results\.json, .*report\.md, .*index\.html$/m);
    });

    it("measured every figure of the thesis' tests, the failover and the lifecycle", () => {
        expect(results.figures.map((f) => f.id)).toEqual([
            "lifecycle.coldUp",
            "lifecycle.noopPreview",
            "lifecycle.noopUp",
            "identity.nis",
            "identity.nfs",
            "bond.nas",
            "gluster.gv0",
            "gluster.gv1",
            "jobs.mosix",
            "jobs.myjob",
            "jobs.myjobDone",
            "jobs.checkpoint",
            "jobs.killedNode",
            "jobs.killedNodeRescued",
            "lifecycle.repairCompute",
            "ha.roundRobin",
            "ha.sshdDown",
            "ha.statsPage",
            "ha.quiet",
            "ha.vipTakeover",
            "ha.frontDoorBack",
            "ha.flapping",
            "ha.statsPageBackup",
            "lifecycle.repairMaster",
            "ha.vipHome",
            "gluster.degradedWrites",
            "lifecycle.repairSan",
            "gluster.selfHeal",
            ...["makespan", "overhead", "submitToStart", "directorLost", "nodeLost", "checkpointResume"].flatMap((k) => [`schedulers.${k}.htcondor`, `schedulers.${k}.slurm`]),
            "lifecycle.previewAfter",
            "lifecycle.destroy",
        ]);
        const words = ["bond.nas", "jobs.mosix"];
        for (const f of results.figures.filter((f) => !words.includes(f.id))) expect([f.id, Number.isFinite(f.value)]).toEqual([f.id, true]);
    });

    it("met every target that is not a timing: each copy on each replica, every job done, the checkpoint resumed, no VIP flapping", () => {
        const properties = results.figures.filter((f) => f.target !== "" && f.unit !== "s" && f.unit !== "%");
        expect(properties.map((f) => f.id).sort()).toEqual(
            ["identity.nis", "identity.nfs", "gluster.gv0", "gluster.gv1", "jobs.myjobDone", "jobs.checkpoint", "jobs.killedNode", "ha.roundRobin", "ha.statsPage", "ha.quiet", "ha.flapping", "ha.statsPageBackup", "gluster.degradedWrites", "lifecycle.previewAfter"].sort(),
        );
        for (const f of properties) expect([f.id, f.verdict, f.note]).toEqual([f.id, "PASS", f.note]);
        expect(results.series.bricks.map((b) => b.files).slice(0, 3)).toEqual([100, 100, 100]);
    });

    it("wrote the report: results.json, report.md in the thesis' order, index.html with its four charts", () => {
        const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
        expect([...md.matchAll(/^## (\S+)/gm)].map((m) => m[1])).toEqual(["5.1", "5.2", "5.3", "5.4", "4.6.1", "6", "Lifecycle:"]);
        const page = fs.readFileSync(path.join(out, "index.html"), "utf8");
        expect((page.match(/<svg[\s\S]*?<\/svg>/g) ?? []).length).toBe(4);
        for (const title of ["HTCondor: the 100 jobs on each slot", "The SSH front door around the master director's power cut", "GlusterFS: where the 100 copies landed", "pulumi: previews, ups and repairs"]) {
            expect(page).toContain(title);
        }
        expect(results.series.probes.some((p) => !p.ok)).toBe(true);
        expect(results.series.lifecycle.map((l) => l.what)).toEqual(
            expect.arrayContaining(["cold up", "no-op preview", "no-op up", "destroy", expect.stringMatching(/^repair: cluster4/), expect.stringMatching(/^repair: cluster1/), expect.stringMatching(/^repair: san2/)]),
        );
    });
});
