/**
 * `npm run bench`: wall times of the local stack's lifecycle on this host,
 * measured through the real CLI in one run and printed side by side with the
 * targets of the issue tracker. Nothing here asserts: the figures are the output.
 *
 *   npm run bench                      everything, a fresh base image build included
 *   npm run bench -- --skip-image-build   with the cached base image only
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostNames } from "../components/machines";
import { childrenOf, nspawnPid } from "../tests/e2e/host";
import { TempProject } from "../tests/e2e/project";

const stack = "bench";
const skipImageBuild = process.argv.includes("--skip-image-build");

interface Row {
    what: string;
    seconds: number;
    target?: string;
    note?: string;
}

async function time(f: () => Promise<unknown>): Promise<number> {
    const start = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - start) / 1e9;
}

function memAvailableMiB(): number {
    const m = fs.readFileSync("/proc/meminfo", "utf8").match(/^MemAvailable:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
    const project = new TempProject("bench");
    const names = hostNames(stack);
    const rows: Row[] = [];
    const up = (...extra: string[]) => project.ok(["up", "--stack", stack, "--yes", "--skip-preview", ...extra], 3_600_000);
    const destroy = () => project.ok(["destroy", "--stack", stack, "--yes", "--skip-preview"], 1_200_000);
    let imageCache: string | undefined;
    try {
        await project.initStack(stack, "local");

        if (!skipImageBuild) {
            // A fresh cache: the first up builds the base image, as on a new host.
            imageCache = fs.mkdtempSync(path.join(os.tmpdir(), "thesis-cluster-images-"));
            await project.ok(["config", "set", "imageCacheDir", imageCache, "--stack", stack]);
            const withBuild = await time(() => up());
            rows.push({ what: "cold up, base image built first", seconds: withBuild, note: "downloads from the Debian mirror" });
            await destroy();
            await project.ok(["config", "rm", "imageCacheDir", "--stack", stack]);
        }

        // With the shared cache; the first up fills it if it is empty.
        await up();
        await destroy();

        const memBefore = memAvailableMiB();
        rows.push({ what: "cold up, 10 machines (parallel)", seconds: await time(() => up()), target: "< 180 s" });
        const memUsed = memBefore - memAvailableMiB();
        rows.push({ what: "no-op up", seconds: await time(() => up("--expect-no-changes")), target: "< 30 s" });
        rows.push({ what: "no-op preview", seconds: await time(() => project.ok(["preview", "--stack", stack, "--expect-no-changes"])) });

        const pid = nspawnPid(names.stateDir, "cluster3");
        if (pid !== undefined) {
            for (const p of [...childrenOf(pid), pid]) process.kill(p, "SIGKILL");
            await new Promise((r) => setTimeout(r, 1000));
            rows.push({ what: "up after a machine was killed", seconds: await time(() => up()), note: "cluster3 booted again" });
        }
        rows.push({ what: "destroy, 10 machines", seconds: await time(destroy) });

        rows.push({
            what: "cold up, 10 machines, --parallel 1",
            seconds: await time(() => up("--parallel", "1")),
            note: "one resource at a time, for comparison",
        });
        await destroy();

        console.log(`\nlocal stack on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB (${new Date().toISOString()})\n`);
        const w = Math.max(...rows.map((r) => r.what.length));
        console.log(`${"".padEnd(w)}  seconds  target     note`);
        for (const r of rows) {
            console.log(`${r.what.padEnd(w)}  ${r.seconds.toFixed(1).padStart(7)}  ${(r.target ?? "").padEnd(9)}  ${r.note ?? ""}`);
        }
        console.log(`\nhost memory taken by the 10 running machines: ${memUsed.toFixed(0)} MiB (MemAvailable before and after the cold up)`);
    } finally {
        await project.pulumi(["destroy", "--stack", stack, "--yes", "--skip-preview"], 1_200_000);
        await project.pulumi(["stack", "rm", stack, "--yes"]);
        project.remove();
        if (imageCache) fs.rmSync(imageCache, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
