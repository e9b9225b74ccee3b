/**
 * `npm run evaluate -- [--stack NAME | --fresh] [--out DIR] [--check]`: the
 * thesis' evaluation (chapter 5) against a stack that is up (default `local`),
 * or with --fresh against a temporary stack of its own on the test subnets
 * (cold up, no-op up, the evaluation, destroy). Writes DIR/results.json,
 * DIR/report.md and DIR/index.html (default DIR: report/); --check exits 1
 * when a figure misses its target. See docs/evaluation.md.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BadOption } from "../bench/options";
import { formatRows } from "../bench/report";
import { repository, TempProject } from "../tests/e2e/project";
import { parseEvaluateOptions, usage } from "./options";
import { writeReport } from "./render";
import { emptySeries, Figure, Results, tally } from "./results";
import { EvaluationRun, reachStack, Refused, runEvaluation } from "./run";

/** The bench's lifecycle goals for the thesis' 10 machines (bench/index.ts). */
const TEN_MACHINE_TARGETS = { noopUp: 8, noopPreview: 8, coldUp: 40, destroy: 15 };

/** The progress display: the section and step under way and the time so far; on a terminal, a status line that ticks. */
class Progress {
    private readonly t0 = Date.now();
    private current = "";
    private stepStart = Date.now();
    private readonly tty = process.stderr.isTTY === true;
    private readonly timer?: NodeJS.Timeout;

    constructor() {
        if (this.tty) this.timer = setInterval(() => this.status(), 1000);
    }
    private clock(ms: number) {
        const s = Math.floor(ms / 1000);
        return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }
    private line(text: string) {
        process.stderr.write((this.tty ? "\r\x1b[K" : "") + `[${this.clock(Date.now() - this.t0)}] ${text}\n`);
        this.status();
    }
    private status() {
        if (this.tty && this.current) process.stderr.write(`\r\x1b[K  … ${this.current} (${this.clock(Date.now() - this.stepStart)})`);
    }
    section(title: string) {
        this.current = "";
        this.line(`== ${title}`);
    }
    step(what: string) {
        this.current = what;
        this.stepStart = Date.now();
        this.line(what);
    }
    figure(f: Figure) {
        this.current = "";
        // The bench's table line for this one figure: what, measured, target, ratio, verdict.
        this.line(f.text !== undefined ? `   ${f.what}: ${f.text}` : `   ${formatRows([f]).split("\n")[1].trim().replace(/\s{2,}/g, "  ")}`);
    }
    stop() {
        if (this.timer) clearInterval(this.timer);
        if (this.tty) process.stderr.write("\r\x1b[K");
    }
}

