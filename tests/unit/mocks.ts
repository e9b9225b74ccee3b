import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "../../components/config";

/** Outputs the mocked provider gives each resource type. */
export const PROVIDER_OUTPUTS = {
    "cluster:index:SshKeyPair": { publicKey: "ssh-ed25519 AAAA test", privateKey: "PRIVATE" },
    "cluster:nspawn:BaseImage": { path: "/var/cache/thesis-cluster/images/trixie-0123456789abcdef/rootfs" },
    "cluster:remote:Command": { stdout: "running\n" },
    "cluster:index:RandomSecret": { value: "generated", sha512Crypt: "$6$salt$hash", bcrypt: "$2a$10$hash" },
};

/** The extra disks' names a machine backend reports: /dev/sdb, /dev/sdc, … one per disk of its inputs. */
export function mockDevices(inputs: Record<string, unknown>, prefix = "/dev/sd"): string[] {
    return ((inputs.disks as unknown[] | undefined) ?? []).map((_, i) => `${prefix}${String.fromCharCode(98 + i)}`);
}

/** A resource the mocked engine saw registered. */
export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    /** The URNs it waits for, as the engine gets them (dependsOn and Output inputs, components expanded). */
    dependencies: string[];
    /** The URN whose deletion skips this one's delete (Pulumi's deletedWith), or "". */
    deletedWith: string;
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
    const dependencies = new Map<string, string[]>();
    const deletedWith = new Map<string, string>();
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const key = `${args.type}::${args.name}`;
                seen.push({ type: args.type, name: args.name, inputs: args.inputs, dependencies: dependencies.get(key) ?? [], deletedWith: deletedWith.get(key) ?? "" });
                // The stack's reference to itself (components/previous.ts): a new stack, no outputs yet, unless a test says otherwise.
                const base = args.type === "pulumi:pulumi:StackReference" ? { outputs: {} } : {};
                return { id: `${args.name}-id`, state: { ...base, ...args.inputs, ...(outputs[args.type] ?? {}), ...perResource(args) } };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        NAMESPACE,
        stack,
        false,
        "organization",
    );
    // The mocked monitor hands newResource no dependencies: read them off each request first.
    type Request = { getType(): string; getName(): string; getDependenciesList(): string[]; getDeletedwith(): string };
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: Request, cb: unknown): unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: Request, cb: unknown) => {
        dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList());
        deletedWith.set(`${req.getType()}::${req.getName()}`, req.getDeletedwith());
        return register(req, cb);
    };
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

/** Waits until the mocked engine has seen a resource named `name` (registrations wait for their inputs). */
export async function registered(seen: Registered[], name: string): Promise<void> {
    for (let i = 0; i < 100 && !seen.some((r) => r.name === name); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Resolves an Output in a unit test. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

/** The remote commands every backend's program registers: tests/golden/remote-commands.txt. */
export function remoteCommandsGolden(seen: Registered[]): { got: string[]; want: string[] } {
    const file = path.join(__dirname, "..", "golden", "remote-commands.txt");
    const got = seen.filter((r) => r.type === "cluster:remote:Command").map((r) => r.name).sort();
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, got.join("\n") + "\n");
    return { got, want: fs.readFileSync(file, "utf8").trim().split("\n") };
}
