import * as fs from "fs";
import * as path from "path";
import { OTHER_KEYS, topSchema } from "../../components/config-schema";

// docs/config.md is written by hand; the schema is the truth. Every key the
// schema accepts is in the document's table, and every key of the table is
// one the schema (or index.ts: OTHER_KEYS) accepts, so neither drifts from the other.

type Def = { type: string; shape?: Record<string, unknown>; element?: unknown; innerType?: unknown; in?: unknown };
const defOf = (s: unknown) => (s as { _zod: { def: Def } })._zod.def;

/** Every key path of the schema, `[i]` for list items; objects and their leaves. */
function schemaKeys(schema: unknown, prefix = "", out: { path: string; leaf: boolean }[] = []) {
    const d = defOf(schema);
    if (d.type === "object") {
        for (const [k, v] of Object.entries(d.shape!)) {
            const p = prefix ? `${prefix}.${k}` : k;
            const inner = unwrap(v);
            const isObject = defOf(inner).type === "object" || (defOf(inner).type === "array" && defOf(unwrap(defOf(inner).element)).type === "object");
            out.push({ path: p, leaf: !isObject });
            schemaKeys(v, p, out);
        }
    } else if (d.type === "array") {
        schemaKeys(d.element, `${prefix}[i]`, out);
    } else if (["optional", "default", "prefault", "nullable", "pipe"].includes(d.type)) {
        schemaKeys(d.innerType ?? d.in, prefix, out);
    }
    return out;
}
function unwrap(s: unknown): unknown {
    const d = defOf(s);
    return ["optional", "default", "prefault", "nullable", "pipe"].includes(d.type) ? unwrap(d.innerType ?? d.in) : s;
}

/** The keys of the document's table: its first column, `[j]` read as `[i]`, "`a` / `.b`" as a and a's sibling b. */
function documentedKeys(): string[] {
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "config.md"), "utf8");
    const keys: string[] = [];
    for (const line of doc.split("\n")) {
        const m = line.match(/^\| `([^`]+)`( \/ `\.([^`]+)`)? \|/);
        if (!m) continue;
        const key = m[1].replace(/\[j\]/g, "[i]");
        keys.push(key);
        if (m[3]) keys.push(key.replace(/[^.]+$/, m[3]));
    }
    return keys;
}

describe("docs/config.md against the config schema", () => {
    const schema = schemaKeys(topSchema);
    const documented = documentedKeys();

    it("documents every key the schema accepts", () => {
        expect(schema.filter((k) => k.leaf && !documented.includes(k.path)).map((k) => k.path)).toEqual([]);
        expect(schema.filter((k) => k.leaf).length).toBeGreaterThan(60);
    });

    it("documents no key the program does not read", () => {
        const known = new Set([...schema.map((k) => k.path), ...OTHER_KEYS]);
        expect(documented.filter((k) => !known.has(k))).toEqual([]);
    });
});
