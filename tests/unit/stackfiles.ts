import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { NAMESPACE } from "../../components/config";

/** The `thesis-cluster:*` config of a committed stack file, keyed without namespace. */
export function stackConfig(stack: string): Record<string, unknown> {
    const file = path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`);
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc.config)) {
        if (k.startsWith(`${NAMESPACE}:`)) {
            out[k.slice(NAMESPACE.length + 1)] = v;
        }
    }
    return out;
}
