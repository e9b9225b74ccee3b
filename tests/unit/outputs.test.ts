import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, mockDevices, PROVIDER_OUTPUTS, useStackConfig } from "./mocks";
import { stackConfig } from "./stackfiles";

// docs/consumers.md's table is the outputs' contract with other stacks: the
// program exports exactly its names, and exactly its secrets are secrets.
const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "consumers.md"), "utf8");
const rows = [...doc.matchAll(/^\| `(\w+)` \| .* \| (no|\*\*[^|]+\*\*) \| [^|]+ \|$/gm)].map((m) => ({ name: m[1], secret: m[2].replace(/\*\*/g, "") }));

const isSecret = (v: unknown) => pulumi.isSecret(pulumi.output(v as pulumi.Input<unknown>));

describe("the stack outputs' contract (docs/consumers.md)", () => {
    let program: Record<string, unknown>;

    beforeAll(async () => {
        installMocks(PROVIDER_OUTPUTS, "unit", (args) =>
            args.type === "cluster:nspawn:Machine" ? { hostKey: `ssh-ed25519 HOST${args.name}`, devices: mockDevices(args.inputs) } : {},
        );
        useStackConfig(stackConfig("local"));
        program = { ...(await import("../../index")) };
    }, 60_000);

    it("lists every output the program exports, and no other", () => {
        expect(rows.length).toBeGreaterThan(10);
        expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(program).sort());
    });

    it("marks as secret what is secret, and what it marks is", async () => {
        for (const { name, secret } of rows) {
            const value = program[name];
            if (secret === "no") {
                expect([name, await isSecret(value)]).toEqual([name, false]);
            } else if (secret === "yes") {
                expect([name, await isSecret(value)]).toEqual([name, true]);
            } else {
                // A path inside the output (`*` for every key): those values are secrets, its other fields are not.
                const [first, ...rest] = secret.replace(/\\/g, "").split(".");
                const obj = value as Record<string, unknown>;
                for (const [k, v] of Object.entries(obj)) {
                    if (k !== first) expect([name, k, await isSecret(v)]).toEqual([name, k, false]);
                }
                let at: unknown[] = [obj[first]];
                for (const part of rest) at = at.flatMap((o) => (part === "*" ? Object.values(o as object) : [(o as Record<string, unknown>)[part]]));
                expect(at.length).toBeGreaterThan(0);
                for (const v of at) expect([name, secret, await isSecret(v)]).toEqual([name, secret, true]);
            }
        }
    });
});
