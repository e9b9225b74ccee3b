import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";

// The GitHub workflows (docs/ci.md), linted by actionlint (scripts/install-actionlint
// builds it; with shellcheck on PATH it checks their scripts too) and read for
// what they must do.
const root = path.resolve(__dirname, "..", "..");
const bin = path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "bin", "actionlint");
const workflows = path.join(root, ".github", "workflows");

function actionlint(cwd: string): { code: number; out: string } {
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run bash scripts/install-actionlint`);
    const r = spawnSync(bin, ["-color=false"], { cwd, encoding: "utf8" });
    return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Workflow = { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, { steps: Step[]; "runs-on": unknown }> };
const load = (name: string) => yaml.load(fs.readFileSync(path.join(workflows, name), "utf8")) as Workflow;
const pulumiSteps = (w: Workflow, job: string) => w.jobs[job].steps.filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command);

describe("GitHub workflows", () => {
    it("pass actionlint, and shellcheck runs on their scripts", () => {
        const r = actionlint(root);
        expect(r.out).toBe("");
        expect(r.code).toBe(0);
        expect(execFileSync("shellcheck", ["--version"], { encoding: "utf8" })).toContain("version");
    });

    it("a broken workflow fails the lint (the check can fail)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
        try {
            execFileSync("git", ["init", "-q", dir]);
            fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
            const text = fs.readFileSync(path.join(workflows, "drift.yml"), "utf8").replace("needs.stacks.outputs.matrix", "needs.stack.outputs.matrix");
            fs.writeFileSync(path.join(dir, ".github", "workflows", "drift.yml"), text);
            const r = actionlint(dir);
            expect(r.code).not.toBe(0);
            expect(r.out).toContain('"stack"');
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("preview: on pull requests, the touched stacks previewed with a diff and posted as a comment", () => {
        const w = load("preview.yml");
        expect(Object.keys(w.on)).toEqual(["pull_request"]);
        expect(w.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        const [preview] = pulumiSteps(w, "preview");
        expect(preview.with).toMatchObject({ command: "preview", diff: true, "comment-on-pr": true, "stack-name": "${{ matrix.stack }}" });
        expect(w.jobs.stacks.steps.map((s) => s.run ?? "").join("\n")).toContain("scripts/touched-stacks.ts --base");
    });

    it("drift: on a schedule, every running stack previewed on its host, failing on any change", () => {
        const w = load("drift.yml");
        expect(Object.keys(w.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
        const [drift] = pulumiSteps(w, "drift");
        expect(drift.with).toMatchObject({ command: "preview", "expect-no-changes": true });
        expect(drift.env).toMatchObject({ PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}", PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" });
        expect(w.jobs.stacks.steps.map((s) => s.run ?? "").join("\n")).toContain("scripts/touched-stacks.ts --deployed");
    });

    it("secrets reach the steps through env, never a command line", () => {
        for (const name of fs.readdirSync(workflows)) {
            const w = load(name);
            for (const job of Object.values(w.jobs)) {
                for (const s of job.steps) expect([name, s.run ?? ""]).not.toEqual([name, expect.stringContaining("secrets.")]);
            }
        }
    });
});
