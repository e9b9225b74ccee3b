/**
 * The thesis' evaluation (chapter 5) run against a stack that is up, on the
 * local backend: every figure measured on the machines and from the host,
 * with its target. The report presents the sections in the thesis' order; they
 * run in the order that disturbs the cluster least: first what only reads,
 * then the jobs on a settled pool, then what kills machines, each followed by
 * the `pulumi up` that repairs it (timed: the lifecycle chart).
 *
 * Everything made here (files on the volumes, jordi's job directories, a
 * directory on the nas' export) is named evaluation-STAMP and removed at the end.
 */
import { compareSchedulers } from "../bench/compare";
import { median } from "../bench/report";
import { hostNames } from "../components/backends";
import { clusterOf, jobTimes, myjobIdeal, negotiatorCycledSinceReconfig, waitForJobs, waitForSettledPool } from "../tests/e2e/condor";
import { crash, nspawnPid } from "../tests/e2e/host";
import { changesOver, fetchStatsPage, readStatsPage, sleep, sshGreets, statsCsv, until, vipHolders } from "../tests/e2e/probe";
import { Project } from "../tests/e2e/project";
import { frontDoorKnownHosts, NodeOutput, Ssh, throughLiveDirector } from "../tests/e2e/ssh";
import { Figure, JobSpan, Results, SectionId } from "./results";

/** A stack the evaluation cannot run against: what is wrong and what to do, printed without a stack trace. */
export class Refused extends Error {}

export interface Outputs {
    backend: string;
    nodes: Record<string, NodeOutput & { role: string }>;
    adminPrivateKey: string;
    vips: { internal: string; external: string };
    sshFrontDoor: { host: string; port: number };
    stats: { url: string; user: string; password: string };
    glusterVolumes: Record<string, string>;
    glusterBricks: Record<string, { bricks: string[]; replica?: number }>;
    identity: { homeBase: string; users: Record<string, { uid: number; home: string }> };
    nfsExport: { export: string; clients: Record<string, string> };
    bonds: Record<string, string>;
    condorPool: { executeSlots: Record<string, number> };
    mosixStatus: { enabled: boolean; note: string };
    slurmCluster?: { enabled: boolean; note?: string };
}

export interface EvaluationRun {
    project: Project;
    stack: string;
    /** One line of progress: a section begins, a step begins, a figure is measured. */
    progress: { section(title: string): void; step(what: string): void; figure(f: Figure): void };
    /** Filled in as the run goes, so what was measured survives a run that stops. */
    results: Results;
    /** Targets of the lifecycle figures for this stack's size, when it has some (the bench's goals). */
    lifecycleTargets?: { noopUp: number; noopPreview: number; coldUp: number; destroy: number };
    /** Rounds of the HTCondor and Slurm comparison. */
    rounds: number;
}

/** Reads the stack's outputs and checks that every machine runs and answers; refuses with what to do otherwise. */
export async function reachStack(project: Project, stack: string): Promise<Outputs> {
    const raw = await project.pulumi(["stack", "output", "--stack", stack, "--json", "--show-secrets"], 120_000);
    if (raw.code !== 0) {
        const why = raw.stderr.trim().split("\n").pop() ?? "";
        throw new Refused(`stack ${stack}: ${why}\nIs it created and up? On a fresh machine: bash scripts/setup; otherwise: pulumi up --stack ${stack}`);
    }
    const out = JSON.parse(raw.stdout) as Partial<Outputs>;
    if (!out.nodes || Object.keys(out.nodes).length === 0) throw new Refused(`stack ${stack} has no machines in its outputs: it is not up. Bring it up: pulumi up --stack ${stack}`);
    if (out.backend !== "nspawn") {
        throw new Refused(`stack ${stack} has backend "${out.backend}": the evaluation cuts machines off as in a power cut, which it does only on the local backend (nspawn)`);
    }
    const o = out as Outputs;
    const stateDir = hostNames(stack).stateDir;
    const down = Object.keys(o.nodes).filter((n) => nspawnPid(stateDir, n) === undefined);
    if (down.length > 0) throw new Refused(`stack ${stack}: ${down.join(", ")} not running. Repair it first: pulumi up --stack ${stack}`);
    const roles = (r: string) => Object.keys(o.nodes).filter((n) => o.nodes[n].role === r);
    if (roles("directors").length !== 2 || roles("compute").length < 3 || roles("san").length < 2 || roles("nas").length !== 1) {
        throw new Refused(`stack ${stack} needs 2 directors, 3 or more compute nodes, 2 or more SAN nodes and a nas (has ${roles("directors").length}, ${roles("compute").length}, ${roles("san").length}, ${roles("nas").length})`);
    }
    if (Object.keys(o.identity.users).length === 0) throw new Refused(`stack ${stack} has no NIS user (identity.users) to submit jobs as`);
    if (!Object.values(o.glusterBricks).some((v) => (v.replica ?? 1) > 1)) throw new Refused(`stack ${stack} has no replicated Gluster volume`);
    const ssh = new Ssh(o.adminPrivateKey, o.nodes);
    try {
        const silent = (
            await Promise.all(
                Object.entries(o.nodes).map(async ([name, n]) => {
                    const e = await ssh.run(n, "true", 20_000).then(() => undefined, (err: Error) => err);
                    if (!e) return undefined;
                    const detail = e.message.split("\n").filter((l) => l.trim() !== "").pop();
                    const via = n.ssh.proxy ? ` through ${n.ssh.proxy.host}` : "";
                    return `${name} (${n.ssh.user}@${n.ssh.host}:${n.ssh.port}${via}): ${detail}`;
                }),
            )
        ).filter((x) => x !== undefined);
        if (silent.length > 0) {
            throw new Refused(
                `stack ${stack}: ${silent.length === 1 ? "a node does" : "nodes do"} not answer over SSH:\n  ${silent.join("\n  ")}\n` +
                    `pulumi preview --stack ${stack} shows what has drifted; pulumi up --stack ${stack} repairs it; bash scripts/ssh NODE logs in to look.`,
            );
        }
    } finally {
        ssh.remove();
    }
    return o;
}

