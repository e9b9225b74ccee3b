import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostNames } from "../../components/backends";
import { SlurmSummary } from "../../components/jobs/slurm";
import { crash } from "./host";
import { sleep, until } from "./probe";
import { TempProject } from "./project";
import { jobIdOf, sacctRecords, SLURM_EXAMPLES, waitForSlurmJob } from "./slurm";
import { frontDoorKnownHosts, NodeOutput, Ssh, throughLiveDirector } from "./ssh";

// Slurm beside the HTCondor pool (the thesis' future work): the thesis' job
// tests under Slurm on the local stack, as the NIS user jordi.
describe("Slurm beside HTCondor (thesis section 6)", () => {
    const project = new TempProject("slurm");
    const stack = "sl";
    const names = hostNames(stack);
    const compute = ["cluster2", "cluster3", "cluster4", "cluster5"];
    let out: {
        nodes: Record<string, NodeOutput>;
        adminPrivateKey: string;
        sshFrontDoor: { host: string; port: number };
        condorPool: { centralManagers: string[]; executeSlots: Record<string, number> };
        slurmCluster: SlurmSummary;
    };
    let ssh: Ssh;
    const down = new Set<string>();
    const node = (n: string) => throughLiveDirector(out.nodes, ["cluster1", "master2"], down, n);
    // jordi works on cluster2, the submit node of these tests, unless a test says otherwise.
    const asJordi = (script: string, on = "cluster2", timeoutMs = 120_000) => ssh.runAs(node(on), "jordi", script, timeoutMs);
    const up = () => project.ok(["up", "--stack", stack, "--yes", "--skip-preview"], 900_000);
    const kill = (machine: string) => {
        crash(names.stateDir, machine);
        down.add(machine);
    };
    const repair = async () => {
        await up();
        down.clear();
    };
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "thesis-cluster-jordi-"));
    const figures: Record<string, string> = {};

    /** A fresh directory of jordi's with the Slurm examples (and pi built); returns its path. */
    async function workDir(name: string): Promise<string> {
        await asJordi(`rm -rf ~/${name} && mkdir ~/${name} && cp ${SLURM_EXAMPLES}/* ~/${name}/ && cd ~/${name} && gcc -O2 -o pi pi.c`);
        return `~/${name}`;
    }

    beforeAll(async () => {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "jordi@e2e", "-f", path.join(keyDir, "id")]);
        await project.initStack(stack, "local");
        await project.ok(["config", "set", "--path", "--stack", stack, "identity.users[0].sshKeys[0]", fs.readFileSync(path.join(keyDir, "id.pub"), "utf8").trim()]);
        await up();
        out = JSON.parse(await project.ok(["stack", "output", "--stack", stack, "--json", "--show-secrets"]));
        ssh = new Ssh(out.adminPrivateKey, out.nodes, frontDoorKnownHosts(out.sshFrontDoor, out.nodes, compute));
    }, 1_900_000);

    afterAll(async () => {
        ssh?.remove();
        fs.rmSync(keyDir, { recursive: true, force: true });
        await project.destroyAndRemove(stack);
        console.log("Slurm figures: " + JSON.stringify(figures));
    }, 900_000);

    it("publishes its controllers, partition, nodes with their CPUs and the accounting host, beside the HTCondor pool", async () => {
        expect(out.slurmCluster).toEqual({
            enabled: true,
            clusterName: "thesis-cluster",
            controllers: { primary: "cluster1", backups: ["master2"] },
            stateSaveLocation: "/mnt/gfs-r/slurm/slurmctld",
            partitions: { compute: { default: true, nodes: compute } },
            nodes: Object.fromEntries(compute.map((c) => [c, { cpus: 1, memoryMb: 512, realMemoryMb: 460 }])),
            accountingHost: "nas",
        });
        expect(out.condorPool.centralManagers).toEqual(["cluster1.cluster", "master2.cluster"]);
        expect((await asJordi("scontrol ping")).trim().split("\n").slice(0, 2)).toEqual(["Slurmctld(primary) at cluster1 is UP", "Slurmctld(backup) at master2 is UP"]);
        expect((await asJordi("sinfo -h -N -o '%N %P %t %c %m'")).trim().split("\n")).toEqual(compute.map((c) => `${c} compute* idle 1 460`));
    });

    it("keeps munge's key secret and alike on every node, and each daemon's files as Slurm wants them", async () => {
        const members = ["cluster1", "master2", ...compute, "nas"];
        const keys = new Set<string>();
        for (const m of members) {
            const [mode, hash] = (await ssh.run(node(m), "stat -c %a:%U:%G /etc/munge/munge.key; sha256sum </etc/munge/munge.key | cut -c1-64")).trim().split("\n");
            expect([m, mode]).toEqual([m, "400:munge:munge"]);
            keys.add(hash);
        }
        expect(keys.size).toBe(1);
        expect((await ssh.run(node("nas"), "stat -c %a:%U /etc/slurm/slurmdbd.conf")).trim()).toBe("600:slurm");
        expect((await ssh.run(node("cluster1"), "stat -c %a:%U /mnt/gfs-r/slurm/slurmctld")).trim()).toBe("700:slurm");
        // MariaDB listens on no port: slurmdbd reaches it over the socket, with no password.
        expect((await ssh.run(node("nas"), "ss -Hltn 'sport = :3306' | wc -l")).trim()).toBe("0");
        // The directors' firewall keeps the controllers' port off the external network.
        expect(await ssh.run(node("cluster1"), "nft list table inet thesis_filter")).not.toMatch(/6817/);
    });

    it("takes jobs from jordi with srun and sbatch on every compute node, and after a login through the front door", async () => {
        await workDir("each");
        for (const c of compute) {
            expect((await asJordi("srun -N1 hostname", c)).trim()).toMatch(/^cluster[2-5]$/);
            const id = jobIdOf(await asJordi(`cd ~/each && sbatch --parsable -o from-${c}.out --wrap='id -un; hostname'`, c));
            await waitForSlurmJob(ssh, node(c), "jordi", id, 120);
        }
        for (const c of compute) expect((await asJordi(`cat ~/each/from-${c}.out`)).trim().split("\n")[0]).toBe("jordi");
        // jordi's own key, through HAProxy on the external VIP, to whichever compute node it picks.
        const viaFrontDoor = (cmd: string) =>
            execFileSync(
                "ssh",
                ["-i", path.join(keyDir, "id"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${path.join(keyDir, "known")}`, "-p", String(out.sshFrontDoor.port), `jordi@${out.sshFrontDoor.host}`, cmd],
                { encoding: "utf8", timeout: 60_000 },
            );
        fs.writeFileSync(path.join(keyDir, "known"), frontDoorKnownHosts(out.sshFrontDoor, out.nodes, compute).join("\n") + "\n");
        const [landed, ran] = viaFrontDoor("hostname; srun hostname").trim().split("\n");
        expect(compute).toContain(landed);
        expect(compute).toContain(ran);
    }, 300_000);

    it("runs the thesis' myjob as a job array, 100 × myprog (sleep 2), spread over every compute node; sacct lists every one", async () => {
        const dir = await workDir("myjob");
        const t0 = Date.now();
        const id = jobIdOf(await asJordi(`cd ${dir} && sbatch --parsable myjob.sbatch`));
        await waitForSlurmJob(ssh, node("cluster2"), "jordi", id, 300);
        const seconds = (Date.now() - t0) / 1000;
        expect((await asJordi(`cd ${dir} && grep -l 'Sleep of 2 seconds finished' results.output.* | wc -l`)).trim()).toBe("100");
        const perNode = (await asJordi(`cd ${dir} && grep -h "^I'm process id" results.output.* | sed 's/.* //' | sort | uniq -c`)).trim().split("\n");
        expect(perNode.map((l) => l.trim().split(/\s+/)[1])).toEqual(compute);
        const records = await sacctRecords(ssh, node("cluster2"), "jordi", id);
        expect(records.length).toBe(100);
        expect(new Set(records.map((r) => r.state))).toEqual(new Set(["COMPLETED"]));
        figures.myjob = `100 × 2 s in ${seconds.toFixed(1)} s (ideal 50 s on 4 CPUs); per node ${perNode.map((l) => l.trim()).join(", ")}`;
    }, 600_000);

    it("checkpoints pi on Slurm's warning signal and requeues it; it resumes from the checkpoint and finishes", async () => {
        const dir = await workDir("pi");
        const id = jobIdOf(await asJordi(`cd ${dir} && sbatch --parsable pi.sbatch`));
        // Once a periodic checkpoint exists, the warning signal, as Slurm sends it before a time limit.
        await until(async () => (await asJordi(`test -s ${dir}/pi.ckpt && echo yes || echo no`)).trim() === "yes", 120_000, 500);
        await asJordi(`scancel --signal=USR1 --batch ${id}`);
        const t0 = Date.now();
        await waitForSlurmJob(ssh, node("cluster2"), "jordi", id, 600);
        const log = (await asJordi(`cat ${dir}/pi.out`)).trim().split("\n");
        const warned = log.findIndex((l) => / \(warning signal\)$/.test(l));
        expect(warned).toBeGreaterThan(0);
        const at = log[warned].match(/^checkpoint at iteration (\d+)/)![1];
        expect(log[warned + 1]).toMatch(/^warning signal on cluster[2-5]: checkpoint saved, job \d+ requeued$/);
        // The requeued job starts from the warned checkpoint, not from zero.
        expect(log.find((l, i) => i > warned && l.startsWith("resuming at"))).toMatch(new RegExp(`^resuming at iteration ${at} of 6000000000 on cluster[2-5]$`));
        expect(log[log.length - 1]).toMatch(/^pi = 3\.14159265/);
        const records = await sacctRecords(ssh, node("cluster2"), "jordi", id);
        expect(records.map((r) => r.state)).toEqual(["REQUEUED", "COMPLETED"]);
        figures.piRequeue = `warned at iteration ${at}; started again ${records[1].start - records[0].end} s after the requeue (requeueDelaySeconds 10); done ${((Date.now() - t0) / 1000).toFixed(0)} s after the signal`;
    }, 900_000);

    it("requeues the jobs of a compute node killed mid-run; all 100 complete elsewhere", async () => {
        const dir = await workDir("killed");
        const t0 = Date.now();
        const id = jobIdOf(await asJordi(`cd ${dir} && sbatch --parsable myjob.sbatch`));
        await until(async () => (await asJordi(`squeue -h -j ${id} -t R -o %N`)).includes("cluster4"), 120_000, 200);
        await sleep(500);
        kill("cluster4");
        const killedAt = Date.now();
        await waitForSlurmJob(ssh, node("cluster2"), "jordi", id, 600);
        expect((await asJordi(`cd ${dir} && grep -l 'Sleep of 2 seconds finished' results.output.* | wc -l`)).trim()).toBe("100");
        const records = await sacctRecords(ssh, node("cluster2"), "jordi", id);
        const failed = records.filter((r) => r.state !== "COMPLETED");
        // The task running on cluster4 failed with the node and ran again elsewhere.
        expect(failed.length).toBeGreaterThan(0);
        for (const f of failed) {
            expect([f.id, f.state, f.node]).toEqual([f.id, "NODE_FAIL", "cluster4"]);
            const again = records.find((r) => r.id === f.id && r.state === "COMPLETED");
            expect(again?.node).toMatch(/^cluster[235]$/);
        }
        expect(new Set(records.filter((r) => r.state === "COMPLETED").map((r) => r.id)).size).toBe(100);
        const redone = Math.max(...failed.map((f) => records.find((r) => r.id === f.id && r.state === "COMPLETED")!.end)) - killedAt / 1000;
        console.log(`killed node's records: ${JSON.stringify(records.filter((r) => failed.some((f) => f.id === r.id)))}`);
        figures.nodeKilled = `cluster4 killed ${((killedAt - t0) / 1000).toFixed(1)} s into the run; its job done elsewhere ${redone.toFixed(0)} s after; all 100 in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
        await repair();
        await until(async () => (await asJordi("sinfo -h -n cluster4 -o %t")).trim() === "idle", 120_000, 1000);
    }, 1_800_000);

    it("takes new jobs when cluster1 dies: the backup controller takes over, and hands back without a failed submission", async () => {
        await asJordi("rm -f ~/takeover.out");
        kill("cluster1");
        const crashed = Date.now() / 1000;
        // Submitted at once, from a compute node: sbatch waits for a controller in control.
        const id = jobIdOf(await asJordi("sbatch --parsable -o takeover.out --wrap='date +%s.%N'", "cluster2", 120_000));
        await waitForSlurmJob(ssh, node("cluster2"), "jordi", id, 120);
        // The job's own clock (the host's, as every machine's) against the crash.
        const seconds = Number((await asJordi("cat ~/takeover.out")).trim()) - crashed;
        expect((await sacctRecords(ssh, node("cluster2"), "jordi", id)).map((r) => r.state)).toEqual(["COMPLETED"]);
        const tookOver = (await ssh.run(node("master2"), "date -d \"$(grep 'taking over' /var/log/slurm/slurmctld.log | tail -1 | cut -c2-24)\" +%s.%N")).trim();
        expect((await asJordi("scontrol ping")).trim().split("\n").slice(0, 2)).toEqual(["Slurmctld(primary) at cluster1 is DOWN", "Slurmctld(backup) at master2 is UP"]);
        expect(await ssh.run(node("master2"), "grep -c 'taking over' /var/log/slurm/slurmctld.log")).not.toBe("0\n");
        figures.takeover = `master2 took over ${(Number(tookOver) - crashed).toFixed(1)} s after cluster1's crash; a job submitted at the crash ran ${seconds.toFixed(1)} s after it`;

        // cluster1 comes back while jordi submits a job every second: none fails.
        const loop = asJordi(
            "for i in $(seq 60); do sbatch --parsable --wrap=true >/dev/null 2>>~/handback.err && echo ok || echo failed; sleep 0.5; done | sort | uniq -c",
            "cluster2",
            300_000,
        );
        await sleep(3000);
        await repair();
        const tally = (await loop).trim();
        expect(tally).toMatch(/^\d+ ok$/);
        expect((await asJordi("scontrol ping")).trim().split("\n").slice(0, 2)).toEqual(["Slurmctld(primary) at cluster1 is UP", "Slurmctld(backup) at master2 is UP"]);
        // cluster1 is in control again: it answers what only a controller in control answers.
        expect(await ssh.run(node("cluster1"), "grep -c 'Running as primary controller' /var/log/slurm/slurmctld.log")).not.toBe("0\n");
        figures.handback = `${tally} submissions while cluster1 came back`;
    }, 1_800_000);

    it("shows a hand-edited slurm.conf and a stopped slurmd as drift, and repairs both", async () => {
        await ssh.run(node("cluster3"), "echo 'SlurmdDebug=debug5' >>/etc/slurm/slurm.conf; systemctl stop slurmd");
        const r = await project.pulumi(["preview", "--stack", stack, "--expect-no-changes", "--diff"], 300_000);
        expect(r.code).not.toBe(0);
        expect(r.stdout).toMatch(/slurm-cluster3/);
        expect(r.stdout).toMatch(/slurmd-cluster3/);
        await up();
        expect((await ssh.run(node("cluster3"), "grep -c debug5 /etc/slurm/slurm.conf || true; systemctl is-active slurmd")).trim().split("\n")).toEqual(["0", "active"]);
        await until(async () => (await asJordi("sinfo -h -n cluster3 -o %t")).trim() === "idle", 60_000, 1000);
    }, 900_000);

    it("drains cluster5 in Slurm before it leaves roles.compute: its running job completes there, none is requeued", async () => {
        const dir = await workDir("drain");
        const id = jobIdOf(await asJordi(`cd ${dir} && sbatch --parsable -w cluster5 -o drain.out --wrap='sleep 30; echo finished on $(hostname)'`));
        await until(async () => (await asJordi(`squeue -h -j ${id} -o %t`)).trim() === "R", 60_000, 500);
        const cfg = project.stackConfig(stack) as { roles: { compute: string[] } };
        await project.ok(["config", "rm", "--stack", stack, "--path", `roles.compute[${cfg.roles.compute.indexOf("cluster5")}]`]);
        const t0 = Date.now();
        const output = await up();
        const upSeconds = (Date.now() - t0) / 1000;
        expect((await asJordi(`cat ${dir}/drain.out`)).trim()).toBe("finished on cluster5");
        expect((await sacctRecords(ssh, node("cluster2"), "jordi", id)).map((r) => r.state)).toEqual(["COMPLETED"]);
        expect((await asJordi("sinfo -h -N -o %N")).trim().split("\n")).toEqual(compute.slice(0, 3));
        expect(output).toMatch(/in Slurm it is drained before the controllers forget it/);
        figures.drain = `cluster5 left roles.compute while running a 30 s Slurm job: up ${upSeconds.toFixed(0)} s; the job completed there`;
    }, 1_800_000);

    it("reports no changes on a second up", async () => {
        const r = await project.pulumi(["preview", "--stack", stack, "--expect-no-changes"], 300_000);
        expect([r.code, r.stdout.match(/Resources:[\s\S]*/)?.[0]]).toEqual([0, expect.stringMatching(/unchanged/)]);
    }, 600_000);
});
