import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

// The provider's schema is the contract: plugins/schema.json is what the Go
// provider reports (its own test keeps the file current), and the hand-written
// TypeScript wrappers must name the same inputs, the same required ones, the
// same nested types and only outputs the provider has. A field renamed on one
// side fails here, where the mocks of the other unit tests would echo it back.
const root = path.join(__dirname, "..", "..");
const schema = JSON.parse(fs.readFileSync(path.join(root, "plugins", "schema.json"), "utf8")) as {
    resources: Record<string, { inputProperties: Record<string, Prop>; requiredInputs?: string[]; properties: Record<string, Prop> }>;
    types: Record<string, { properties: Record<string, Prop>; required?: string[] }>;
};
interface Prop {
    $ref?: string;
    items?: Prop;
}
const WRAPPERS = ["components/remote.ts", "components/provider.ts", "components/backends/nspawn/resources.ts", "components/backends/virtualbox/resources.ts"];

interface Shape {
    members: Map<string, { optional: boolean; type: ts.TypeNode | undefined }>;
}

/** Every interface of the wrappers by name, and every wrapper class: its type token, args interface and declared outputs. */
function readWrappers() {
    /** Per wrapper file, its interfaces by name (two files may both have a MachineArgs). */
    const byFile = new Map<string, Map<string, Shape>>();
    const classes: { file: string; token: string; args: string; outputs: string[] }[] = [];
    const shapeOf = (members: ts.NodeArray<ts.TypeElement>): Shape => ({
        members: new Map(
            members.filter(ts.isPropertySignature).map((m) => [(m.name as ts.Identifier).text, { optional: !!m.questionToken, type: m.type }]),
        ),
    });
    for (const file of WRAPPERS) {
        const interfaces = new Map<string, Shape>();
        byFile.set(file, interfaces);
        const src = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
        const visit = (node: ts.Node) => {
            if (ts.isInterfaceDeclaration(node)) {
                const own = shapeOf(node.members);
                // `extends Hop` and the like: the base's members too.
                for (const h of node.heritageClauses ?? []) {
                    for (const t of h.types) {
                        const base = interfaces.get(t.expression.getText());
                        base?.members.forEach((v, k) => own.members.set(k, v));
                    }
                }
                interfaces.set(node.name.text, own);
            }
            if (ts.isClassDeclaration(node) && node.heritageClauses?.some((h) => h.getText().includes("CustomResource"))) {
                const ctor = node.members.find(ts.isConstructorDeclaration)!;
                let token = "";
                ctor.body?.forEachChild(function find(n): void {
                    if (!token && ts.isStringLiteral(n) && n.text.startsWith("cluster:")) token = n.text;
                    n.forEachChild(find);
                });
                const args = ctor.parameters.find((p) => p.name.getText() === "args")!.type!.getText();
                const outputs = node.members
                    .filter((m): m is ts.PropertyDeclaration => ts.isPropertyDeclaration(m))
                    .map((m) => m.name.getText());
                classes.push({ file, token, args, outputs });
            }
            ts.forEachChild(node, visit);
        };
        visit(src);
    }
    return { byFile, classes };
}

const { byFile, classes } = readWrappers();

/** The schema type a property refers to (directly or as list items), if any. */
const refOf = (p: Prop): string | undefined => (p.$ref ?? p.items?.$ref)?.replace("#/types/", "");

/** The wrapper's shape for a property's type: a named interface of its file, or an inline object type. */
function shapeOfType(interfaces: Map<string, Shape>, type: ts.TypeNode | undefined): Shape | undefined {
    let found: Shape | undefined;
    const walk = (n: ts.Node): void => {
        if (found) return;
        if (ts.isTypeReferenceNode(n) && interfaces.has(n.typeName.getText())) found = interfaces.get(n.typeName.getText());
        else if (ts.isTypeLiteralNode(n))
            found = { members: new Map(n.members.filter(ts.isPropertySignature).map((m) => [(m.name as ts.Identifier).text, { optional: !!m.questionToken, type: m.type }])) };
        else n.forEachChild(walk);
    };
    if (type) walk(type);
    return found;
}

/** Where the wrapper's shape and the schema's disagree, as readable lines. */
function compare(interfaces: Map<string, Shape>, where: string, shape: Shape, props: Record<string, Prop>, required: string[]): string[] {
    const problems: string[] = [];
    const ts = [...shape.members.keys()].sort();
    const go = Object.keys(props).sort();
    for (const k of ts) if (!go.includes(k)) problems.push(`${where}.${k}: in the wrapper, not in the provider's schema`);
    for (const k of go) if (!ts.includes(k)) problems.push(`${where}.${k}: in the provider's schema, not in the wrapper`);
    for (const [k, m] of shape.members) {
        if (!(k in props)) continue;
        if (m.optional === required.includes(k)) problems.push(`${where}.${k}: ${required.includes(k) ? "required" : "optional"} in the schema, not in the wrapper`);
        const ref = refOf(props[k]);
        if (ref) {
            const inner = shapeOfType(interfaces, m.type);
            if (!inner) problems.push(`${where}.${k}: the schema's ${ref} has no matching type in the wrapper`);
            else problems.push(...compare(interfaces, `${where}.${k}`, inner, schema.types[ref].properties, schema.types[ref].required ?? []));
        }
    }
    return problems;
}

describe("the TypeScript wrappers against the provider's schema (plugins/schema.json)", () => {
    it("wrap every resource the provider has, and no other", () => {
        expect(classes.map((c) => c.token).sort()).toEqual(Object.keys(schema.resources).sort());
    });

    it.each(classes.map((c) => [c.token, c] as const))("%s: the same inputs, required ones, nested types and outputs", (token, c) => {
        const res = schema.resources[token];
        const interfaces = byFile.get(c.file)!;
        const args = interfaces.get(c.args);
        expect(args).toBeDefined();
        const problems = compare(interfaces, token, args!, res.inputProperties, res.requiredInputs ?? []);
        for (const o of c.outputs) if (!(o in res.properties)) problems.push(`${token}: output ${o} is not a property of the provider's resource`);
        expect(problems).toEqual([]);
    });

    it("can fail: a renamed input is reported", () => {
        const interfaces = byFile.get("components/remote.ts")!;
        const shape = interfaces.get("CommandArgs")!;
        const renamed: Shape = { members: new Map([...shape.members].map(([k, v]) => [k === "check" ? "checkScript" : k, v])) };
        const res = schema.resources["cluster:remote:Command"];
        expect(compare(interfaces, "Command", renamed, res.inputProperties, res.requiredInputs ?? [])).toEqual([
            "Command.checkScript: in the wrapper, not in the provider's schema",
            "Command.check: in the provider's schema, not in the wrapper",
        ]);
    });
});
