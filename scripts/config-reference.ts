/**
 * Writes the key table of docs/config.md from the config schema
 * (components/config-schema.ts): every key, its type and default as the
 * schema has them, and what its `keyDoc` says. `npm run config-doc` rewrites
 * the table; tests/unit/config-doc.test.ts fails when the file differs.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { KeyDoc, OTHER_KEY_DOCS, topSchema } from "../components/config-schema";

export const DOC_PATH = path.join(__dirname, "..", "docs", "config.md");
const BEGIN = "<!-- the key table is written by `npm run config-doc` from components/config-schema.ts: edit it there -->";
const END = "<!-- end of the key table -->";

type Def = { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; innerType?: z.ZodType; in?: z.ZodType; entries?: Record<string, string>; checks?: unknown[]; defaultValue?: unknown };
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = ["optional", "default", "prefault", "nullable", "pipe"];

/** A key's row: path, type, default, meaning. */
export interface Row {
    key: string;
    type: string;
    default: string;
    text: string;
}

/** What the wrappers of a schema say: its doc (on any layer), default value, whether it may be unset; and the schema inside. */
function peel(s: z.ZodType): { inner: z.ZodType; doc?: KeyDoc; hasDefault: boolean; defaultValue?: unknown; optional: boolean; prefault: boolean } {
    let doc: KeyDoc | undefined;
    let hasDefault = false;
    let defaultValue: unknown;
    let optional = false;
    let prefault = false;
    let cur = s;
    for (;;) {
        doc ??= (z.globalRegistry.get(cur) as { keyDoc?: KeyDoc } | undefined)?.keyDoc;
        const d = defOf(cur);
        if (!WRAPPERS.includes(d.type)) break;
        if (d.type === "default" && !hasDefault) {
            hasDefault = true;
            defaultValue = d.defaultValue;
        }
        if (d.type === "prefault") prefault = true;
        if (d.type === "optional") optional = true;
        cur = (d.innerType ?? d.in)!;
    }
    return { inner: cur, doc, hasDefault, defaultValue, optional, prefault };
}

function typeOf(s: z.ZodType): string {
    const d = defOf(s);
    switch (d.type) {
        case "enum":
            return Object.values(d.entries!)
                .map((v) => `\`${v}\``)
                .join(" \\| ");
        case "number":
            return (d.checks ?? []).some((c) => (c as { _zod: { def: { format?: string } } })._zod.def.format === "safeint") ? "integer" : "number";
        case "array":
            return "list";
        case "record":
            return "map";
        default:
            return d.type;
    }
}

function defaultOf(v: unknown): string {
    if (typeof v === "string") return `\`${v}\``;
    if (Array.isArray(v) && v.length === 0) return "`[]`";
    if (v !== null && typeof v === "object" && Object.keys(v).length === 0) return "`{}`";
    return Array.isArray(v) ? `[${v.join(", ")}]` : String(v);
}

/** Every documented key of the schema, in its order; list items as [i], [j], … by depth. */
export function rows(schema: z.ZodType = topSchema, prefix = "", depth = 0, out: Row[] = []): Row[] {
    const { inner, doc, hasDefault, defaultValue, optional } = peel(schema);
    const d = defOf(inner);
    if (prefix && doc) {
        out.push({
            key: prefix,
            type: doc.type ?? typeOf(inner),
            default: doc.default ?? (hasDefault ? defaultOf(defaultValue) : optional ? "unset" : "required"),
            text: doc.text,
        });
    } else if (prefix && d.type !== "object") {
        throw new Error(`config key ${prefix} has no keyDoc in components/config-schema.ts`);
    }
    if (d.type === "object") {
        for (const [k, v] of Object.entries(d.shape!)) rows(v, prefix ? `${prefix}.${k}` : k, depth, out);
    } else if (d.type === "array") {
        const el = peel(d.element!).inner;
        if (defOf(el).type === "object") rows(el, `${prefix}[${"ijk"[depth]}]`, depth + 1, out);
    }
    return out;
}

/** The table as docs/config.md holds it. */
export function table(): string {
    const all = [...rows(), ...Object.entries(OTHER_KEY_DOCS).map(([key, d]) => ({ key, type: d.type!, default: d.default!, text: d.text }))];
    return ["| key | type | default | meaning |", "|---|---|---|---|", ...all.map((r) => `| \`${r.key}\` | ${r.type} | ${r.default} | ${r.text} |`)].join("\n");
}

/** docs/config.md with its table written afresh from the schema. */
export function document(text = fs.readFileSync(DOC_PATH, "utf8")): string {
    const i = text.indexOf(BEGIN);
    const j = text.indexOf(END);
    if (i < 0 || j < i) throw new Error(`${DOC_PATH}: the table's markers are missing`);
    return `${text.slice(0, i + BEGIN.length)}\n${table()}\n${text.slice(j)}`;
}

if (require.main === module) {
    fs.writeFileSync(DOC_PATH, document());
    console.log(`wrote ${path.relative(process.cwd(), DOC_PATH)}`);
}