function commitOf(): string {
    try {
        const root = path.resolve(__dirname, "..");
        const head = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
        const dirty = execFileSync("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).trim() !== "";
        return dirty ? `${head} with uncommitted changes` : head;
    } catch {
        return "unknown (not a git checkout)";
    }
}

async function main(): Promise<number> {
    let o;
    try {
        o = parseEvaluateOptions(process.argv.slice(2));
    } catch (e) {
        if (!(e instanceof BadOption)) throw e;
        console.error(`evaluate: ${e.message}\n${usage}`);
        return 2;
    }
    const progress = new Progress();
    const results: Results = {
        command: `npm run evaluate -- ${process.argv.slice(2).join(" ")}`.trimEnd(),
        stack: o.fresh ? "a temporary copy of local, on the test subnets" : o.stack,
        fresh: o.fresh,
        host: { name: os.hostname(), cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
        commit: commitOf(),
        startedAt: new Date().toISOString(),
        finishedAt: "",
        figures: [],
        series: emptySeries(),
        notes: {},
    };
    let refused: string | undefined;
    let temp: TempProject | undefined;
    const tempStack = "ev";
    try {
        let run: EvaluationRun;
        if (o.fresh) {
            temp = new TempProject("evaluate");
            const project = temp;
            process.once("SIGINT", () => {
                progress.stop();
                const passphraseFile = path.join(project.dir, ".passphrase");
                fs.writeFileSync(passphraseFile, project.env.PULUMI_CONFIG_PASSPHRASE ?? "", { mode: 0o600 });
                console.error(
                    `\nevaluate: interrupted; the temporary stack may be up. To remove it:\n` +
                        `  (cd ${project.dir} && PULUMI_BACKEND_URL=${project.env.PULUMI_BACKEND_URL} PULUMI_CONFIG_PASSPHRASE_FILE=${passphraseFile} pulumi destroy --stack ${tempStack} --yes)\n  rm -rf ${project.dir}`,
                );
                process.exit(130);
            });
            await project.initStack(tempStack, "local");
            run = { project, stack: tempStack, progress, results, lifecycleTargets: TEN_MACHINE_TARGETS, rounds: o.rounds };
            progress.section("Lifecycle: a fresh stack");
            progress.step("pulumi up: cold, every machine and service");
            const t = Date.now();
            await project.ok(["up", "--stack", tempStack, "--yes", "--skip-preview"], 1_800_000);
            const cold = (Date.now() - t) / 1000;
            results.series.lifecycle.push({ what: "cold up", seconds: cold, target: TEN_MACHINE_TARGETS.coldUp });
            const f: Figure = { id: "lifecycle.coldUp", section: "lifecycle", what: "cold up: every machine and service", value: cold, unit: "s", goal: { op: "<", value: TEN_MACHINE_TARGETS.coldUp } };
            results.figures.push(f);
            progress.figure(f);
        } else {
            const project = repository();
            run = { project, stack: o.stack, progress, results, lifecycleTargets: undefined, rounds: o.rounds };
            progress.section(`Stack ${o.stack}: outputs, machines, SSH`);
            progress.step("reading the outputs; is every node up and answering?");
        }
        const out = await reachStack(run.project, run.stack);
        if (!o.fresh && Object.keys(out.nodes).length === 10) run.lifecycleTargets = TEN_MACHINE_TARGETS;
        await runEvaluation(run, out);
    } catch (e) {
        if (e instanceof Refused) refused = e.message;
        else results.stopped = e instanceof Error ? e.message.split("\n").slice(0, 12).join("\n") : String(e);
    } finally {
        if (temp) {
            progress.step("pulumi destroy of the temporary stack");
            const t = Date.now();
            const r = await temp.pulumi(["destroy", "--stack", tempStack, "--yes", "--skip-preview"], 1_200_000);
            const destroyed = (Date.now() - t) / 1000;
            if (r.code === 0) {
                results.series.lifecycle.push({ what: "destroy", seconds: destroyed, target: TEN_MACHINE_TARGETS.destroy });
                const f: Figure = { id: "lifecycle.destroy", section: "lifecycle", what: "destroy: every machine and its traces on the host", value: destroyed, unit: "s", goal: { op: "<", value: TEN_MACHINE_TARGETS.destroy } };
                results.figures.push(f);
                progress.figure(f);
                await temp.pulumi(["stack", "rm", tempStack, "--yes"]);
                temp.remove();
            } else {
                results.stopped = `${results.stopped ? results.stopped + "\n" : ""}pulumi destroy of the temporary stack failed (its copy is kept at ${temp.dir}): ${r.stderr.trim().split("\n").pop()}`;
            }
        }
        progress.stop();
    }
    if (refused !== undefined) {
        console.error(`evaluate: ${refused}`);
        return 2;
    }
    results.finishedAt = new Date().toISOString();
    const files = writeReport(o.out, results);
    const { targets, missed } = tally(results.figures);
    console.log(`\n${formatRows(results.figures)}\n\n${targets - missed.length} of ${targets} targets met${missed.length ? `; missed: ${missed.map((f) => f.what).join("; ")}` : ""}`);
    console.log(`report: ${files.join(", ")}`);
    if (results.stopped) {
        console.error(`\nevaluate: the run stopped early: ${results.stopped}`);
        return 1;
    }
    return o.check && missed.length > 0 ? 1 : 0;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        console.error(`evaluate: ${e instanceof Error ? e.message : e}`);
        process.exit(1);
    },
);
