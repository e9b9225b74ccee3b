/**
 * Which stacks a change touches, as the GitHub workflows' job matrix
 * (.github/workflows/preview.yml and drift.yml; docs/ci.md).
 *
 *   node -r ts-node/register scripts/touched-stacks.ts --base REV [--head REV]
 *   node -r ts-node/register scripts/touched-stacks.ts --deployed
 *
 * The first form lists the stacks whose preview a change between two commits
 * can alter: a stack file changes its stack; the program, its templates, its
 * dependencies or the provider change every stack of the project; docs, tests,
 * the bench and the scripts change none. The second lists every stack that runs
 * somewhere (has a runner), for the drift check. Each entry says where its
 * preview runs: a stack named in the runners map (the repository variable
 * STACK_RUNNERS, JSON, e.g. {"local": ["self-hosted", "thesis-local"]}) runs on
 * that runner against its real state and machines; any other is previewed as a
 * plan only, from no state, on a hosted runner (no VirtualBox, no machine needed);
 * a stack that reads another's outputs (monitoring/) needs a runner where those are.
 * Prints `matrix=JSON` for $GITHUB_OUTPUT.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "..");

/**
 * A Pulumi project of the repository: its directory and the paths (from the
 * repository's root; a trailing `/` for a directory) whose change alters its
 * stacks' previews.
 */
export interface StackProject {
    dir: string;
    inputs: string[];
}

/** What every project's program is built from: the cluster's components and templates, the packages, the provider. */
const SHARED = ["components/", "files/", "package.json", "package-lock.json", "tsconfig.json", "plugins/"];

export const PROJECTS: StackProject[] = [
    { dir: ".", inputs: ["Pulumi.yaml", "index.ts", ...SHARED] },
    { dir: "monitoring", inputs: ["monitoring/", ...SHARED] },
];

/**
 * Where stacks run when STACK_RUNNERS does not say: the `local` stack, and the
 * monitoring stack that reads its outputs, on a self-hosted runner on its host.
 */
export const DEFAULT_RUNNERS: Record<string, string[]> = {
    local: ["self-hosted", "linux", "thesis-local"],
    "monitoring/local": ["self-hosted", "linux", "thesis-local"],
};

export interface MatrixEntry {
    /** The project's directory, for `work-dir`. */
    project: string;
    stack: string;
    /** `state`: the stack's real state, on its runner; `plan`: a fresh stack on a hosted runner. */
    mode: "state" | "plan";
    runsOn: string | string[];
}

/** A stack's key in the runners map: its name, prefixed by its project's directory outside the root. */
const keyOf = (project: string, stack: string) => (project === "." ? stack : `${project}/${stack}`);

/** The stacks a project has a file for (Pulumi.<stack>.yaml). */
export function stacksOf(dir: string, files: string[]): string[] {
    const prefix = dir === "." ? "" : `${dir}/`;
    return files
        .filter((f) => f.startsWith(prefix) && !f.slice(prefix.length).includes("/"))
        .map((f) => /^Pulumi\.([^/]+)\.yaml$/.exec(f.slice(prefix.length))?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/** The stacks the changed files touch, in project then stack order. */
export function touchedStacks(changed: string[], repoFiles: string[], projects = PROJECTS): { project: string; stack: string }[] {
    const out: { project: string; stack: string }[] = [];
    for (const p of projects) {
        const prefix = p.dir === "." ? "" : `${p.dir}/`;
        const stacks = stacksOf(p.dir, repoFiles);
        const stackFile = (f: string) => f.startsWith(prefix) && /^Pulumi\.[^/]+\.yaml$/.test(f.slice(prefix.length));
        const all = changed.some((f) => !stackFile(f) && p.inputs.some((i) => (i.endsWith("/") ? f.startsWith(i) : f === i)));
        for (const s of stacks) {
            if (all || changed.includes(`${prefix}Pulumi.${s}.yaml`)) out.push({ project: p.dir, stack: s });
        }
    }
    return out;
}

/** The runners map from STACK_RUNNERS's text: a JSON object of stack to a label or labels. */
export function parseRunners(text: string | undefined): Record<string, string[]> {
    if (text === undefined || text.trim() === "") return DEFAULT_RUNNERS;
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch {
        throw new Error(`STACK_RUNNERS: ${JSON.stringify(text)} is not JSON (an object of stack to runner labels)`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`STACK_RUNNERS: ${JSON.stringify(text)} is not an object of stack to runner labels`);
    const out: Record<string, string[]> = {};
    for (const [k, labels] of Object.entries(v)) {
        const list = typeof labels === "string" ? [labels] : labels;
        if (!Array.isArray(list) || list.length === 0 || !list.every((l) => typeof l === "string" && l !== "")) {
            throw new Error(`STACK_RUNNERS.${k}: ${JSON.stringify(labels)} is not a runner label or a list of them`);
        }
        out[k] = list;
    }
    return out;
}

/** The job matrix: every stack with where and how its preview runs. */
export function matrixOf(stacks: { project: string; stack: string }[], runners: Record<string, string[]>): MatrixEntry[] {
    return stacks.map(({ project, stack }) => {
        const labels = runners[keyOf(project, stack)];
        return labels ? { project, stack, mode: "state", runsOn: labels } : { project, stack, mode: "plan", runsOn: "ubuntu-latest" };
    });
}

function git(...args: string[]): string[] {
    return execFileSync("git", args, { cwd: root, encoding: "utf8" }).split("\n").filter((l) => l !== "");
}

function main(argv: string[]): void {
    const opt = (name: string) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const runners = parseRunners(process.env.STACK_RUNNERS);
    const files = git("ls-files");
    let entries: MatrixEntry[];
    if (argv.includes("--deployed")) {
        const all = PROJECTS.flatMap((p) => stacksOf(p.dir, files).map((stack) => ({ project: p.dir, stack })));
        entries = matrixOf(all, runners).filter((e) => e.mode === "state");
    } else {
        const base = opt("--base");
        if (!base) throw new Error("usage: touched-stacks.ts --base REV [--head REV] | --deployed");
        entries = matrixOf(touchedStacks(git("diff", "--name-only", `${base}...${opt("--head") ?? "HEAD"}`), files), runners);
    }
    fs.writeSync(1, `matrix=${JSON.stringify({ include: entries })}\nany=${entries.length > 0}\n`);
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        console.error(`touched-stacks: ${(e as Error).message}`);
        process.exit(1);
    }
}
