import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { condorConfig, hadAliveMargin, hadTiming } from "../../components/jobs/condor";
import { restartDrainedScripts, sessionsEndScript, STARTD_RESTART_KNOBS } from "../../components/jobs/drain";
import { spawnSync } from "child_process";
import { installScript, mosixMap } from "../../components/jobs/mosix";
import { computeLeaving } from "../../components/previous";
import { installMocks, mockDevices, PROVIDER_OUTPUTS, Registered, registered, useStackConfig } from "./mocks";
import { planOf, stackConfig } from "./stackfiles";

describe("HTCondor pool config", () => {
    const plan = planOf(stackConfig("local"));
    const node = (n: string) => plan.at(n);

    it("puts a highly available central manager on both directors and execute+submit on compute nodes only", () => {
        const cm = condorConfig(plan, node("cluster1"))!;
        expect(cm).toContain("DAEMON_LIST = MASTER, COLLECTOR, NEGOTIATOR, HAD, REPLICATION");
        expect(cm).toContain("HAD_USE_PRIMARY = True");
        expect(cm).toContain("MASTER_NEGOTIATOR_CONTROLLER = HAD");
        expect(condorConfig(plan, node("master2"))).toContain("DAEMON_LIST = MASTER, COLLECTOR, NEGOTIATOR, HAD, REPLICATION");
        const ex = condorConfig(plan, node("cluster4"))!;
        expect(ex).toContain("DAEMON_LIST = MASTER, STARTD, SCHEDD");
        expect(ex).toContain("CONDOR_HOST = $(CENTRAL_MANAGER1), $(CENTRAL_MANAGER2)");
        expect(ex).toContain("CENTRAL_MANAGER2 = master2.cluster");
        expect(ex).toContain("NETWORK_INTERFACE = 10.0.100.4");
        for (const n of ["nas", "san1"]) expect(condorConfig(plan, node(n))).toBeUndefined();
    });

    it("runs no CPU benchmarks on a startd's start unless condor.benchmarks asks", () => {
        expect(condorConfig(plan, node("cluster3"))).toContain("\nRunBenchmarks = False\n");
        const on = planOf({ ...stackConfig("local"), condor: { benchmarks: true } });
        expect(condorConfig(on, on.at("cluster3"))).not.toContain("RunBenchmarks");
    });

    it("lets a drained node's jobs retire up to condor.drainTimeoutSeconds, self-checkpointing ones vacated at once", () => {
        const ex = condorConfig(plan, node("cluster3"))!;
        expect(ex).toContain("MAXJOBRETIREMENTTIME = ifThenElse(isUndefined(CheckpointExitCode), 600, 0)\n");
        // HTCondor's 600 s vacate time would make a drain evict every job with less retirement left than that.
        expect(ex).toContain("MachineMaxVacateTime = 20\n");
        const short = planOf({ ...stackConfig("local"), condor: { drainTimeoutSeconds: 90 } });
        expect(condorConfig(short, short.at("cluster3"))).toContain("isUndefined(CheckpointExitCode), 90, 0)");
        expect(condorConfig(plan, node("cluster1"))).not.toContain("MAXJOBRETIREMENTTIME");
    });

    /** Runs sessionsEndScript with `ps` answering `calls` times with a user's processes, then with root's only; `wall` recorded. */
    function sessionsEnd(calls: number, deadlineIn: number): { out: string; wall: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sessions-"));
        try {
            fs.writeFileSync(path.join(dir, "left"), String(calls));
            const ps = `#!/bin/bash\nn=$(cat ${dir}/left)\necho "    0 root"\nif [ "$n" -gt 0 ]; then echo "$((n - 1))" >${dir}/left; printf ' 2001 jordi\\n 2001 jordi\\n 65534 nobody\\n'; fi\n`;
            fs.writeFileSync(path.join(dir, "ps"), ps, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "wall"), `#!/bin/bash\ncat >>${dir}/wall.txt\n`, { mode: 0o755 });
            const script = `t0=$SECONDS; deadline=$((SECONDS + ${deadlineIn}))\n${sessionsEndScript(node("cluster5"))}`;
            const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 20_000 });
            expect(r.status).toBe(0);
            const wall = fs.existsSync(path.join(dir, "wall.txt")) ? fs.readFileSync(path.join(dir, "wall.txt"), "utf8") : "";
            return { out: r.stdout, wall };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("tells users still logged in on a leaving node, once, and waits for their sessions up to the drain's deadline", () => {
        const ended = sessionsEnd(2, 60);
        expect(ended.out).toMatch(/^cluster5: waiting for the sessions of jordi \(2 processes\) to end \(told with wall\)\ncluster5: every session ended after \d+ s\n$/);
        expect(ended.wall).toMatch(/^cluster5 is leaving the cluster: save your work, log out, and log in again through the front door\. It goes in (59|60) s at the latest\.\n$/);
        // Past the deadline: said whose sessions go with the machine.
        const cut = sessionsEnd(100, 0);
        expect(cut.out).toMatch(/cluster5: the sessions of jordi \(2 processes\) end with the machine, \d+ s after the drain began\n$/);
        expect(cut.wall).not.toBe("");
        // Nobody logged in: nothing said, nobody told.
        expect(sessionsEnd(0, 60)).toEqual({ out: "", wall: "" });
    });

    it("restarts a startd whose slots change only after draining it; other changes are a reconfig", () => {
        const { before, after } = restartDrainedScripts(node("cluster2"), 600);
        expect(before).toBe(`knobs_before=$({ condor_config_val ${STARTD_RESTART_KNOBS.join(" ")} 2>&1 || true; } | paste -sd' ')`);
        expect(after).toContain("condor_drain -graceful -restart-on-completion -reason 'thesis-cluster: NUM_CPUS, MEMORY, RESERVED_MEMORY changed on cluster2'");
        expect(after.indexOf("systemctl reload condor")).toBeLessThan(after.indexOf("condor_drain"));
        expect(STARTD_RESTART_KNOBS).toEqual(["NUM_CPUS", "MEMORY", "RESERVED_MEMORY"]);
    });

    it("names the compute nodes that left the pool since the last update", () => {
        expect(computeLeaving({ executeSlots: { cluster2: 1, cluster5: 1 } }, ["cluster2", "cluster3"])).toEqual(["cluster5"]);
        expect(computeLeaving(undefined, ["cluster2"])).toEqual([]);
    });

    it("gives each central manager's HAD its own timeout and cycle, the backup's the shortest", () => {
        const timeout = (n: string) => Number(condorConfig(plan, node(n))!.match(/^HAD_CONNECTION_TIMEOUT = (\d+)$/m)![1]);
        expect(timeout("cluster1")).toBe(2);
        expect(timeout("master2")).toBe(1);
        // condor_had: step interval (timeout x 2 x managers + 1) x 2.
        expect(hadTiming(2, 0)).toEqual({ hadTimeout: 2, hadCycle: 18 });
        expect(hadTiming(2, 1)).toEqual({ hadTimeout: 1, hadCycle: 10 });
        expect(condorConfig(plan, node("master2"))).toContain("Here: 1 s, a step every 10 s.");
    });

    it("has every backup hear the primary within each of its steps, and no two managers share a cycle", () => {
        for (const managers of [2, 3, 4, 5]) {
            // The primary sends every half step of its own; each backup's step is longer.
            expect(hadAliveMargin(managers)).toBeGreaterThan(0);
            const cycles = Array.from({ length: managers }, (_, i) => hadTiming(managers, i).hadCycle);
            expect(new Set(cycles).size).toBe(managers);
        }
    });

    it("has the negotiator match only slots heard from within two update intervals", () => {
        // A dead node's slot ads outlive it in the collectors; see the template.
        for (const n of ["cluster1", "master2"]) expect(condorConfig(plan, node(n))).toContain("NEGOTIATOR_SLOT_CONSTRAINT = LastHeardFrom >= time() - 25\n");
        expect(condorConfig(plan, node("cluster2"))).toContain("UPDATE_INTERVAL = 10\n");
        expect(condorConfig(plan, node("cluster2"))).not.toContain("NEGOTIATOR_SLOT_CONSTRAINT");
        const plain = planOf({ ...stackConfig("local"), condor: { tuned: false } });
        expect(condorConfig(plain, plain.at("cluster1"))).toContain("NEGOTIATOR_SLOT_CONSTRAINT = LastHeardFrom >= time() - 605\n");
    });

    it("falls back to one central manager on the first director when HA is off", () => {
        const single = planOf({ ...stackConfig("local"), condor: { highAvailability: false } });
        const at = (n: string) => condorConfig(single, single.at(n));
        expect(at("cluster1")).toContain("DAEMON_LIST = MASTER, COLLECTOR, NEGOTIATOR\n");
        expect(at("cluster1")).not.toContain("HAD");
        expect(at("master2")).toBeUndefined();
        expect(at("cluster2")).toContain("CONDOR_HOST = $(CENTRAL_MANAGER1)\n");
    });

    it("authenticates everything and opens nothing to anyone: no ALLOW_WRITE = *", () => {
        for (const n of ["cluster1", "master2", "cluster2"]) {
            const c = condorConfig(plan, node(n))!;
            expect(c).not.toMatch(/^ALLOW_\w+\s*=.*(^|\s)\*(\s|$)/m);
            expect(c).toContain("ALLOW_WRITE = *@cluster/10.0.100.0/24");
            expect(c).toContain("SEC_DEFAULT_AUTHENTICATION_METHODS = FS, IDTOKENS");
            expect(c).toContain("ALLOW_NEGOTIATOR = condor@password/10.0.100.1 condor@password/10.0.100.50\n");
            expect(c).toContain("ALLOW_DAEMON = condor@password/10.0.100.0/24\n");
        }
    });

    it("takes UID_DOMAIN and FILESYSTEM_DOMAIN from the config, and one slot per configured CPU", () => {
        const c = planOf({
            ...stackConfig("local"),
            condor: { uidDomain: "users.lab", filesystemDomain: "homes.lab", negotiatorInterval: 7 },
            nodes: (stackConfig("local").nodes as { name: string }[]).map((n) => (n.name === "cluster3" ? { ...n, cpus: 2 } : n)),
        });
        const text = condorConfig(c, c.at("cluster3"))!;
        expect(text).toContain("UID_DOMAIN = users.lab\n");
        expect(text).toContain("FILESYSTEM_DOMAIN = homes.lab\n");
        expect(text).toContain("ALLOW_WRITE = *@users.lab/10.0.100.0/24");
        expect(text).toContain("NUM_CPUS = 2\n");
        expect(text).toContain("NEGOTIATOR_INTERVAL = 7\n");
        // The periodic cycle finds a submit; no RESCHEDULE handshake to deadlock with it.
        expect(text).toContain("SCHEDD_SEND_RESCHEDULE = False\n");
        const plain = planOf({ ...stackConfig("local"), condor: { tuned: false } });
        const untuned = condorConfig(plain, plain.at("cluster3"))!;
        expect(untuned).not.toMatch(/NEGOTIATOR_INTERVAL|NEGOTIATOR_MIN_INTERVAL|NEGOTIATOR_CYCLE_DELAY|SCHEDD_INTERVAL|SCHEDD_MIN_INTERVAL|UPDATE_INTERVAL|SCHEDD_SEND_RESCHEDULE/);
        expect(untuned).toContain("JOB_DEFAULT_LEASE_DURATION = 20\n");
    });
});

