import * as fs from "fs";
import { z } from "zod";
import { document, DOC_PATH, rows } from "../../scripts/config-reference";

// docs/config.md's key table is written from the schema (npm run config-doc):
// the schema is the truth, and the file in the repository must be what it writes.

describe("docs/config.md", () => {
    it("holds the key table the schema writes (run `npm run config-doc` after changing the schema)", () => {
        const text = fs.readFileSync(DOC_PATH, "utf8");
        expect(text).toBe(document(text));
    });

    it("documents every key the schema accepts, with its default as the schema has it", () => {
        const keys = rows().map((r) => r.key);
        expect(keys.length).toBeGreaterThan(60);
        for (const k of ["backend", "nodes[i].disks[j].sizeMb", "frontDoor.vrrp.routerIds.external", "condor.jobLeaseSeconds", "imageCacheDir"]) expect(keys).toContain(k);
        const row = (k: string) => rows().find((r) => r.key === k)!;
        expect(row("frontDoor.sshPort")).toMatchObject({ type: "port", default: "2000" });
        expect(row("backend")).toMatchObject({ type: "`nspawn` \\| `virtualbox` \\| `existing`", default: "`nspawn`" });
        expect(row("nodes[i].ssh.proxy").default).toBe("unset");
        expect(row("networks.internal.cidr").default).toBe("required");
        expect(row("frontDoor.vrrp.priorities").default).toBe("[101, 100]");
    });

    it("refuses a schema key without a description", () => {
        const undocumented = z.object({ documented: z.string().meta({ keyDoc: { text: "x" } }), bare: z.number().default(1) });
        expect(() => rows(undocumented)).toThrow("config key bare has no keyDoc");
    });

    it("keeps the prose around the table", () => {
        const text = fs.readFileSync(DOC_PATH, "utf8");
        expect(text).toMatch(/^# Stack config reference\n/);
        expect(text).toContain("Checked together: every address is valid IPv4");
        expect(document("a\n<!-- the key table is written by `npm run config-doc` from components/config-schema.ts: edit it there -->\nold\n<!-- end of the key table -->\nb")).toMatch(/^a\n.*\n\| key \| type/);
    });
});
