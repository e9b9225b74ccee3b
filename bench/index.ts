/**
 * `npm run bench`: the local stack measured on this host through the real CLI,
 * each figure printed beside its goal with the ratio (bench/report.ts). Nothing
 * here is a test: the figures are the output, and `--check` exits 1 when one
 * misses its goal. Sections (`--only`), on the thesis' 10 machines:
 *
 *   lifecycle  cold up, no-op up and preview on the settled cluster, memory, destroy
 *              (also on each bigger topology of --machines, compute nodes added)
 *   failover   keepalived's default advert interval beside the configured one:
 *              quiet seconds watched for VIP moves, then cluster1 killed
 *   soak       front door and jump host for two minutes, health checks every 250 ms
 *   jobs       the thesis' 100 jobs of 2 s: shared homes, tuned beside HTCondor's
 *              defaults, alternating; with file transfer from /tmp; on the biggest
 *              topology, with file transfer on all its single-slot compute nodes
 *   had        cluster1 lost as in a power cut: seconds until master2's negotiator
 *              runs, and how long both run when cluster1 is back
 *   schedulers HTCondor and Slurm side by side (bench/compare.ts): the 100 jobs,
 *              per-job overhead, submit to start, a director and a compute node
 *              lost, a checkpointed job resumed; each --rounds times
 *
 * See bench/options.ts for the flags; docs/testing.md for a full run.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostNames } from "../components/backends";
import { clusterOf, formatPhases, jobPhases, JobPhases, jobTimes, JobTimes, myjobIdeal, negotiatorCycledSinceReconfig, negotiatorProcesses, waitForJobs, waitForSettledPool } from "../tests/e2e/condor";
import { crash, machinesPss } from "../tests/e2e/host";
import { changesOver, outage, sleep, until, vipHolders } from "../tests/e2e/probe";
import { lab, stackText, TempProject } from "../tests/e2e/project";
import { formatSoak, soak } from "../tests/e2e/security";
import { frontDoorKnownHosts, NodeOutput, Ssh } from "../tests/e2e/ssh";
import { withMachines } from "../tests/e2e/topology";
import { configOfStackFile } from "../tests/unit/stackfiles";
import { compareSchedulers } from "./compare";
import { BadOption, BenchOptions, parseBenchOptions, usage } from "./options";
import { formatRows, median, misses, Row } from "./report";

/** The issue tracker's goals by topology (machines); other sizes are measured without one. */
const GOALS: Record<number, { noopUp: number; noopPreview?: number; coldUp: number; destroy: number }> = {
    10: { noopUp: 8, noopPreview: 8, coldUp: 40, destroy: 15 },
    20: { noopUp: 12, coldUp: 70, destroy: 25 },
};
const SOAK_SECONDS = 120;
const SOAK_CHECK_MS = 250;

interface Outputs {
    nodes: Record<string, NodeOutput & { role: string }>;
    adminPrivateKey: string;
    sshFrontDoor: { host: string; port: number };
    condorPool: { executeSlots: Record<string, number> };
}

const progress = (msg: string) => process.stderr.write(`bench [${new Date().toISOString().slice(11, 19)}]: ${msg}\n`);

async function time(f: () => Promise<unknown>): Promise<number> {
    const start = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - start) / 1e9;
}