export async function runEvaluation(e: EvaluationRun, out: Outputs): Promise<void> {
    const { project, stack, progress, results } = e;
    const names = hostNames(stack);
    const stamp = `evaluation-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}`;
    const byRole = (r: string) => Object.keys(out.nodes).filter((n) => out.nodes[n].role === r).sort();
    const [master, backup] = byRole("directors");
    const compute = byRole("compute");
    const [nas] = byRole("nas");
    const [submit, sshdVictim, killVictim] = compute;
    const user = Object.keys(out.identity.users)[0];
    const [replicated, { bricks: replicaBricks, replica }] = Object.entries(out.glusterBricks).find(([, v]) => (v.replica ?? 1) > 1)!;
    const sanVictim = replicaBricks[1].split(":")[0];
    const figure = (f: Figure) => {
        results.figures.push(f);
        progress.figure(f);
    };
    const note = (section: SectionId, text: string) => (results.notes[section] ??= []).push(text);
    const lifecycle = (what: string, seconds: number, target?: number) => results.series.lifecycle.push({ what, seconds, target });

    // Nodes behind a director that is down are reached through the other one.
    const down = new Set<string>();
    const reach = (name: string) => throughLiveDirector(out.nodes, [master, backup], down, name);
    const ssh = new Ssh(out.adminPrivateKey, out.nodes, frontDoorKnownHosts(out.sshFrontDoor, out.nodes, compute));
    const run = (node: string, cmd: string, timeoutMs = 60_000) => ssh.run(reach(node), cmd, timeoutMs);
    const asUser = (script: string, timeoutMs = 120_000) => ssh.runAs(reach(submit), user, script, timeoutMs);
    const seconds = async (f: () => Promise<unknown>) => {
        const t = Date.now();
        await f();
        return (Date.now() - t) / 1000;
    };
    const up = () => project.ok(["up", "--stack", stack, "--yes", "--skip-preview"], 1_200_000);
    const repair = async (id: string, what: string) => {
        progress.step(`pulumi up to repair ${what}`);
        const s = await seconds(up);
        down.clear();
        lifecycle(`repair: ${what}`, s);
        figure({ id: `lifecycle.${id}`, section: "lifecycle", what: `pulumi up repairing ${what}`, value: s, unit: "s" });
        return s;
    };
    const kill = (machine: string) => {
        crash(names.stateDir, machine);
        down.add(machine);
    };
    /** Who holds each VIP, e.g. "cluster1 cluster1" (external, internal); read from the host. */
    const holders = () => vipHolders(names.stateDir, [master, backup], [out.vips.external, out.vips.internal]);
    const onlyOn = (d: string) => `${d} ${d}`;
    const targets = e.lifecycleTargets;

    try {
        progress.section("Lifecycle: the stack as it stands");
        // Three no-op previews and ups, as the bench samples them: one run on a shared host is noise.
        const previews: number[] = [];
        const noopUps: number[] = [];
        for (let r = 1; r <= 3; r++) {
            progress.step(`pulumi preview --stack ${stack} --expect-no-changes (${r} of 3)`);
            let preview = { code: 0, stdout: "", stderr: "" };
            previews.push(await seconds(async () => (preview = await project.pulumi(["preview", "--stack", stack, "--expect-no-changes"], 600_000))));
            if (preview.code !== 0) {
                const changes = preview.stdout.split("\n").filter((l) => /^\s*[~+-]\s|error:/.test(l)).slice(0, 8);
                throw new Refused(`stack ${stack} is not as its program says (pulumi preview reports changes):\n  ${changes.join("\n  ")}\nRepair it first: pulumi up --stack ${stack}`);
            }
            progress.step(`pulumi up --stack ${stack} --expect-no-changes (${r} of 3)`);
            noopUps.push(await seconds(() => project.ok(["up", "--stack", stack, "--yes", "--skip-preview", "--expect-no-changes"], 600_000)));
        }
        const med = (xs: number[]) => ({ value: median(xs), how: `median of ${xs.length}`, samples: xs });
        lifecycle("no-op preview", median(previews), targets?.noopPreview);
        lifecycle("no-op up", median(noopUps), targets?.noopUp);
        figure({ id: "lifecycle.noopPreview", section: "lifecycle", what: "pulumi preview of the running cluster, no changes", unit: "s", ...med(previews), goal: targets && { op: "<", value: targets.noopPreview }, note: "every step's check run on its machine" });
        figure({ id: "lifecycle.noopUp", section: "lifecycle", what: "pulumi up of the running cluster, no changes", unit: "s", ...med(noopUps), goal: targets && { op: "<", value: targets.noopUp } });

        // A settled pool: every slot listed, one negotiator, on the master director.
        const settled = () => waitForSettledPool(ssh, out.nodes, reach(submit), user, out.condorPool.executeSlots, [master, backup]);

        // --- 4.6.1: users and homes ---
        progress.section("Users and homes: NIS and NFS (thesis 3.3, 3.4, 4.6.1)");
        progress.step(`getent passwd ${user} on every node`);
        const account = out.identity.users[user];
        const known = await Promise.all(
            Object.keys(out.nodes).map(async (n) => ((await run(n, `getent passwd ${user} | cut -d: -f1,3,6`)).trim() === `${user}:${account.uid}:${account.home}` ? n : undefined)),
        );
        const knowing = known.filter((n) => n !== undefined);
        figure({
            id: "identity.nis",
            section: "4.6.1",
            what: `nodes that know the NIS user ${user} (uid ${account.uid}, home ${account.home})`,
            value: knowing.length,
            unit: "nodes",
            goal: { op: "=", value: Object.keys(out.nodes).length },
            note: knowing.length === Object.keys(out.nodes).length ? "every node" : `not: ${Object.keys(out.nodes).filter((n) => !knowing.includes(n)).join(", ")}`,
        });
        progress.step(`a file written to the nas' export from ${compute[compute.length - 1]} and read back`);
        const [nfsHost, nfsPath] = out.nfsExport.export.split(":");
        const url = (p: string) => `'nfs://${nfsHost}${nfsPath}/${p}?version=4'`;
        const nfsDir = `/home/${stamp}`;
        await run(nas, `install -d -m 1777 ${nfsDir}`);
        const nfsReader = compute[compute.length - 1];
        const got = await run(nfsReader, `echo ${stamp} > /tmp/${stamp} && nfs-cp /tmp/${stamp} ${url(`${stamp}/file`)} >/dev/null && nfs-cat ${url(`${stamp}/file`)}; rm -f /tmp/${stamp}`).catch((err: Error) => err.message.split("\n")[0]);
        const onServer = (await run(nas, `cat ${nfsDir}/file 2>/dev/null || true`)).trim();
        const kernelClient = Object.values(out.nfsExport.clients).every((c) => c.startsWith("no NFS client in this kernel"));
        figure({
            id: "identity.nfs",
            section: "4.6.1",
            what: `a file written to ${out.nfsExport.export} from ${nfsReader}, read back there and on the nas`,
            value: got.trim() === stamp && onServer === stamp ? 1 : 0,
            unit: "yes/no",
            goal: { op: "=", value: 1 },
            note: kernelClient ? "this host's kernel has no NFS client: the nodes use the userspace client (nfs-cp, nfs-cat), as their outputs say" : "kernel NFS client",
        });
        await run(nas, `rm -rf ${nfsDir}`);

        // --- 5.2: bond ---
        progress.section("5.2 Channel bonding");
        const bond = out.bonds[nas] ?? "no bond planned";
        const bondingHere = (await run(nas, "ip link add evalbondprobe type bond 2>/dev/null && ip link del evalbondprobe && echo yes || echo no")).trim() === "yes";
        const mode = bondingHere ? (await run(nas, "sed -n 's/^Bonding Mode: //p' /proc/net/bonding/bond0 2>/dev/null || true")).trim() : "";
        figure({ id: "bond.nas", section: "5.2", what: `bond0 on ${nas}`, value: NaN, unit: "yes/no", text: bondingHere ? mode || bond : "absent: this kernel has no bonding driver", note: bond });
        note("5.2", bondingHere ? `/proc/net/bonding/bond0 on ${nas}: ${mode || "not found"}` : `The thesis' test reads /proc/net/bonding/bond0 (802.3ad). The kernel here cannot make a bond (ip link add type bond fails on ${nas}), so there is nothing to measure; the stack's output says so instead of pretending.`);

        // --- 5.1: GlusterFS distribution ---
        progress.section("5.1 SAN storage: GlusterFS");
        const volumes = Object.entries(out.glusterVolumes);
        const countOn = async (brick: string, dir: string, prefix: string) => {
            const [node, path] = brick.split(":");
            return Number((await run(node, `ls ${path}/${dir} 2>/dev/null | grep -c '^${prefix}' || true`)).trim());
        };
        for (const [volume, mount] of volumes) {
            const prefix = volume === replicated ? "replica" : "distr";
            progress.step(`100 copies of /etc/hosts into ${mount} (${volume}) from ${submit}`);
            await run(submit, `mkdir -p ${mount}/${stamp} && for i in $(seq 100); do cp /etc/hosts ${mount}/${stamp}/${prefix}$i; done`);
            const counts: number[] = [];
            for (const brick of out.glusterBricks[volume].bricks) {
                const files = await countOn(brick, stamp, prefix);
                counts.push(files);
                results.series.bricks.push({ volume: `${volume} (${(out.glusterBricks[volume].replica ?? 1) > 1 ? `replica ${out.glusterBricks[volume].replica}` : "distributed"})`, brick: brick.split(":")[0], files });
            }
            const per = out.glusterBricks[volume].bricks.map((b, i) => `${b.split(":")[0]} ${counts[i]}`).join(", ");
            if ((out.glusterBricks[volume].replica ?? 1) > 1) {
                figure({ id: `gluster.${volume}`, section: "5.1", what: `${volume} (replica ${out.glusterBricks[volume].replica}): of 100 copies, on each brick`, value: Math.min(...counts), unit: "files", goal: { op: "=", value: 100 }, how: "the fewest", note: per });
            } else {
                const spread = counts.every((c) => c > 0);
                figure({ id: `gluster.${volume}`, section: "5.1", what: `${volume} (distributed): of 100 copies, on its bricks together`, value: counts.reduce((a, b) => a + b, 0), unit: "files", goal: { op: "=", value: 100 }, note: `${per}; ${spread ? "every brick holds some" : "NOT every brick holds some"}` });
            }
        }

        // --- 5.4: jobs ---
        progress.section("5.4 User jobs: MOSIX and HTCondor");
        figure({ id: "jobs.mosix", section: "5.4", what: "MOSIX", value: NaN, unit: "yes/no", text: out.mosixStatus.enabled ? "on" : "off", note: out.mosixStatus.note });
        const { slots, ideal } = myjobIdeal(out.condorPool.executeSlots);
        /** A finished cluster's jobs: slot, start and end in seconds since its submit (HTCondor's whole-second clock). */
        const timeline = async (label: string, cluster: number): Promise<JobSpan[]> => {
            const rows = (await asUser(`condor_history ${cluster} -af ProcId QDate JobCurrentStartDate CompletionDate LastRemoteHost`))
                .trim()
                .split("\n")
                .map((l) => l.split(/\s+/));
            const q0 = Math.min(...rows.map((r) => Number(r[1])));
            return rows.map(([job, , start, end, slot]) => ({ run: label, job: Number(job), slot: slot.replace(/\.[^@]*$/, ""), start: Number(start) - q0, end: Number(end) - q0 }));
        };
        const myjob = async (dir: string, during?: (cluster: number) => Promise<void>) => {
            await asUser(`rm -rf ~/${dir} && mkdir ~/${dir} && cp /usr/local/share/thesis-cluster/condor/{myprog,myjob.condor} ~/${dir}/`);
            let cluster = 0;
            const s = await seconds(async () => {
                cluster = clusterOf(await asUser(`cd ~/${dir} && condor_submit myjob.condor`));
                if (during) await during(cluster);
                await waitForJobs(ssh, reach(submit), user, `~/${dir}`, "results.log", cluster, 1200);
            });
            const done = Number((await asUser(`cd ~/${dir} && grep -l 'Sleep of 2 seconds finished' results.output.* 2>/dev/null | wc -l`)).trim());
            return { cluster, seconds: s, done };
        };

        progress.step("waiting for a settled pool: every slot listed, one negotiator");
        await settled();
        await until(() => negotiatorCycledSinceReconfig(ssh, out.nodes[master]), 120_000, 1000);
        progress.step(`the thesis' myjob: 100 × myprog (sleep 2) by ${user} on ${submit}, home on ${replicated}`);
        const m = await myjob(stamp);
        const t = await jobTimes(ssh, reach(submit), m.cluster);
        const spans = await timeline("myjob", m.cluster);
        results.series.jobs.push(...spans);
        const perNode = [...new Set(spans.map((s) => s.slot.replace(/^.*@/, "")))].sort();
        figure({
            id: "jobs.myjob",
            section: "5.4",
            what: `100 × 2 s jobs on ${slots} slots, shared homes: over the ideal ${ideal} s`,
            value: (m.seconds / ideal - 1) * 100,
            unit: "%",
            goal: { op: "<=", value: 15 },
            note: `submit to the last job done ${m.seconds.toFixed(1)} s (host clock); first start ${t.firstStart} s after the submit; ran on ${perNode.join(", ")}`,
        });
        figure({ id: "jobs.myjobDone", section: "5.4", what: "of the 100 jobs, finished (their output says so)", value: m.done, unit: "jobs", goal: { op: "=", value: 100 } });

        progress.step(`the self-checkpointing pi.c, vacated after its first checkpoint`);
        const piDir = `${stamp}-pi`;
        await asUser(`rm -rf ~/${piDir} && mkdir ~/${piDir} && cd ~/${piDir} && cp /usr/local/share/thesis-cluster/condor/{pi.c,pi.sub} . && gcc -O2 -o pi pi.c`);
        const piCluster = clusterOf(await asUser(`cd ~/${piDir} && condor_submit pi.sub`));
        const spool = (await run(submit, "condor_config_val SPOOL")).trim();
        const ckpt = `${spool}/${piCluster % 10000}/0/cluster${piCluster}.proc0.subproc0/pi.ckpt`;
        const tCkpt = await until(async () => (await run(submit, `test -s ${ckpt} && echo yes || echo no`)).trim() === "yes", 300_000, 500);
        const saved = Number((await run(submit, `cat ${ckpt}`)).trim().split(" ")[1]);
        await asUser(`condor_vacate_job ${piCluster}.0`);
        const piSeconds = await seconds(() => waitForJobs(ssh, reach(submit), user, `~/${piDir}`, "pi.log", piCluster, 900));
        const piOut = await asUser(`cd ~/${piDir} && cat pi.out`);
        const evicted = /^004 .*Job was evicted/m.test(await asUser(`cd ~/${piDir} && cat pi.log`));
        const resumes = [...piOut.matchAll(/^resuming at iteration (\d+) of (\d+) on (\S+)$/gm)].map((x) => Number(x[1]));
        const fromZero = piOut.match(/^starting at iteration 0/gm)?.length ?? 0;
        const pi = Number(piOut.match(/^pi = ([\d.]+)$/m)?.[1]);
        const resumed = evicted && resumes.length > 0 && Math.min(...resumes) > 0 && Math.max(...resumes) >= saved && fromZero === 1 && Math.abs(pi - Math.PI) < 1e-9;
        figure({
            id: "jobs.checkpoint",
            section: "5.4",
            what: "pi.c vacated mid-run resumes from its checkpoint, not from zero",
            value: resumed ? 1 : 0,
            unit: "yes/no",
            goal: { op: "=", value: 1 },
            note: `first checkpoint in ${submit}'s spool after ${tCkpt.toFixed(1)} s (iteration ${saved}); ${evicted ? "evicted" : "NOT evicted"}; ${resumes.length} resumes (lowest iteration ${resumes.length ? Math.min(...resumes) : "—"}); ${fromZero} start(s) from zero; pi = ${pi}; done ${piSeconds.toFixed(0)} s after the vacate`,
        });

        progress.step(`100 × myjob again; ${killVictim} killed as in a power cut once it runs one`);
        let killedAt = 0;
        let submittedAt = 0;
        let running: number[] = [];
        let lost: { job: number; queued: number; start: number; slot: string }[] = [];
        const k = await myjob(`${stamp}-killed`, async (cluster) => {
            submittedAt = Date.now() / 1000;
            await until(async () => (await asUser(`condor_q ${cluster} -run -af RemoteHost`)).includes(killVictim), 180_000, 200);
            await sleep(500);
            const onVictim = (await asUser(`condor_q ${cluster} -run -af ProcId QDate JobCurrentStartDate RemoteHost`))
                .trim()
                .split("\n")
                .map((l) => l.split(" "))
                .filter((l) => l[3]?.includes(`@${killVictim}.`));
            running = onVictim.map((l) => Number(l[0]));
            kill(killVictim);
            killedAt = Date.now() / 1000;
            lost = onVictim.map(([job, q, start, slot]) => ({ job: Number(job), queued: Number(q), start: Number(start), slot: slot.replace(/\.[^@]*$/, "") }));
        });
        const label = `${killVictim} cut off mid-run`;
        const kSpans = await timeline(label, k.cluster);
        const q0 = Math.min(...lost.map((l) => l.queued));
        results.series.jobs.push(...kSpans, ...lost.map((l) => ({ run: label, job: l.job, slot: l.slot, start: l.start - q0, end: killedAt - q0, lost: true })));
        const hist = (await asUser(`condor_history ${k.cluster} -af ProcId CompletionDate LastRemoteHost`)).trim().split("\n").map((l) => l.split(/\s+/));
        const rescued = hist.filter(([p]) => running.includes(Number(p)));
        const rescuedBy = Math.max(...rescued.map(([, c]) => Number(c))) - killedAt;
        const interrupted = (await asUser(`cd ~/${stamp}-killed && grep -cE '^(004|022|024) ' results.log || true`)).trim();
        figure({ id: "jobs.killedNode", section: "5.4", what: `of 100 jobs, finished with ${killVictim} killed mid-run`, value: k.done, unit: "jobs", goal: { op: "=", value: 100 }, note: `cut off ${(killedAt - submittedAt).toFixed(1)} s after the submit; submit to the last done ${k.seconds.toFixed(1)} s; ${interrupted} evictions or disconnections in the user log` });
        figure({
            id: "jobs.killedNodeRescued",
            section: "5.4",
            what: `${running.length === 1 ? "the job" : `the ${running.length} jobs`} running on ${killVictim} at its death, done elsewhere`,
            value: rescuedBy,
            unit: "s",
            how: "after the kill",
            note: `jobs ${running.join(", ")} finished on ${rescued.map(([, , h]) => h.replace(/^.*@/, "").replace(/\..*/, "")).join(", ")} (HTCondor's whole-second CompletionDate)`,
        });
        await repair("repairCompute", `${killVictim} cut off (compute)`);

        // --- 5.3: high availability ---
        progress.section("5.3 High availability");
        progress.step(`${2 * compute.length} sessions through the front door ${out.sshFrontDoor.host}:${out.sshFrontDoor.port}`);
        const landed: string[] = [];
        for (let i = 0; i < 2 * compute.length; i++) landed.push((await ssh.runAt(out.sshFrontDoor.host, out.sshFrontDoor.port, "hostname", 30_000)).trim());
        let turns = true;
        for (let i = 0; i + compute.length <= landed.length; i++) turns &&= new Set(landed.slice(i, i + compute.length)).size === compute.length;
        figure({ id: "ha.roundRobin", section: "5.3", what: `sessions through the front door land on each compute node in turn`, value: turns ? 1 : 0, unit: "yes/no", goal: { op: "=", value: 1 }, note: landed.join(" ") });

        const statsRow = async () => {
            const rows = await statsCsv(out.stats.url, out.stats.password);
            return Object.values(rows).find((r) => r.svname === sshdVictim && r.pxname !== "stats");
        };
        const checks = (await run(master, "grep -o 'default-server inter .*' /etc/haproxy/haproxy.cfg | cut -d' ' -f2-")).trim();
        const downTimes: number[] = [];
        let page: { host?: string; rows: Record<string, string> } = { rows: {} };
        for (let r = 1; r <= 3; r++) {
            progress.step(`sshd stopped on ${sshdVictim} (round ${r} of 3): until HAProxy marks it DOWN`);
            await until(async () => (await statsRow())?.status === "UP", 60_000, 250);
            // sshd comes back by itself: a timer set before it stops.
            const stopAt = Number(
                (await run(sshdVictim, "systemd-run --quiet --on-active=6 --timer-property=AccuracySec=100ms systemctl start ssh.service && systemctl stop ssh.service && date +%s.%N")).trim(),
            );
            await until(async () => (page = readStatsPage(await fetchStatsPage(out.stats.url, out.stats.user, out.stats.password))).rows[`serverfarm/${sshdVictim}`] === "active_down", 15_000, 100).catch(() => undefined);
            const logged = (
                await run(master, `journalctl -u haproxy -o short-unix --no-pager --since @${Math.floor(stopAt)} | grep -m1 'Server [a-z]*/${sshdVictim} is DOWN' | cut -d' ' -f1`)
            ).trim();
            downTimes.push(logged ? Number(logged) - stopAt : NaN);
        }
        await until(async () => (await statsRow())?.status === "UP", 60_000, 250);
        figure({
            id: "ha.sshdDown",
            section: "5.3",
            what: `HAProxy marks ${sshdVictim} DOWN after its sshd stops`,
            value: Math.max(...downTimes),
            unit: "s",
            how: `worst of ${downTimes.length}`,
            samples: downTimes,
            goal: { op: "<", value: 2 },
            note: `from the stop (${sshdVictim}'s clock) to HAProxy's "is DOWN" log line on ${master} (the same host clock); haproxy.cfg: ${checks}`,
        });
        figure({
            id: "ha.statsPage",
            section: "5.3",
            what: `the stats page (user admin, generated password) shows ${sshdVictim} DOWN`,
            value: page.rows[`serverfarm/${sshdVictim}`] === "active_down" ? 1 : 0,
            unit: "yes/no",
            goal: { op: "=", value: 1 },
            note: `"Statistics Report for pid …: ${page.host}"; its rows: ${Object.entries(page.rows).map(([k, v]) => `${k.split("/")[1]} ${v}`).join(", ")}`,
        });

        progress.step(`60 quiet seconds: which director holds the VIPs, every 50 ms`);
        await until(() => holders() === onlyOn(master), 30_000);
        const moves = await changesOver(holders, 60_000);
        figure({ id: "ha.quiet", section: "5.3", what: "VIP moves in a 60 s quiet period", value: moves, unit: "moves", goal: { op: "<=", value: 0 } });

        progress.step(`${master} cut off as in a power cut; probing the front door every 20 ms`);
        const probes = results.series.probes;
        const t0 = Date.now() + 3000;
        const clock = () => (Date.now() - t0) / 1000;
        let probing = true;
        const prober = (async () => {
            while (probing) {
                const t = clock();
                probes.push({ t, ok: await sshGreets(out.sshFrontDoor.host, out.sshFrontDoor.port, 200) });
                await sleep(20);
            }
        })();
        await sleep(t0 - Date.now());
        results.series.events.push({ t: 0, label: `${master} cut off` });
        kill(master);
        const moved = await until(() => holders() === onlyOn(backup), 20_000, 10).catch(() => NaN);
        results.series.events.push({ t: moved, label: `VIPs on ${backup}` });
        // Then 20 s more, watching for the VIP to move again.
        const flaps = await changesOver(holders, 20_000);
        probing = false;
        await prober;
        const firstFail = probes.find((p) => p.t >= 0 && !p.ok);
        const back = firstFail ? probes.find((p) => p.t > firstFail.t && p.ok)?.t ?? NaN : 0;
        if (firstFail && Number.isFinite(back)) results.series.events.push({ t: back, label: "front door answers again" });
        figure({ id: "ha.vipTakeover", section: "5.3", what: `both VIPs on ${backup} after ${master}'s power cut`, value: moved, unit: "s", goal: { op: "<", value: 1 }, note: "its addresses read from the host every 10 ms" });
        figure({
            id: "ha.frontDoorBack",
            section: "5.3",
            what: "the SSH front door greets again",
            value: back,
            unit: "s",
            how: "after the power cut",
            goal: { op: "<", value: 1 },
            note: firstFail ? `first failed probe at ${firstFail.t.toFixed(2)} s; ${probes.filter((p) => p.t >= 0 && !p.ok).length} of ${probes.filter((p) => p.t >= 0).length} probes after the cut failed` : "no probe failed",
        });
        figure({ id: "ha.flapping", section: "5.3", what: `VIP moves in the 20 s after the takeover`, value: flaps, unit: "moves", goal: { op: "<=", value: 0 } });
        const after = readStatsPage(await fetchStatsPage(out.stats.url, out.stats.user, out.stats.password));
        figure({ id: "ha.statsPageBackup", section: "5.3", what: `the stats page answers on the VIP, from ${backup}`, value: after.host === backup ? 1 : 0, unit: "yes/no", goal: { op: "=", value: 1 }, note: `"Statistics Report for pid …: ${after.host}"` });
        await repair("repairMaster", `${master} cut off (master director)`);
        const home = await until(() => holders() === onlyOn(master), 120_000, 100).catch(() => NaN);
        figure({ id: "ha.vipHome", section: "5.3", what: `VIPs back on ${master} after its repair`, value: home, unit: "s", how: "after the up", note: "its higher priority takes them back; 0 when they were back before the up returned" });

        // --- 5.1: self-heal ---
        progress.section("5.1 SAN storage: a brick's power cut");
        progress.step(`${sanVictim} cut off; 20 files written to ${replicated} meanwhile`);
        const mount = out.glusterVolumes[replicated];
        kill(sanVictim);
        const during = (await run(compute[1], `for i in $(seq 20); do echo written-while-${sanVictim}-was-down > ${mount}/${stamp}/during$i; done; ls ${mount}/${stamp} | grep -c '^during'`)).trim();
        figure({ id: "gluster.degradedWrites", section: "5.1", what: `files written to ${replicated} with ${sanVictim} down, then listed`, value: Number(during), unit: "files", goal: { op: "=", value: 20 } });
        await repair("repairSan", `${sanVictim} cut off (SAN)`);
        const brick = replicaBricks[1];
        const healed = await until(async () => (await countOn(brick, stamp, "during")) === 20, 300_000, 100).catch(() => NaN);
        figure({ id: "gluster.selfHeal", section: "5.1", what: `${brick.split(":")[0]}'s ${replicated} brick holds the 20 files`, value: healed, unit: "s", how: "after the up that brought it back", goal: { op: "<", value: 5 }, note: `replica ${replica}; read on the brick every 0.1 s` });

        // --- 6: Slurm beside HTCondor ---
        progress.section("6 Future work: Slurm beside HTCondor");
        if (out.slurmCluster?.enabled) {
            const rows = await compareSchedulers(
                { ssh, nodes: out.nodes, executeSlots: out.condorPool.executeSlots, stateDir: names.stateDir, up, progress: (msg) => progress.step(msg) },
                e.rounds,
            );
            for (const r of rows) figure({ ...r, section: "6" });
        } else {
            figure({ id: "schedulers.slurm", section: "6", what: "Slurm", value: NaN, unit: "yes/no", text: "off", note: out.slurmCluster?.note ?? "the stack has no slurmCluster output" });
        }
    } finally {
        if (down.size > 0) {
            progress.step(`bringing back ${[...down].join(", ")}`);
            await up().catch((err: Error) => note("lifecycle", `the final repair failed: ${err.message.split("\n")[0]}`));
            down.clear();
        }
        progress.step("removing what the evaluation made");
        await run(submit, `rm -rf ${Object.values(out.glusterVolumes).map((m) => `${m}/${stamp}`).join(" ")}`).catch(() => undefined);
        await asUser(`rm -rf ~/${stamp} ~/${stamp}-pi ~/${stamp}-killed ~/cmp-*`).catch(() => undefined);
        await run(nas, `rm -rf /home/${stamp}`).catch(() => undefined);
        ssh.remove();
    }
    progress.step(`pulumi preview --stack ${stack} --expect-no-changes`);
    const final = await project.pulumi(["preview", "--stack", stack, "--expect-no-changes"], 600_000);
    figure({
        id: "lifecycle.previewAfter",
        section: "lifecycle",
        what: "pulumi preview after the evaluation: no changes",
        value: final.code === 0 ? 1 : 0,
        unit: "yes/no",
        goal: { op: "=", value: 1 },
        note: final.code === 0 ? "every repair left the cluster as its program says" : final.stdout.split("\n").filter((l) => /^\s*[~+-]\s/.test(l)).slice(0, 6).join(" | "),
    });
}
