import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { NAMESPACE, parseClusterConfig } from "../../components/config";
import { ClusterPlan, clusterPlan, NodePlan } from "../../components/plan";

/** The `thesis-cluster:*` config in a stack file's text, keyed without namespace. */
export function configOfStackFile(text: string): Record<string, unknown> {
    const doc = yaml.load(text) as { config: Record<string, unknown> };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc.config)) {
        if (k.startsWith(`${NAMESPACE}:`)) {
            out[k.slice(NAMESPACE.length + 1)] = v;
        }
    }
    return out;
}

const root = path.join(__dirname, "..", "..");

/** The project-level `thesis-cluster:*` config in Pulumi.yaml (the thesis topology), keyed without namespace. */
export function projectConfig(): Record<string, unknown> {
    const doc = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config?: Record<string, unknown> };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc.config ?? {})) {
        if (!k.startsWith(`${NAMESPACE}:`)) continue;
        // Long form { value: ... } (or { default: ... }), or the value itself.
        const long = v !== null && typeof v === "object" && !Array.isArray(v) && ("value" in v || "default" in v);
        out[k.slice(NAMESPACE.length + 1)] = long ? ((v as { value?: unknown; default?: unknown }).value ?? (v as { default?: unknown }).default) : v;
    }
    return out;
}

/**
 * A committed stack's `thesis-cluster:*` config as the CLI hands it to the
 * program: the project's, with the stack file's keys replacing theirs whole.
 */
export function stackConfig(stack: string): Record<string, unknown> {
    return { ...projectConfig(), ...configOfStackFile(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) };
}

/** The cluster plan of a stack's (or any) raw config, with its nodes by name. */
export function planOf(raw: Record<string, unknown>): ClusterPlan & { at: (name: string) => NodePlan } {
    const plan = clusterPlan(parseClusterConfig(raw));
    return {
        ...plan,
        at: (name) => {
            const n = plan.nodes.find((x) => x.name === name);
            if (n === undefined) throw new Error(`no node ${name} in the plan`);
            return n;
        },
    };
}
