import { execFile } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { configOfStackFile, stackConfig } from "../unit/stackfiles";

const root = path.resolve(__dirname, "..", "..");

/** What the project needs at run time; everything else stays behind. */
const projectFiles = [
    "Pulumi.yaml",
    "Pulumi.lab.yaml",
    "Pulumi.local.yaml",
    "package.json",
    "tsconfig.json",
    "index.ts",
    "components",
    "files",
    "plugins/VERSION",
    // The second project, built on the first one's stacks (tests/e2e/monitoring.ts).
    "monitoring",
];

/**
 * Test stacks copy the `local` stack's topology onto subnets of their own, so
 * the tests run beside a user's `local` cluster (two stacks on one subnet are
 * refused: the host would route one's traffic to the other).
 */
const localSubnets = { internal: "10.0.100.", external: "192.168.1." };
export const testSubnets = { internal: "10.0.190.", external: "192.168.190." };

/** The address HOST on a test stack's network NET, e.g. lab("internal", 200). */
export function lab(net: keyof typeof testSubnets, host: number): string {
    return testSubnets[net] + host;
}

/** The `local` stack file's text with its subnets moved to the test ones. */
export function onTestSubnets(text: string): string {
    let out = text;
    for (const net of ["internal", "external"] as const) {
        const from = new RegExp(`(?<![\\d.])${localSubnets[net].replace(/\./g, "\\.")}(?=\\d)`, "g");
        out = out.replace(from, testSubnets[net]);
    }
    return out;
}

/** The stack file a test stack copied from the committed stack FROM gets (see TempProject.initStack). */
export function stackText(from: string): string {
    const config = Object.fromEntries(Object.entries(stackConfig(from)).map(([k, v]) => [`thesis-cluster:${k}`, v]));
    const text = yaml.dump({ config }, { flowLevel: 4 });
    return from === "local" ? onTestSubnets(text) : text;
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/**
 * The `pulumi` CLI run in a project directory with a given environment: the
 * repository itself with the user's backend (`npm run chaos`), or a
 * TempProject.
 */
export class Project {
    constructor(
        readonly dir: string,
        readonly env: NodeJS.ProcessEnv,
    ) {}

    /** Runs `pulumi ARGS` in the project; never throws on a non-zero exit. */
    pulumi(args: string[], timeoutMs = 600_000, stdin?: string, env: NodeJS.ProcessEnv = this.env): Promise<RunResult> {
        return new Promise((resolve) => {
            const child = execFile(
                "pulumi",
                [...args, "--non-interactive"],
                { cwd: this.dir, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
                (err, stdout, stderr) => {
                    const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
                    const killed = err?.killed ? `\n(killed after ${timeoutMs / 1000} s)` : "";
                    resolve({ code, stdout, stderr: stderr + killed });
                },
            );
            child.stdin?.end(stdin ?? "");
        });
    }

    /** Sets a secret config value, passed on stdin so it is in no command line or message. */
    async setSecret(stack: string, key: string, value: string): Promise<void> {
        const r = await this.pulumi(["config", "set", "--secret", "--stack", stack, key], 60_000, value);
        if (r.code !== 0) {
            throw new Error(`pulumi config set --secret ${key} exited ${r.code}\n${r.stderr}`);
        }
    }

    /** Like pulumi(), but fails with the CLI's output when the command fails. */
    async ok(args: string[], timeoutMs?: number): Promise<string> {
        const r = await this.pulumi(args, timeoutMs);
        if (r.code !== 0) {
            // The CLI's error lines first: a log cut short still shows why.
            const errors = [...new Set(`${r.stdout}\n${r.stderr}`.split("\n").filter((l) => /\berror:/.test(l)).map((l) => l.trim()))];
            const head = errors.length > 0 ? `\n${errors.slice(0, 8).join("\n")}\n--- output ---` : "";
            throw new Error(`pulumi ${args.join(" ")} exited ${r.code}${head}\n${r.stdout}\n${r.stderr}`);
        }
        return r.stdout;
    }
}

/** The repository itself, with the environment this process has (scripts/env.sh sourced). */
export const repository = () => new Project(root, process.env);

/**
 * A copy of the project in a temporary directory with its own file backend and
 * passphrase, so a test drives the real `pulumi` CLI without touching the
 * user's stacks.
 */
export class TempProject extends Project {
    constructor(label: string) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `thesis-cluster-${label}-`));
        const state = path.join(dir, ".state");
        const env: NodeJS.ProcessEnv = {
            ...process.env,
            // No .attrs sidecars (see Pulumi.yaml): they are rewritten in place, and the program reads its own stack during an update.
            PULUMI_BACKEND_URL: `file://${state}?metadata=skip`,
            PULUMI_CONFIG_PASSPHRASE: `e2e-${label}`,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        };
        delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
        super(dir, env);
        for (const f of projectFiles) {
            const src = path.join(root, f);
            if (fs.existsSync(src)) {
                fs.cpSync(src, path.join(this.dir, f), { recursive: true });
            }
        }
        fs.symlinkSync(path.join(root, "node_modules"), path.join(this.dir, "node_modules"));
        fs.mkdirSync(state);
    }

    /**
     * Creates stack NAME with the whole config of the committed stack FROM
     * (the project's topology and the stack file's keys) in its own stack
     * file, on the test subnets when FROM is `local`, so a test may change any
     * of it with `pulumi config set --path`.
     */
    async initStack(name: string, from: string): Promise<void> {
        fs.writeFileSync(path.join(this.dir, `Pulumi.${name}.yaml`), stackText(from));
        await this.ok(["stack", "init", name]);
    }

    /** The `thesis-cluster:*` config of stack NAME's file in this copy, keyed without namespace. */
    stackConfig(name: string): Record<string, unknown> {
        return configOfStackFile(fs.readFileSync(path.join(this.dir, `Pulumi.${name}.yaml`), "utf8"));
    }

    /** Creates stack NAME with the given `thesis-cluster:*` config (keys without namespace). */
    async initStackWith(name: string, config: Record<string, unknown>): Promise<void> {
        const doc = { config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`thesis-cluster:${k}`, v])) };
        fs.writeFileSync(path.join(this.dir, `Pulumi.${name}.yaml`), yaml.dump(doc));
        await this.ok(["stack", "init", name]);
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /**
     * A test file's last step: its stack destroyed and removed, then the project
     * copy. A destroy that fails fails the test file, and the copy (its state)
     * stays for a look and a second destroy: it is named in the error.
     */
    async destroyAndRemove(stack: string): Promise<void> {
        const r = await this.pulumi(["destroy", "--stack", stack, "--yes", "--skip-preview"], 600_000);
        if (r.code !== 0) {
            const errors = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => /\berror\b/.test(l));
            throw new Error(`pulumi destroy --stack ${stack} exited ${r.code} (project copy kept: ${this.dir}):\n${errors.slice(0, 20).join("\n")}`);
        }
        await this.ok(["stack", "rm", stack, "--yes"]);
        this.remove();
    }
}
