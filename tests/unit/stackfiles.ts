import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { NAMESPACE } from "../../components/config";

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

/** The `thesis-cluster:*` config of a committed stack file, keyed without namespace. */
export function stackConfig(stack: string): Record<string, unknown> {
    return configOfStackFile(fs.readFileSync(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8"));
}
