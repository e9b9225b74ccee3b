import { ChaosResult, formatChaos, runChaos } from "./chaos";
import { TempProject } from "./project";

// The short chaos run (npm run chaos, with short jobs and short degraded
// spells): a compute node, a SAN node, the master director and then the backup
// killed hard in turn during 100 HTCondor jobs and two writers on gv0, each
// repaired by `pulumi up`. Nothing a user made may be lost.
describe("chaos: machines killed in turn while users work", () => {
    const project = new TempProject("chaos");
    const stack = "ch";
    const options = { stack, jobs: 100, jobSeconds: 4, dwellSeconds: 5, deadlineMinutes: 30 };
    let r: ChaosResult;

    beforeAll(async () => {
        await project.initStack(stack, "local");
        await project.ok(["up", "--stack", stack, "--yes", "--skip-preview"], 1_800_000);
        r = await runChaos({ ...options, project, progress: (m) => console.log(`chaos: ${m}`) });
        console.log(formatChaos(r, options).join("\n"));
    }, 2_700_000);

    afterAll(async () => {
        await project.destroyAndRemove(stack);
    }, 900_000);

    it("killed a compute node, a SAN node, the master director and the backup, and repaired each with pulumi up", () => {
        expect(r.kills.map((k) => `${k.machine} ${k.role}`)).toEqual(["cluster4 compute", "san1 SAN", "cluster1 master director", "master2 backup director"]);
        for (const k of r.kills) expect([k.machine, Number.isFinite(k.repairSeconds)]).toEqual([k.machine, true]);
        // The VIP went to the backup and came back; the backup's death left it where it was.
        expect(r.kills[2].notes.join("; ")).toMatch(/^VIP on master2 after [\d.]+ s; VIP back on cluster1 [\d.]+ s after the repair$/);
        expect(r.kills[3].notes).toEqual(["VIP on cluster1 after the repair"]);
    });

    it("completed every job", () => {
        expect(r.jobs.completed).toBe(100);
    });

    it("read back every record the writers wrote, intact, and the same on each replica", () => {
        expect(r.writers.map((w) => w.node)).toEqual(["cluster2", "cluster3"]);
        for (const w of r.writers) {
            expect(w.written).toBeGreaterThan(0);
            expect({ node: w.node, intact: w.intact, corrupt: w.corrupt, writeErrors: w.writeErrors }).toEqual({ node: w.node, intact: w.written, corrupt: 0, writeErrors: 0 });
        }
        expect(r.replicas.map((b) => `${b.brick} ${b.identical}`)).toEqual(["san1", "san2", "san3"].map((s) => `${s}:/export/brick1/data true`));
    });

    it("left a cluster whose preview shows no changes, and reports no problem", () => {
        expect(r.previewClean).toBe(true);
        expect(r.problems).toEqual([]);
        // The front door was probed throughout (its outages are figures, not failures).
        expect(r.frontDoor.probes).toBeGreaterThan(100);
    });
});