function memAvailableMiB(): number {
    const m = fs.readFileSync("/proc/meminfo", "utf8").match(/^MemAvailable:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
}

interface JobRun {
    seconds: number;
    times: JobTimes;
    phases: JobPhases;
}

const overIdeal = (seconds: number, ideal: number) => (seconds / ideal - 1) * 100;

async function bench(o: BenchOptions, rows: Row[]): Promise<void> {
    const project = new TempProject("bench");
    const stacks: string[] = [];
    // Interrupted, the bench cannot wait for its own cleanup: it says what is left and how to remove it.
    process.once("SIGINT", () => {
        // The stacks' passphrase goes to a file only root reads, not to the terminal.
        const passphraseFile = path.join(project.dir, ".passphrase");
        fs.writeFileSync(passphraseFile, project.env.PULUMI_CONFIG_PASSPHRASE ?? "", { mode: 0o600 });
        const env = `PULUMI_BACKEND_URL=${project.env.PULUMI_BACKEND_URL} PULUMI_CONFIG_PASSPHRASE_FILE=${passphraseFile}`;
        console.error(`\nbench: interrupted; left up: ${stacks.join(", ") || "nothing"}. To remove:\n` + stacks.map((st) => `  (cd ${project.dir} && ${env} pulumi destroy --stack ${st} --yes)\n`).join("") + `  rm -rf ${project.dir}`);
        process.exit(130);
    });
    let imageCache: string | undefined;
    try {
        for (const [i, machines] of o.machines.entries()) {
            const first = i === 0;
            const last = i === o.machines.length - 1;
            const stack = `bench${machines}`;
            const at = `(${machines} machines)`;
            await project.initStackWith(stack, withMachines(configOfStackFile(stackText("local")), machines));
            stacks.push(stack);
            const up = (...extra: string[]) => project.ok(["up", "--stack", stack, "--yes", "--skip-preview", ...extra], 3_600_000);
            const destroy = () => project.ok(["destroy", "--stack", stack, "--yes", "--skip-preview"], 1_200_000);
            const config = (...args: string[]) => project.ok(["config", ...args, "--stack", stack]);
            const outputs = async () => JSON.parse(await project.ok(["stack", "output", "--stack", stack, "--json", "--show-secrets"])) as Outputs;
            const names = hostNames(stack);
            const goals = GOALS[machines];

            if (first && o.imageBuild) {
                // A fresh cache: the first up builds the base image, as on a new host.
                imageCache = fs.mkdtempSync(path.join(os.tmpdir(), "thesis-cluster-images-"));
                await config("set", "imageCacheDir", imageCache);
                progress("cold up with a base image build");
                rows.push({ what: `cold up, base image built first ${at}`, value: await time(() => up()), unit: "s", note: "packages from the Debian mirror" });
                await destroy();
                await config("rm", "imageCacheDir");
            }
            if (first) {
                progress("warming up: the base image in the shared cache (built if missing), one up and destroy");
                await up();
                await destroy();
            }

            progress(`cold up ${at}`);
            const memBefore = memAvailableMiB();
            const cold = await time(() => up());
            const memTaken = memBefore - memAvailableMiB();
            const out = await outputs();
            const ssh = new Ssh(out.adminPrivateKey, out.nodes, frontDoorKnownHosts(out.sshFrontDoor, out.nodes, Object.keys(out.nodes).filter((n) => out.nodes[n].role === "compute")));
            try {
                const cluster2 = () => out.nodes.cluster2;
                const jordi = (script: string, timeoutMs = 1_200_000) => ssh.runAs(cluster2(), "jordi", script, timeoutMs);
                /** Every slot listed and one negotiator, on cluster1: a settled pool. */
                const settled = () => waitForSettledPool(ssh, out.nodes, cluster2(), "jordi", out.condorPool.executeSlots, ["cluster1", "master2"], { slotsMs: 600_000, negotiatorMs: 300_000 });
                progress("waiting for the pool to settle");
                await settled();

                if (o.only.has("lifecycle")) {
                    const pss = machinesPss(names.stateDir, Object.keys(out.nodes));
                    const perMachine = Object.values(pss).reduce((a, b) => a + b, 0) / Object.keys(pss).length;
                    const heaviest = Object.entries(pss).sort((a, b) => b[1] - a[1])[0];
                    rows.push({ what: `cold up, every service ${at}`, value: cold, unit: "s", goal: goals && { op: "<", value: goals.coldUp } });
                    const noopUps: number[] = [];
                    const previews: number[] = [];
                    for (let r = 0; r < o.rounds; r++) {
                        progress(`no-op up and preview ${r + 1}/${o.rounds} ${at}`);
                        noopUps.push(await time(() => up("--expect-no-changes")));
                        previews.push(await time(() => project.ok(["preview", "--stack", stack, "--expect-no-changes"])));
                    }
                    const med = (xs: number[]) => ({ value: median(xs), how: `median of ${xs.length}`, samples: xs });
                    rows.push({ what: `no-op up, settled cluster ${at}`, unit: "s", ...med(noopUps), goal: goals && { op: "<", value: goals.noopUp } });
                    rows.push({ what: `no-op preview ${at}`, unit: "s", ...med(previews), goal: goals?.noopPreview === undefined ? undefined : { op: "<", value: goals.noopPreview } });
                    rows.push({
                        what: `memory per running machine ${at}`,
                        value: perMachine,
                        unit: "MiB",
                        how: "mean",
                        goal: { op: "<", value: 60 },
                        note: `PSS of each machine's processes, settled pool; largest ${heaviest[0]} ${heaviest[1].toFixed(0)} MiB; host MemAvailable fell ${memTaken.toFixed(0)} MiB over the cold up`,
                    });
                }

                if (first && o.only.has("failover")) {
                    // keepalived's default advert interval beside the configured one: quiet
                    // seconds watched for VIP moves, then cluster1 killed (init and systemd-nspawn).
                    for (const advert of [1, 0.2]) {
                        progress(`failover with advert_int ${advert}`);
                        await config("set", "--path", "--type", "float", "frontDoor.vrrp.advertInterval", String(advert));
                        await up();
                        const vip = lab("external", 200);
                        const holders = () => vipHolders(names.stateDir, ["cluster1", "master2"], [vip]);
                        await until(() => holders() === "cluster1", 30_000);
                        const changes = await changesOver(holders, 20_000);
                        const moved = until(() => holders() === "master2", 20_000, 10);
                        const cut = await outage(vip, 2000, () => crash(names.stateDir, "cluster1"));
                        const tVip = await moved;
                        const configured = advert === 0.2;
                        const label = `advert_int ${advert} s${configured ? " (configured)" : " (keepalived's default)"}`;
                        rows.push({ what: `VIP on master2 after cluster1's power cut, ${label}`, value: tVip, unit: "s", goal: configured ? { op: "<", value: 1 } : undefined });
                        rows.push({ what: `SSH front door back, ${label}`, value: cut.back, unit: "s", goal: configured ? { op: "<", value: 2 } : undefined });
                        rows.push({ what: `VIP moves in 20 quiet seconds, ${label}`, value: changes, unit: "moves", goal: { op: "<=", value: 0 } });
                        await up(); // cluster1 back
                    }
                    await config("rm", "--path", "frontDoor.vrrp.advertInterval");
                    await up();
                }

                if (first && o.only.has("soak")) {
                    progress(`soak: ${SOAK_SECONDS} s of front-door sessions and jump-host logins, health checks every ${SOAK_CHECK_MS} ms`);
                    await config("set", "--path", "frontDoor.checkIntervalMs", String(SOAK_CHECK_MS));
                    await up();
                    const compute = Object.keys(out.nodes).filter((n) => out.nodes[n].role === "compute");
                    const r = await soak(ssh, out.sshFrontDoor, [...compute, "nas"].map((n) => out.nodes[n]), SOAK_SECONDS);
                    const errors = [...r.frontDoor.errors, ...r.jumpHost.errors];
                    rows.push({
                        what: `sessions failed in the soak, checks every ${SOAK_CHECK_MS} ms`,
                        value: r.frontDoor.failed + r.jumpHost.failed,
                        unit: "failed",
                        goal: { op: "<=", value: 0 },
                        note: formatSoak(r) + (errors.length > 0 ? `; first errors: ${errors.join(" | ")}` : ""),
                    });
                    await config("rm", "--path", "frontDoor.checkIntervalMs");
                    await up();
                }

                if (o.only.has("jobs") && (first || last)) {
                    /** 100 jobs of 2 s as jordi on cluster2; shared homes (the thesis' myjob) or file transfer from /tmp. */
                    const run = async (mode: "shared" | "transfer" | "transfer-named"): Promise<JobRun> => {
                        await settled();
                        // The switch is a reconfig: wait out one cycle at the old interval (see negotiatorCycledSinceReconfig).
                        await until(() => negotiatorCycledSinceReconfig(ssh, out.nodes.cluster1), 120_000, 1000);
                        const dir = mode === "shared" ? "~/bench" : `/tmp/bench-${mode}`;
                        const prepare =
                            mode === "shared"
                                ? "cp /usr/local/share/thesis-cluster/condor/{myprog,myjob.condor} ~/bench/"
                                : "cp /usr/local/share/thesis-cluster/condor/myprog . && sed -e 's/^should_transfer_files = .*/should_transfer_files = YES\\nwhen_to_transfer_output = ON_EXIT/' /usr/local/share/thesis-cluster/condor/myjob.condor > myjob.condor && grep -q '^should_transfer_files = YES' myjob.condor" +
                                  // Outputs named (none besides stdout and stderr): the starter then skips its 1 s sleep after the download (docs/benchmarks.md).
                                  (mode === "transfer-named" ? " && sed -i 's/^when_to_transfer_output = ON_EXIT$/&\\ntransfer_output_files = \"\"/' myjob.condor && grep -qx 'transfer_output_files = \"\"' myjob.condor" : "");
                        await jordi(`rm -rf ${dir} && mkdir ${dir} && cd ${dir} && ${prepare}`);
                        let cluster = 0;
                        const seconds = await time(async () => {
                            cluster = clusterOf(await jordi(`cd ${dir} && condor_submit myjob.condor`));
                            await waitForJobs(ssh, cluster2(), "jordi", dir, "results.log", cluster, 1200);
                        });
                        const done = (await jordi(`cd ${dir} && grep -l 'Sleep of 2 seconds finished' results.output.* | wc -l`)).trim();
                        if (done !== "100") throw new Error(`${mode} run, cluster ${cluster}: ${done} of 100 outputs say the job finished`);
                        return { seconds, times: await jobTimes(ssh, cluster2(), cluster), phases: await jobPhases(ssh, cluster2(), cluster) };
                    };
                    const jobRow = (what: string, runs: JobRun[], ideal: number, goal?: number): Row => ({
                        what,
                        value: Math.max(...runs.map((r) => overIdeal(r.seconds, ideal))),
                        unit: "%",
                        how: `worst of ${runs.length}`,
                        samples: runs.map((r) => overIdeal(r.seconds, ideal)),
                        goal: goal === undefined ? undefined : { op: "<=", value: goal },
                        note:
                            `over the ideal ${ideal} s; makespans ${runs.map((r) => r.seconds.toFixed(1)).join(", ")} s; first start after the submit ${runs.map((r) => r.times.firstStart).join(", ")} s; ` +
                            `last run ${formatPhases(runs[runs.length - 1].phases)}`,
                    });
                    const { slots, ideal } = myjobIdeal(out.condorPool.executeSlots);
                    if (first) {
                        const runs: Record<"defaults" | "tuned", JobRun[]> = { defaults: [], tuned: [] };
                        for (let r = 1; r <= o.rounds; r++) {
                            for (const tuned of [false, true]) {
                                progress(`jobs round ${r}/${o.rounds}: shared homes, ${tuned ? "tuned" : "HTCondor's defaults"}`);
                                await config("set", "--path", "--type", "bool", "condor.tuned", String(tuned));
                                await up();
                                runs[tuned ? "tuned" : "defaults"].push(await run("shared"));
                            }
                        }
                        await config("rm", "--path", "condor.tuned");
                        await up();
                        const transfer: JobRun[] = [];
                        const named: JobRun[] = [];
                        for (let r = 1; r <= o.rounds; r++) {
                            progress(`jobs round ${r}/${o.rounds}: file transfer from /tmp, tuned (myjob as it is, then its outputs named)`);
                            transfer.push(await run("transfer"));
                            named.push(await run("transfer-named"));
                        }
                        rows.push(jobRow(`100 × 2 s jobs, shared homes, tuned, ${slots} slots`, runs.tuned, ideal, 10));
                        rows.push(jobRow(`100 × 2 s jobs, shared homes, HTCondor's defaults, ${slots} slots`, runs.defaults, ideal));
                        rows.push(jobRow(`100 × 2 s jobs, file transfer from /tmp, tuned, ${slots} slots`, transfer, ideal, 25));
                        rows.push(jobRow(`… the same with transfer_output_files = "", ${slots} slots`, named, ideal, 25));
                    } else {
                        const transfer: JobRun[] = [];
                        const named: JobRun[] = [];
                        for (let r = 1; r <= o.rounds; r++) {
                            progress(`jobs round ${r}/${o.rounds}: file transfer on ${slots} single-slot nodes (myjob as it is, then its outputs named)`);
                            transfer.push(await run("transfer"));
                            named.push(await run("transfer-named"));
                        }
                        const goal = machines === 20 ? 30 : undefined;
                        rows.push(jobRow(`100 × 2 s jobs, file transfer, ${slots} single-slot nodes`, transfer, ideal, goal));
                        rows.push(jobRow(`… the same with transfer_output_files = "", ${slots} single-slot nodes`, named, ideal, goal));
                    }
                }

                if (first && o.only.has("had")) {
                    const m2 = (script: string) => ssh.run(out.nodes.master2, script);
                    const cycles = async () => Number((await m2("grep -c 'Started Negotiation Cycle' /var/log/condor/NegotiatorLog || true")).trim());
                    const samples = { running: [] as number[], listed: [] as number[], cycle: [] as number[], job: [] as number[], both: [] as number[] };
                    // With cluster1 dead, the internal nodes are reached through master2.
                    const m2ssh = out.nodes.master2.ssh;
                    const via2 = (n: NodeOutput): NodeOutput => ({ ...n, ssh: { ...n.ssh, proxy: { host: m2ssh.host, port: m2ssh.port, user: m2ssh.user } } });
                    const jordiVia2 = (script: string) => ssh.runAs(via2(out.nodes.cluster2), "jordi", script, 120_000);
                    await jordi("rm -rf ~/had && mkdir ~/had && printf 'executable = /bin/true\\ntransfer_executable = false\\nlog = had.log\\nqueue\\n' > ~/had/had.sub");
                    for (let r = 1; r <= o.rounds; r++) {
                        progress(`HAD ${r}/${o.rounds}: cluster1's power cut, master2's negotiator`);
                        await settled();
                        // Settled, and a while more: the kill lands anywhere in master2's step.
                        await sleep(5000 + Math.random() * 10_000);
                        const before = await cycles();
                        const t0 = Date.now();
                        const since = () => (Date.now() - t0) / 1000;
                        crash(names.stateDir, "cluster1");
                        // A user's job submitted at the moment of the crash, on cluster2 (reached through master2 now).
                        const submitted = jordiVia2("cd ~/had && condor_submit had.sub").then(clusterOf);
                        const seen = { running: NaN, listed: NaN, cycle: NaN };
                        // master2's own collector, asked on master2: the negotiator's ad; its log: the first cycle.
                        await until(
                            async () => {
                                const [running, listed, cycled] = await Promise.all([
                                    Number.isNaN(seen.running) && negotiatorProcesses(ssh, out.nodes, ["master2"]).then((n) => n === "master2:1"),
                                    Number.isNaN(seen.listed) && m2("condor_status -pool $(hostname -f) -negotiator -af Name 2>/dev/null || true").then((t) => t.includes("master2")),
                                    Number.isNaN(seen.cycle) && cycles().then((n) => n > before),
                                ]);
                                if (running) seen.running = since();
                                if (listed) seen.listed = since();
                                if (cycled) seen.cycle = since();
                                return Object.values(seen).every((v) => !Number.isNaN(v));
                            },
                            300_000,
                            250,
                        );
                        const job = await submitted;
                        await waitForJobs(ssh, via2(out.nodes.cluster2), "jordi", "~/had", "had.log", job, 300);
                        samples.running.push(seen.running);
                        samples.listed.push(seen.listed);
                        samples.cycle.push(seen.cycle);
                        samples.job.push((await jobTimes(ssh, via2(out.nodes.cluster2), job)).firstStartAt - t0 / 1000);
                        await up();
                        // cluster1 back: its HAD takes the negotiator again; both run until master2's next step hears it.
                        let bothFrom: number | undefined;
                        let bothUntil: number | undefined;
                        await until(
                            async () => {
                                const now = await negotiatorProcesses(ssh, out.nodes);
                                if (now === "cluster1:1 master2:1") {
                                    bothFrom ??= Date.now();
                                    bothUntil = Date.now();
                                }
                                return now === "cluster1:1 master2:0";
                            },
                            300_000,
                            500,
                        );
                        samples.both.push(bothFrom === undefined ? 0 : (bothUntil! - bothFrom) / 1000);
                    }
                    const worst = (xs: number[]) => ({ value: Math.max(...xs), how: `worst of ${xs.length}`, samples: xs });
                    rows.push({ what: "HAD: master2's negotiator running after cluster1's power cut", unit: "s", ...worst(samples.running), note: "its process, polled every 0.25 s" });
                    rows.push({ what: "HAD: … its first negotiation cycle begun", unit: "s", ...worst(samples.cycle), goal: { op: "<", value: 30 }, note: "NegotiatorLog on master2" });
                    rows.push({ what: "HAD: … and listed in master2's collector", unit: "s", ...worst(samples.listed) });
                    rows.push({ what: "HAD: a job submitted at the power cut starts", unit: "s", ...worst(samples.job), note: "on cluster2, HTCondor's whole-second JobStartDate" });
                    rows.push({
                        what: "HAD: both negotiators running as cluster1 comes back",
                        unit: "s",
                        ...worst(samples.both),
                        note: "the primary takes the negotiator again (HAD_USE_PRIMARY) and master2 stops its own at its next step; first to last sighting, polled every 0.5 s",
                    });
                }

                if (first && o.only.has("schedulers")) {
                    rows.push(
                        ...(await compareSchedulers(
                            { ssh, nodes: out.nodes, executeSlots: out.condorPool.executeSlots, stateDir: names.stateDir, up: () => up(), progress },
                            o.rounds,
                        )),
                    );
                }
            } finally {
                ssh.remove();
            }

            progress(`destroy ${at}`);
            rows.push({ what: `destroy ${at}`, value: await time(destroy), unit: "s", goal: goals && { op: "<", value: goals.destroy } });
        }
    } finally {
        for (const stack of stacks) {
            await project.pulumi(["destroy", "--stack", stack, "--yes", "--skip-preview"], 1_200_000);
            await project.pulumi(["stack", "rm", stack, "--yes"]);
        }
        project.remove();
        if (imageCache) fs.rmSync(imageCache, { recursive: true, force: true });
    }
}

async function main(): Promise<number> {
    let o: BenchOptions;
    try {
        o = parseBenchOptions(process.argv.slice(2));
    } catch (e) {
        if (!(e instanceof BadOption)) throw e;
        console.error(`bench: ${e.message}\n${usage}`);
        return 2;
    }
    const rows: Row[] = [];
    const started = new Date();
    let failure: unknown;
    try {
        await bench(o, rows);
    } catch (e) {
        failure = e;
    }
    console.log(`\nnpm run bench -- ${process.argv.slice(2).join(" ")}`.trimEnd());
    console.log(`local stack on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${started.toISOString()} to ${new Date().toISOString()}\n`);
    if (rows.length > 0) console.log(formatRows(rows));
    const missed = misses(rows);
    console.log(`\n${rows.filter((r) => r.goal).length - missed.length} of ${rows.filter((r) => r.goal).length} goals met` + (missed.length > 0 ? `; missed: ${missed.map((r) => r.what).join("; ")}` : ""));
    if (failure !== undefined) {
        console.error(`\nbench stopped: ${failure instanceof Error ? failure.message : String(failure)}`);
        return 1;
    }
    return o.check && missed.length > 0 ? 1 : 0;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    },
);