// MOSIX cannot run here (no tarball, not redistributable): these unit tests
// pin what the component sends to the machines, nothing more.
describe("program with MOSIX on (unit tests only: MOSIX is not run here)", () => {
    let seen: Registered[];
    let program: typeof import("../../index");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "thesis-cluster-mosix-"));
    const tarball = path.join(dir, "MOSIX-4.4.4.tbz");

    beforeAll(async () => {
        fs.writeFileSync(tarball, "not really a tarball, a test double\n");
        seen = installMocks(PROVIDER_OUTPUTS, "unit", (args) =>
            args.type === "cluster:nspawn:Machine" ? { hostKey: `ssh-ed25519 HOST${args.name}`, devices: mockDevices(args.inputs) } : {},
        );
        useStackConfig({ ...stackConfig("local"), mosix: { tarball } });
        program = await import("../../index");
        // Registrations wait for their inputs: let the last ones land.
        await registered(seen, "condor-cluster5");
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const command = (name: string) => seen.find((r) => r.type === "cluster:remote:Command" && r.name === name);

    it("installs MOSIX on cluster1..5 from the uploaded tarball, with no terminal, once per tarball", async () => {
        expect(program.mosixStatus.enabled).toBe(true);
        expect(program.mosixStatus.nodes).toEqual(["cluster1", "cluster2", "cluster3", "cluster4", "cluster5"]);
        for (const n of program.mosixStatus.nodes) {
            const c = command(`mosix-${n}`)!;
            expect(c.inputs.uploads).toEqual([{ source: tarball, path: "/var/lib/thesis-cluster/mosix/MOSIX-4.4.4.tbz" }]);
            expect((c.inputs.triggers as string[])[0]).toMatch(/^\/var\/lib\/thesis-cluster\/mosix\/MOSIX-4.4.4.tbz [0-9a-f]{64}$/);
            const script = c.inputs.create as string;
            expect(script).toContain("./mosix.install </dev/null");
            expect(script).toMatch(/if \[ ! -f \/var\/lib\/thesis-cluster\/mosix\/[0-9a-f]{16}\/.installed \]/);
            expect(script).toContain("put '/etc/mosix/secret' 600 'root:root'");
            expect(script).toContain("systemctl enable --quiet --no-reload 'mosix'");
        }
        expect(command("mosix-nas")).toBeUndefined();
    });

    it("writes the thesis' node list and a generated secret instead of the installer's menu", () => {
        const plan = planOf({ ...stackConfig("local"), mosix: { tarball } });
        expect(mosixMap(plan).split("\n").slice(1, -1)).toEqual(["10.0.100.1 1", "10.0.100.2 1", "10.0.100.3 1", "10.0.100.4 1", "10.0.100.5 1"]);
        const secret = seen.find((r) => r.type === "cluster:index:RandomSecret" && r.name === "mosix-secret");
        expect(secret?.inputs.length).toBe(32);
        const custom = planOf({ ...stackConfig("local"), mosix: { tarball, installCommand: "./install.sh --batch" } });
        expect(installScript(tarball, custom.mosix.installCommand, "a".repeat(64))).toContain("(cd \"$top\" && ./install.sh --batch </dev/null)");
    });

    it("runs the pool on directors and compute nodes with the signing key as a 0600 file", () => {
        const names = seen.filter((r) => r.type === "cluster:remote:Command" && r.name.startsWith("condor-")).map((r) => r.name);
        expect(names.sort()).toEqual(["condor-cluster1", "condor-cluster2", "condor-cluster3", "condor-cluster4", "condor-cluster5", "condor-master2"]);
        const script = command("condor-cluster2")!.inputs.create as string;
        expect(script).toContain("put '/etc/condor/thesis-cluster/pool-signing-key' 600 'root:root'");
        expect(script).toContain("condor_store_cred add -c -i /etc/condor/thesis-cluster/pool-signing-key");
        expect(script).toContain("put '/usr/local/share/thesis-cluster/condor/myprog' 755");
        expect(command("condor-cluster1")!.inputs.create).not.toContain("/usr/local/share/thesis-cluster/condor/myprog");
        expect(program.condorPool).toMatchObject({
            name: "thesis-cluster",
            centralManagers: ["cluster1.cluster", "master2.cluster"],
            submitHosts: ["cluster2.cluster", "cluster3.cluster", "cluster4.cluster", "cluster5.cluster"],
            executeSlots: { cluster2: 1, cluster3: 1, cluster4: 1, cluster5: 1 },
        });
    });
});
