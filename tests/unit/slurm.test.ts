import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { condorConfig } from "../../components/jobs/condor";
import { drainLeavingScript, hardwareGuard, RECLAIM, slurmConf, slurmdbdConf, unitDropIn, untilScript } from "../../components/jobs/slurm";
import { planOf, stackConfig } from "./stackfiles";

const bash = (script: string, env: Record<string, string> = {}) => spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, ...env } });

describe("Slurm", () => {
    const plan = planOf(stackConfig("local"));
    const s = plan.slurm!;

    it("puts the primary controller on the first director, the backup on the second, state on the replicated volume", () => {
        expect(s.controllers.map((n) => n.name)).toEqual(["cluster1", "master2"]);
        expect(s.stateSave).toBe("/mnt/gfs-r/slurm/slurmctld");
        expect(s.accounting.name).toBe("nas");
        expect(s.members.map((n) => n.name)).toEqual(["cluster1", "master2", "cluster2", "cluster3", "cluster4", "cluster5", "nas"]);
        const conf = slurmConf(plan, s);
        expect(conf).toContain("SlurmctldHost=cluster1(10.0.100.1)\nSlurmctldHost=master2(10.0.100.50)\n");
        expect(conf).toContain("StateSaveLocation=/mnt/gfs-r/slurm/slurmctld\n");
        expect(conf).toContain("AccountingStorageHost=10.0.100.100\n");
        expect(conf).toContain("\nSlurmctldTimeout=6\n");
        expect(conf).toContain("\nSlurmdTimeout=20\n");
        expect(conf).toContain("\nJobRequeue=1\n");
        expect(conf).toContain("\nAuthInfo=cred_expire=10\n");
        // An epilog makes the end of a job schedule the next at once.
        expect(conf).toContain("\nEpilog=/usr/bin/true\n");
    });

    it("gives each compute node its CPUs and memory from the config, all in the one default partition", () => {
        const two = planOf({ ...stackConfig("local"), slurm: { partition: "batch" }, nodes: (stackConfig("local").nodes as { name: string }[]).map((n) => (n.name === "cluster3" ? { ...n, cpus: 2, memoryMb: 1024 } : n)) });
        const conf = slurmConf(two, two.slurm!);
        // 90% of each node's memory: the kernel keeps its share (a 512 MiB VM shows slurmd about 480).
        expect(conf).toContain("NodeName=cluster2 NodeAddr=10.0.100.2 CPUs=1 RealMemory=460 State=UNKNOWN\n");
        expect(conf).toContain("NodeName=cluster3 NodeAddr=10.0.100.3 CPUs=2 RealMemory=921 State=UNKNOWN\n");
        expect(conf).toContain("PartitionName=batch Nodes=cluster2,cluster3,cluster4,cluster5 Default=YES MaxTime=INFINITE DefMemPerCPU=460 State=UP\n");
        expect(conf).not.toMatch(/NodeName=(cluster1|master2|nas|san)/);
    });

    it("keeps accounting in MariaDB over its socket, with no database password", () => {
        const dbd = slurmdbdConf(s);
        expect(dbd).toContain("DbdHost=nas\nDbdAddr=10.0.100.100\n");
        expect(dbd).toContain("StorageHost=localhost\nStorageUser=slurm\n");
        expect(dbd).not.toMatch(/StoragePass/);
    });

    it("is off unless jobs.schedulers names it; HTCondor is off unless named", () => {
        const condorOnly = planOf({ ...stackConfig("local"), jobs: { schedulers: ["htcondor"] } });
        expect(condorOnly.slurm).toBeUndefined();
        const slurmOnly = planOf({ ...stackConfig("local"), jobs: { schedulers: ["slurm"] } });
        expect(slurmOnly.slurm).toBeDefined();
        expect(slurmOnly.condor.managers).toEqual([]);
        expect(condorConfig(slurmOnly, slurmOnly.at("cluster2"))).toBeUndefined();
    });

    it("starts the primary so that it takes control back from a backup at once, and keeps the backup standing by", () => {
        const primary = unitDropIn("slurmctld", s, s.controllers[0]).content as string;
        expect(primary).toContain(`ExecStartPre=+${RECLAIM}\n`);
        expect(primary).toContain("RequiresMountsFor=/mnt/gfs-r/slurm/slurmctld\n");
        expect(primary).toContain("Restart=on-failure\n");
        const backup = unitDropIn("slurmctld", s, s.controllers[1]).content as string;
        expect(backup).not.toContain("ExecStartPre");
        expect(backup).toContain("Restart=always\n");
    });

    it("drains only the nodes the new slurm.conf leaves out, read from the installed one", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slurm-"));
        try {
            const three = planOf({ ...stackConfig("local"), roles: { ...(stackConfig("local").roles as object), compute: ["cluster2", "cluster3", "cluster4"] } });
            const conf = path.join(dir, "slurm.conf");
            fs.writeFileSync(conf, slurmConf(plan, s));
            // The first line works out the leaving nodes; the rest needs a controller.
            const first = drainLeavingScript(three, three.slurm!).split("\n")[0].replace("/etc/slurm/slurm.conf", conf);
            expect(bash(`${first}; echo "[$leaving]"`).stdout).toBe("[cluster5]\n");
            const same = drainLeavingScript(plan, s).split("\n")[0].replace("/etc/slurm/slurm.conf", conf);
            expect(bash(`${same}; echo "[$leaving]"`).stdout).toBe("[]\n");
            // A first install (no file yet) drains nothing.
            expect(bash(`${first.replace(conf, path.join(dir, "none"))}; echo "[$leaving]"`).stdout).toBe("[]\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses to install Slurm on a node with less memory than the config gives it, naming the key", () => {
        const node = plan.at("cluster3");
        const fake = (line: string) => `slurmd() { echo "${line}"; }\n${hardwareGuard(plan, node)}\necho ok`;
        const enough = bash(fake("NodeName=cluster3 CPUs=2 Boards=1 RealMemory=24105"));
        expect(enough.stdout).toBe("ok\n");
        // A 512 MiB VM: the kernel's share is not the node's to offer.
        expect(bash(fake("NodeName=cluster3 CPUs=1 Boards=1 RealMemory=481")).stdout).toBe("ok\n");
        const small = bash(fake("NodeName=cluster3 CPUs=2 Boards=1 RealMemory=300"));
        expect(small.status).toBe(1);
        expect(small.stderr).toBe("thesis-cluster:nodes[3].memoryMb: 512 is more than cluster3 has: slurmd -C finds 300 MiB, and Slurm is told of 460 (90%); it would drain the node. Nothing was installed.\n");
    });

    it("waits for a daemon to answer, and fails saying what it saw when it never does", () => {
        // Answers on the third try (each try runs in a subshell: the count is kept in a file).
        const f = path.join(os.tmpdir(), `until-${process.pid}`);
        const ok = bash(`rm -f ${f}\n${untilScript({ script: `echo >>${f}; [ $(wc -l <${f}) -ge 3 ] && echo UP || echo DOWN`, expect: "UP" }, 5, "x")}\necho done; rm -f ${f}`);
        expect(ok.stdout).toBe("done\n");
        const never = bash(untilScript({ script: "grep -F nothing /dev/null", expect: "UP" }, 1, "slurmctld on cluster1 did not answer"));
        expect(never.status).toBe(1);
        expect(never.stderr).toBe("slurmctld on cluster1 did not answer within 1 s: \n");
    });
});
