import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "../../components/config";

/** A resource the mocked engine saw registered. */
export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

/**
 * Installs Pulumi mocks that record every resource and return its inputs as
 * outputs (plus `outputs` for a type and `perResource`'s answer, when given). Call in beforeAll, then
 * `await import()` the program.
 */
export function installMocks(
    outputs: Record<string, Record<string, unknown>> = {},
    stack = "unit",
    perResource: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> = () => ({}),
): Registered[] {
    const seen: Registered[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                seen.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, ...(outputs[args.type] ?? {}), ...perResource(args) } };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        NAMESPACE,
        stack,
        false,
    );
    return seen;
}

/**
 * Hands the program the `thesis-cluster:*` config of a committed stack file, as
 * the CLI would (objects JSON-encoded).
 */
export function useStackConfig(config: Record<string, unknown>): void {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        all[`${NAMESPACE}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(all);
}

/** Resolves an Output in a unit test. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}
