import { hostNames } from "../../components/backends";
import { clusterOf, jobTimes, matchLogs, myjobIdeal, negotiatorProcesses as negotiators, waitForJobs } from "./condor";
import { crash, nspawnPid } from "./host";
import { sleep, until } from "./probe";
import { TempProject } from "./project";
import { NodeOutput, Ssh } from "./ssh";

// Job management (thesis sections 4.6.2-4.6.3, tests 5.4) on the local stack:
// the HTCondor pool, the thesis' job queue test, self-checkpointing, failures.
describe("HTCondor pool (tests 5.4)", () => {
    const project = new TempProject("condor");
    const stack = "hc";
    const names = hostNames(stack);
    let out: {
        nodes: Record<string, NodeOutput>;
        adminPrivateKey: string;
        condorPool: { name: string; centralManagers: string[]; highAvailability: string; submitHosts: string[]; executeSlots: Record<string, number> };
        mosixStatus: { enabled: boolean; note: string };
    };
    let ssh: Ssh;
    const compute = ["cluster2", "cluster3", "cluster4", "cluster5"];
    const figures: Record<string, string> = {};
    // jordi, a NIS user, works on cluster2, the submit node of these tests.
    const asJordi = (script: string, timeoutMs = 60_000) => ssh.runAs(out.nodes.cluster2, "jordi", script, timeoutMs);
    // As in a power cut: links down, then init and systemd-nspawn killed (see crash()).
    const kill = (machine: string) => crash(names.stateDir, machine);
    const up = () => project.ok(["up", "--stack", stack, "--yes", "--skip-preview"], 900_000);

    beforeAll(async () => {
        await project.initStack(stack, "local");
        await up();
        out = JSON.parse(await project.ok(["stack", "output", "--stack", stack, "--json", "--show-secrets"]));
        ssh = new Ssh(out.adminPrivateKey, out.nodes);
    }, 1_900_000);

    afterAll(async () => {
        ssh?.remove();
        await project.destroyAndRemove(stack);
        console.log("HTCondor figures: " + JSON.stringify(figures));
    }, 900_000);

    /** Submits a job file in a fresh directory of jordi's; returns the cluster id and the wall time until all its jobs left the queue. */
    async function runJobs(dir: string, files: string[], submitFile: string, during?: (cluster: number) => Promise<void>) {
        await asJordi(`rm -rf ~/${dir} && mkdir ~/${dir} && cp ${files.map((f) => `/usr/local/share/thesis-cluster/condor/${f}`).join(" ")} ~/${dir}/`);
        const start = Date.now();
        const submitted = await asJordi(`cd ~/${dir} && condor_submit ${submitFile}`);
        const cluster = clusterOf(submitted);
        if (during) await during(cluster);
        // 100 jobs of 2 s take 50-75 s on this pool; 300 s is far beyond that.
        await waitForJobs(ssh, out.nodes.cluster2, "jordi", `~/${dir}`, "results.log", cluster, 300);
        return { cluster, seconds: (Date.now() - start) / 1000 };
    }

    const negotiatorProcesses = (directors?: string[]) => negotiators(ssh, out.nodes, directors);
    /** Per compute node, how many of a job directory's outputs ran there. */
    async function perNode(dir: string): Promise<Record<string, number>> {
        const hosts = (await asJordi(`cd ~/${dir} && grep -h "^I'm process id" results.output.* | sed 's/.* //' | sort | uniq -c`)).trim().split("\n");
        return Object.fromEntries(hosts.map((l) => l.trim().split(/\s+/)).map(([n, h]) => [h, Number(n)]));
    }

    it("publishes the pool, its central managers and submit hosts, and says MOSIX is off", () => {
        expect(out.condorPool).toMatchObject({
            name: "thesis-cluster",
            centralManagers: ["cluster1.cluster", "master2.cluster"],
            submitHosts: compute.map((c) => `${c}.cluster`),
            executeSlots: { cluster2: 1, cluster3: 1, cluster4: 1, cluster5: 1 },
        });
        expect(out.mosixStatus.enabled).toBe(false);
        expect(out.mosixStatus.note).toMatch(/^off: thesis-cluster:mosix.tarball is not set/);
    });

    it("lists every execute slot of every compute node in condor_status, with the negotiator on cluster1", async () => {
        const want = compute.map((c) => `slot1@${c}.cluster`).sort();
        let slots: string[] = [];
        const t = await until(async () => {
            slots = (await asJordi("condor_status -af Name | sort")).trim().split("\n");
            return slots.join() === want.join();
        }, 120_000, 1000).catch(() => NaN);
        expect(slots).toEqual(want);
        figures.slotsListed = `${slots.length} slots after ${t.toFixed(0)} s`;
        console.log(await asJordi("condor_status"));
        // HAD runs one negotiator, the primary's once it has settled (on a cold start
        // the director whose HAD came up first may hold it for a while). The
        // processes on the directors are the truth; the collectors keep a dead
        // negotiator's ad for a while.
        const seen = new Set<string>();
        const tOne = await until(async () => {
            const now = await negotiatorProcesses();
            seen.add(now);
            return now === "cluster1:1 master2:0";
        }, 240_000, 2000).catch(() => NaN);
        expect(await negotiatorProcesses()).toBe("cluster1:1 master2:0");
        expect((await asJordi("condor_status -negotiator -af Name")).trim().split("\n")).toContain("cluster1.cluster");
        // And it stays one: the backup's HAD hears the primary at every step.
        await sleep(30_000);
        expect(await negotiatorProcesses()).toBe("cluster1:1 master2:0");
        figures.negotiator = `only cluster1's running ${tOne.toFixed(0)} s after the slots were listed, still 30 s later (seen: ${[...seen].join("; ")})`;
        // A user may read the pool, not run it: turning another node's startd off is refused.
        const refused = await asJordi("/usr/sbin/condor_off -startd -name cluster3.cluster 2>&1 || true");
        expect(refused).toMatch(/Failed to authenticate|DENIED|not authorized/i);
        await sleep(2000);
        expect((await asJordi("condor_status -af Name")).trim().split("\n")).toContain("slot1@cluster3.cluster");
    }, 300_000);

    it("runs the thesis' myjob, 100 × myprog (sleep 2) by the NIS user jordi, spread over every compute node", async () => {
        const { cluster, seconds } = await runJobs("myjob", ["myprog", "myjob.condor"], "myjob.condor");
        const done = (await asJordi("cd ~/myjob && grep -l 'Sleep of 2 seconds finished' results.output.* | wc -l; stat -c %U results.output.0 results.output.99 | sort -u")).trim();
        expect(done.split("\n")).toEqual(["100", "jordi"]);
        const nodes = await perNode("myjob");
        expect(Object.keys(nodes).sort()).toEqual(compute);
        const { slots, ideal } = myjobIdeal(out.condorPool.executeSlots);
        // HTCondor's own times (whole seconds).
        const t = await jobTimes(ssh, out.nodes.cluster2, cluster);
        figures.myjob =
            `cluster ${cluster}: 100 jobs in ${seconds.toFixed(1)} s submit to all done (ideal ${ideal} s for ${slots} slots, ${((seconds / ideal - 1) * 100).toFixed(0)}% over); ` +
            `first start ${t.firstStart} s after the submit, first start to last end ${t.span} s; per node ${JSON.stringify(nodes)}`;
        console.log(`myjob: ${figures.myjob}`);
        // A first match slower than a few negotiation cycles: what the daemons said meanwhile.
        if (t.firstStart > 5) console.log(`myjob's first start waited ${t.firstStart} s:\n${await matchLogs(ssh, out.nodes, "cluster2", t)}`);
    }, 960_000);

    it("resumes the self-checkpointing pi job from its checkpoint after it is vacated mid-run", async () => {
        await asJordi("rm -rf ~/pi && mkdir ~/pi && cd ~/pi && cp /usr/local/share/thesis-cluster/condor/pi.c /usr/local/share/thesis-cluster/condor/pi.sub . && gcc -O2 -o pi pi.c");
        const cluster = clusterOf(await asJordi("cd ~/pi && condor_submit pi.sub"));
        // The first checkpoint reaches the submit node's spool, then the job is vacated.
        const spool = (await ssh.run(out.nodes.cluster2, "condor_config_val SPOOL")).trim();
        const ckpt = `${spool}/${cluster % 10000}/0/cluster${cluster}.proc0.subproc0/pi.ckpt`;
        const tCkpt = await until(async () => (await ssh.run(out.nodes.cluster2, `test -s ${ckpt} && echo yes || echo no`)).trim() === "yes", 120_000, 500);
        const saved = (await ssh.run(out.nodes.cluster2, `cat ${ckpt}`)).trim().split(" ");
        await asJordi(`condor_vacate_job ${cluster}.0`);
        await waitForJobs(ssh, out.nodes.cluster2, "jordi", "~/pi", "pi.log", cluster, 600);
        const output = await asJordi("cd ~/pi && cat pi.out");
        const log = await asJordi("cd ~/pi && cat pi.log");
        console.log(`pi.out:\n${output}`);
        expect(log).toMatch(/^004 .*Job was evicted/m);
        // After the eviction it started from a checkpoint, not from zero.
        const resumes = [...output.matchAll(/^resuming at iteration (\d+) of (\d+) on (\S+)$/gm)].map((m) => Number(m[1]));
        expect(resumes.length).toBeGreaterThan(0);
        expect(Math.min(...resumes)).toBeGreaterThan(0);
        expect(Math.max(...resumes)).toBeGreaterThanOrEqual(Number(saved[1]));
        const pi = Number(output.match(/^pi = ([\d.]+)$/m)![1]);
        expect(Math.abs(pi - Math.PI)).toBeLessThan(1e-9);
        // Only the very first run started from zero.
        const starts = output.match(/^starting at iteration 0/gm)?.length ?? 0;
        expect(starts).toBe(1);
        figures.checkpoint = `first checkpoint in the spool after ${tCkpt.toFixed(1)} s (iteration ${saved[1]}), vacated; ${resumes.length} resumes, ${starts} start(s) from zero; pi = ${pi}`;
        console.log(`checkpointing: ${figures.checkpoint}`);
    }, 900_000);

    it("runs the jobs of a compute node killed mid-run elsewhere, and all 100 complete", async () => {
        let killedAt = 0;
        const start = Date.now();
        const { seconds } = await runJobs("killed", ["myprog", "myjob.condor"], "myjob.condor", async (cluster) => {
            // Once cluster4 runs one of them, it dies (no halt, no word to its peers).
            await until(async () => (await asJordi(`condor_q ${cluster} -run -af RemoteHost`)).includes("cluster4"), 120_000, 200);
            await sleep(500);
            kill("cluster4");
            killedAt = Date.now();
        });
        const done = (await asJordi("cd ~/killed && grep -l 'Sleep of 2 seconds finished' results.output.* | wc -l")).trim();
        expect(done).toBe("100");
        const nodes = await perNode("killed");
        // Jobs that were running on cluster4 when it died: evicted or disconnected, then run again.
        const interrupted = (await asJordi("cd ~/killed && grep -cE '^(004|022|024) ' results.log || true")).trim();
        figures.nodeKilled = `cluster4 killed ${((killedAt - start) / 1000).toFixed(1)} s into the run: all 100 complete in ${seconds.toFixed(1)} s; per node ${JSON.stringify(nodes)}; ${interrupted} eviction/disconnection events in the log`;
        console.log(`node killed: ${figures.nodeKilled}`);
        await up();
    }, 1_800_000);

    it("keeps matching jobs when cluster1 dies: HAD starts master2's negotiator", async () => {
        // With cluster1 dead, cluster2 is reached through master2.
        const m2 = out.nodes.master2.ssh;
        const cluster2 = { ...out.nodes.cluster2, ssh: { ...out.nodes.cluster2.ssh, proxy: { host: m2.host, port: m2.port, user: m2.user } } };
        const asJordi = (script: string, timeoutMs = 60_000) => ssh.runAs(cluster2, "jordi", script, timeoutMs);
        // Asked of master2's collector: tools try cluster1's first, and wait for it to time out.
        // (It still lists cluster1's negotiator for a while: a killed daemon does not withdraw its ad.)
        const negotiatorIn = async (cm: string) => (await asJordi(`condor_status -pool ${cm}.cluster -negotiator -af Name 2>/dev/null || true`).catch(() => "")).trim().split("\n");
        expect(await negotiatorProcesses(["master2"])).toBe("master2:0");
        kill("cluster1");
        const t = await until(async () => (await negotiatorIn("master2")).includes("master2.cluster"), 300_000, 1000);
        expect(await negotiatorProcesses(["master2"])).toBe("master2:1");
        figures.negotiatorTakeover = `${t.toFixed(0)} s after cluster1 was killed`;
        await asJordi("rm -rf ~/ha && mkdir ~/ha && cp /usr/local/share/thesis-cluster/condor/myprog ~/ha/ && cd ~/ha && printf 'executable = myprog\\narguments = ha 1\\noutput = results.output.$(Process)\\nlog = results.log\\nqueue 8\\n' > ha.sub");
        const cluster = clusterOf(await asJordi("cd ~/ha && condor_submit ha.sub"));
        await waitForJobs(ssh, cluster2, "jordi", "~/ha", "results.log", cluster, 300);
        expect((await asJordi("cd ~/ha && grep -l 'finished' results.output.* | wc -l")).trim()).toBe("8");
        console.log(`negotiator on master2 ${figures.negotiatorTakeover}`);
        await up();
        // cluster1 back: the primary takes the negotiator again, and master2 lets go of its own.
        const tBack = await until(async () => (await negotiatorProcesses()).startsWith("cluster1:1"), 300_000, 1000);
        const tAlone = await until(async () => (await negotiatorProcesses()) === "cluster1:1 master2:0", 120_000, 1000).catch(() => NaN);
        expect(await negotiatorProcesses()).toBe("cluster1:1 master2:0");
        expect(await negotiatorIn("cluster1")).toContain("cluster1.cluster");
        figures.negotiatorBack = `on cluster1 ${tBack.toFixed(0)} s after it was booted again; master2's stopped ${tAlone.toFixed(0)} s later`;
    }, 1_800_000);

    it("reaches the compute nodes one at a time with a change to the pool (rollout.batchSize 1)", async () => {
        await project.ok(["config", "set", "--stack", stack, "--path", "condor.negotiatorInterval", "3", "--type", "int"]);
        const output = await up();
        // When each compute node's update wrote the pool's config: one node's update
        // (a login through the jump host, the file, condor_reconfig, the check read back) ends before the next one starts.
        const config = "/etc/condor/config.d/50-thesis-cluster.conf";
        const written = await Promise.all(
            compute.map(async (n) => {
                const [interval, at] = (await ssh.run(out.nodes[n], `grep -c '^NEGOTIATOR_INTERVAL = 3$' ${config}; stat -c %.3Y ${config}`)).trim().split("\n");
                expect([n, interval]).toEqual([n, "1"]);
                return Number(at);
            }),
        );
        const sorted = [...written].sort((a, b) => a - b);
        const gaps = sorted.slice(1).map((t, i) => t - sorted[i]);
        figures.rollout = `the compute nodes' new pool config written ${gaps.map((g) => g.toFixed(2)).join(" s, ")} s apart`;
        console.log(`rollout: ${figures.rollout}`);
        if (Math.min(...gaps) <= 0.3) {
            // What the engine said of those steps, to tell a held update from one that never waited.
            console.log(`written at ${written.join(", ")}; the up's compute steps:\n${output.split("\n").filter((l) => /condor-cluster[2-9]/.test(l)).join("\n")}`);
        }
        expect(Math.min(...gaps)).toBeGreaterThan(0.3);
    }, 900_000);

    /** Of a job log: how many jobs started, ended, and were interrupted (evicted, aborted, shadow exception, held, disconnected). */
    async function jobEvents(dir: string, log: string): Promise<{ started: number; ended: number; interrupted: string[] }> {
        const text = await asJordi(`cd ~/${dir} && cat ${log}`);
        const count = (code: string) => text.split("\n").filter((l) => l.startsWith(`${code} `)).length;
        return { started: count("001"), ended: count("005"), interrupted: text.split("\n").filter((l) => /^(004|007|009|012|022|024) /.test(l)) };
    }

    /**
     * Waits until a job of `cluster` runs (on `host`, if named). If none does within
     * 120 s, fails with what the pool says: negotiators, the queue's analysis, the daemons' logs.
     */
    async function runningOn(cluster: number, host = "", queuedAt = Math.floor(Date.now() / 1000)): Promise<void> {
        try {
            await until(async () => (await asJordi(`condor_q ${cluster} -run -af RemoteHost`)).includes(host), 120_000, 200);
        } catch (e) {
            const now = Math.floor(Date.now() / 1000);
            const story = [
                `negotiator processes: ${await negotiatorProcesses()}`,
                await asJordi(`condor_status -af Name State Activity Draining; condor_q ${cluster} -better-analyze -reverse 2>&1 | head -40`).catch((r: Error) => r.message),
                await matchLogs(ssh, out.nodes, "cluster2", { queuedAt, firstStartAt: now, firstStart: 0, span: 0 }),
            ];
            throw new Error(`${(e as Error).message}: no job of cluster ${cluster} runs${host ? ` on ${host}` : ""}\n${story.join("\n")}`);
        }
    }

    it("restarts each compute node's startd, drained first, one node at a time, during a 100-job run: all 100 complete, none started twice", async () => {
        // MEMORY is read when a startd starts: a new value takes a restart on every compute node.
        const nodes = (project.stackConfig(stack) as { nodes: { name: string }[] }).nodes;
        for (const n of compute) {
            await project.ok(["config", "set", "--stack", stack, "--path", `nodes[${nodes.findIndex((x) => x.name === n)}].memoryMb`, "640", "--type", "int"]);
        }
        let upSeconds = 0;
        const { seconds } = await runJobs("restart", ["myprog", "myjob.condor"], "myjob.condor", async (cluster) => {
            await runningOn(cluster);
            const t0 = Date.now();
            await up();
            upSeconds = (Date.now() - t0) / 1000;
        });
        const events = await jobEvents("restart", "results.log");
        expect(events).toEqual({ started: 100, ended: 100, interrupted: [] });
        expect((await asJordi("cd ~/restart && grep -l 'Sleep of 2 seconds finished' results.output.* | wc -l")).trim()).toBe("100");
        // Every startd runs with the new memory, and they restarted one at a time.
        const rows = (await asJordi(`condor_status -constraint 'SlotType =!= "Dynamic"' -af Machine TotalSlotMemory DaemonStartTime`)).trim().split("\n").map((l) => l.split(" "));
        expect(rows.map(([m, mem]) => `${m} ${mem}`).sort()).toEqual(compute.map((n) => `${n}.cluster 640`));
        const starts = rows.map((r) => Number(r[2])).sort((a, b) => a - b);
        const gaps = starts.slice(1).map((t, i) => t - starts[i]);
        expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1);
        figures.restart = `up ${upSeconds.toFixed(0)} s restarting 4 drained startds (${gaps.join(" s, ")} s apart) during 100 jobs: 100 started once and ended, none interrupted; all done in ${seconds.toFixed(1)} s`;
        console.log(`restart: ${figures.restart}`);
    }, 1_200_000);

    it("drains cluster5 before it leaves the pool: 12 jobs of 30 s all complete, none evicted or started twice", async () => {
        await asJordi(
            "rm -rf ~/drain && mkdir ~/drain && cp /usr/local/share/thesis-cluster/condor/myprog ~/drain/ && cd ~/drain && " +
                "printf 'executable = myprog\\narguments = drain 30\\noutput = out.$(Process)\\nerror = err.$(Process)\\nlog = drain.log\\nqueue 12\\n' > drain.sub",
        );
        const cluster = clusterOf(await asJordi("cd ~/drain && condor_submit drain.sub"));
        await runningOn(cluster, "cluster5");
        const cfg = project.stackConfig(stack) as { nodes: { name: string }[]; roles: { compute: string[] } };
        await project.ok(["config", "rm", "--stack", stack, "--path", `roles.compute[${cfg.roles.compute.indexOf("cluster5")}]`]);
        await project.ok(["config", "rm", "--stack", stack, "--path", `nodes[${cfg.nodes.findIndex((n) => n.name === "cluster5")}]`]);
        // jordi is logged in there too, in a session that ends by itself 45 s from now.
        await ssh.run(out.nodes.cluster5, `setsid runuser -l jordi -c 'sleep 45; echo ended > ~/drain/session.done' </dev/null >/dev/null 2>&1 &`);
        const preview = await project.ok(["preview", "--stack", stack]);
        expect(preview).toMatch(/warning: cluster5 leaves roles\.compute: it is drained first/);
        expect(preview).toMatch(/^ *- +cluster:remote:Command +drain-cluster5 +delete/m);
        const t0 = Date.now();
        const output = await up();
        const upSeconds = (Date.now() - t0) / 1000;
        const drained = output.match(/cluster5 drained in (\d+) s: no job runs there, its queue is empty/);
        expect(drained).not.toBeNull();
        // The session was waited for, not cut.
        expect(output).toMatch(/cluster5: waiting for the sessions of jordi \(\d+ processes\) to end \(told with wall\)/);
        expect(output).toMatch(/cluster5: every session ended after \d+ s/);
        expect((await asJordi("cat ~/drain/session.done")).trim()).toBe("ended");
        await waitForJobs(ssh, out.nodes.cluster2, "jordi", "~/drain", "drain.log", cluster, 600);
        expect(await jobEvents("drain", "drain.log")).toEqual({ started: 12, ended: 12, interrupted: [] });
        const ran = (await asJordi("cd ~/drain && grep -l 'Sleep of 30 seconds finished' out.* | wc -l; grep -h \"^I'm process id\" out.* | sed 's/.* //' | sort | uniq -c")).trim();
        expect(ran.split("\n")[0]).toBe("12");
        expect(ran).toMatch(/\d+ cluster5$/m);
        // HAProxy gives it no session, the pool lists it no more, and its machine is gone.
        expect((await ssh.run(out.nodes.cluster1, "grep -c cluster5 /etc/haproxy/haproxy.cfg || true")).trim()).toBe("0");
        expect((await asJordi(`condor_status -constraint 'SlotType =!= "Dynamic"' -af Machine`)).trim().split("\n").sort()).toEqual(compute.filter((c) => c !== "cluster5").map((c) => `${c}.cluster`));
        expect(nspawnPid(names.stateDir, "cluster5")).toBeUndefined();
        figures.drain = `cluster5 left roles.compute while running a 30 s job and with jordi logged in for 45 s: up ${upSeconds.toFixed(0)} s, of which the drain ${drained![1]} s, ${output.match(/every session ended after (\d+) s/)?.[1]} s until the session ended; 12 of 12 jobs started once and ended, none interrupted (per node: ${ran.split("\n").slice(1).join(", ").replace(/\s+/g, " ")})`;
        console.log(`drain: ${figures.drain}`);
    }, 1_200_000);

    it("reports no changes on a second up", async () => {
        await project.ok(["up", "--stack", stack, "--yes", "--skip-preview", "--expect-no-changes"]);
    }, 300_000);
});
