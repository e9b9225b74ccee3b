import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { outagesOf, verifyRecords, writerScript } from "../e2e/chaos";

const record = (node: string, seq: number) => {
    const body = `${node} ${seq} ${crypto.randomBytes(24).toString("hex")}`;
    return `${body} ${crypto.createHash("sha256").update(body).digest("hex")}`;
};

describe("chaos: the writers' records", () => {
    it("counts the confirmed records read back intact, and what does not verify", () => {
        const lines = [record("cluster2", 0), record("cluster2", 1), record("cluster2", 1), record("cluster2", 3)];
        const torn = record("cluster2", 4).slice(0, 50);
        const flipped = record("cluster2", 5).replace(/ ([0-9a-f])/, (_, c) => ` ${c === "0" ? "1" : "0"}`);
        const foreign = record("cluster3", 2);
        const text = [...lines, torn, flipped, foreign].join("\n") + "\n";
        // Records 0..4 were confirmed: 2 and 4 are missing (4 torn), 1 read twice.
        expect(verifyRecords(text, "cluster2", 5)).toEqual({ intact: 3, corrupt: 3, duplicates: 1 });
        expect(verifyRecords("", "cluster2", 0)).toEqual({ intact: 0, corrupt: 0, duplicates: 0 });
    });

    it("runs the writer script: records appended until its deadline, each verified, the count matching the file", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-writer-"));
        try {
            const file = path.join(dir, "records.log");
            fs.writeFileSync(path.join(dir, "writer.sh"), writerScript);
            // Stops at its deadline, two seconds from now.
            const r = spawnSync("bash", [path.join(dir, "writer.sh"), file, dir, String(Math.floor(Date.now() / 1000) + 2)], { encoding: "utf8", timeout: 20_000 });
            expect(r.status).toBe(0);
            expect(fs.existsSync(path.join(dir, "finished"))).toBe(true);
            const [written, errors, gapMs] = fs.readFileSync(path.join(dir, "count"), "utf8").trim().split(" ").map(Number);
            expect(written).toBeGreaterThan(3);
            expect(errors).toBe(0);
            expect(gapMs).toBeGreaterThan(0);
            expect(verifyRecords(fs.readFileSync(file, "utf8"), os.hostname(), written)).toEqual({ intact: written, corrupt: 0, duplicates: 0 });
            // And not one more once the stop file is there.
            fs.writeFileSync(path.join(dir, "stop"), "");
            const lines = fs.readFileSync(file, "utf8").split("\n").length;
            expect(spawnSync("bash", [path.join(dir, "writer.sh"), file, dir, String(Math.floor(Date.now() / 1000) + 60)], { timeout: 20_000 }).status).toBe(0);
            expect(fs.readFileSync(file, "utf8").split("\n").length).toBe(lines);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 30_000);
});

describe("chaos: front-door outages", () => {
    it("finds each run of failed probes, how long until the next success, and the event before it", () => {
        const ok = (t: number, up: boolean) => ({ t, ok: up });
        const samples = [ok(0, true), ok(1, false), ok(1.25, false), ok(2, true), ok(3, true), ok(5, false), ok(5.5, false)];
        const events = [
            { t: 0.5, label: "kill cluster1" },
            { t: 4, label: "kill master2" },
        ];
        expect(outagesOf(samples, events)).toEqual([
            { start: 1, seconds: 1, failedProbes: 2, after: "kill cluster1", open: false },
            { start: 5, seconds: 0.5, failedProbes: 2, after: "kill master2", open: true },
        ]);
        expect(outagesOf([ok(0, true)], events)).toEqual([]);
    });
});
