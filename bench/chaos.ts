/**
 * `npm run chaos -- --stack NAME`: kills the stack's machines in turn while
 * users work, repairs each with `pulumi up`, and reports what was lost (see
 * tests/e2e/chaos.ts). Runs against a stack of the repository that is up, on
 * the local backend; bounded by --minutes; exits 1 when anything was lost.
 *
 *   --stack NAME        the stack (default: local)
 *   --jobs N            HTCondor jobs (default: 100, as in the thesis)
 *   --job-seconds S     each job's sleep (default: 10)
 *   --dwell S           seconds degraded after each kill, before the repair (default: 15)
 *   --minutes M         the bound on the whole run (default: 40)
 */
import { ChaosRefused, formatChaos, runChaos } from "../tests/e2e/chaos";
import { repository } from "../tests/e2e/project";

const options = { stack: "local", jobs: 100, jobSeconds: 10, dwellSeconds: 15, deadlineMinutes: 40 };
const flags: Record<string, keyof typeof options> = {
    "--stack": "stack",
    "--jobs": "jobs",
    "--job-seconds": "jobSeconds",
    "--dwell": "dwellSeconds",
    "--minutes": "deadlineMinutes",
};
const limits: Partial<Record<keyof typeof options, [number, number]>> = {
    jobs: [1, 10000],
    jobSeconds: [1, 3600],
    dwellSeconds: [0, 600],
    deadlineMinutes: [5, 600],
};

function usage(msg: string): never {
    console.error(`chaos: ${msg}\nusage: npm run chaos -- [--stack NAME] [--jobs N] [--job-seconds S] [--dwell S] [--minutes M]`);
    process.exit(2);
}

const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
    const key = flags[args[i]];
    if (!key) usage(`unknown option ${args[i]}`);
    const value = args[i + 1];
    if (value === undefined) usage(`${args[i]} needs a value`);
    const range = limits[key];
    if (range) {
        const n = Number(value);
        if (!Number.isInteger(n) || n < range[0] || n > range[1]) usage(`${args[i]} ${value}: a whole number from ${range[0]} to ${range[1]}`);
        (options[key] as number) = n;
    } else {
        (options[key] as string) = value;
    }
}

process.on("SIGINT", () => {
    console.error(`\nchaos: interrupted. The writers stop by themselves within ${options.deadlineMinutes} minutes of the start; a machine killed and not yet repaired comes back with pulumi up --stack ${options.stack}.`);
    process.exit(130);
});

runChaos({ ...options, project: repository(), progress: (m) => process.stderr.write(`chaos: ${m}\n`) })
    .then((r) => {
        console.log(formatChaos(r, options).join("\n"));
        process.exit(r.problems.length === 0 ? 0 : 1);
    })
    .catch((e) => {
        console.error(`chaos: ${e instanceof ChaosRefused ? e.message : (e as Error).stack}`);
        process.exit(2);
    });
