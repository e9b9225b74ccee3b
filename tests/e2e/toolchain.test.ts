import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { TempProject } from "./project";

// Drives the installed CLI, language host and provider: no mocks, no network.
describe("offline Pulumi toolchain", () => {
    const project = new TempProject("toolchain");
    const stack = "e2e";

    afterAll(async () => {
        await project.pulumi(["destroy", "--stack", stack, "--yes"]);
        await project.pulumi(["stack", "rm", stack, "--yes"]);
        project.remove();
    });

    it("reports the pinned CLI and provider versions", () => {
        const cli = execFileSync("pulumi", ["version"], { env: project.env }).toString().trim();
        const pinned = fs
            .readFileSync(path.join(__dirname, "../../plugins/cli/go.mod"), "utf8")
            .match(/^require github\.com\/pulumi\/pulumi\/pkg\/v3 (v\S+)$/m)?.[1];
        expect(cli).toBe(pinned);
        const plugins = execFileSync("pulumi", ["plugin", "ls", "--json"], { env: project.env }).toString();
        const versions = (JSON.parse(plugins) as { name: string; version: string }[])
            .filter((p) => p.name === "cluster")
            .map((p) => p.version);
        expect(versions).toContain(fs.readFileSync(path.join(__dirname, "../../plugins/VERSION"), "utf8").trim());
    });

    it("previews, deploys with secrets encrypted, then reports no changes", async () => {
        await project.initStack(stack, "local");
        const preview = await project.ok(["preview", "--stack", stack, "--diff"]);
        expect(preview).toMatch(/\+ cluster:index:SshKeyPair: \(create\)/);

        await project.ok(["up", "--stack", stack, "--yes", "--skip-preview"]);
        const out = JSON.parse(await project.ok(["stack", "output", "--stack", stack, "--json"]));
        expect(out.adminPublicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ thesis-cluster-e2e$/);

        // The private key exists only as ciphertext in the state.
        const state = await project.ok(["stack", "export", "--stack", stack]);
        const key = JSON.parse(state).deployment.resources.find(
            (r: { type: string }) => r.type === "cluster:index:SshKeyPair",
        );
        expect(key.outputs.privateKey.ciphertext).toEqual(expect.any(String));
        expect(state).not.toContain("OPENSSH PRIVATE KEY");

        // --expect-no-changes makes the CLI fail on any pending change.
        await project.ok(["preview", "--stack", stack, "--expect-no-changes"]);
    }, 300_000);

    it("refuses bad config before touching anything, and keeps what is built", async () => {
        const before = JSON.parse(await project.ok(["stack", "export", "--stack", stack])).deployment.resources.length;
        await project.ok(["config", "set", "--path", "nodes[7].addresses.internal", "10.0.200.6", "--stack", stack]);
        for (const cmd of ["preview", "up"]) {
            const r = await project.pulumi(cmd === "up" ? ["up", "--stack", stack, "--yes"] : ["preview", "--stack", stack]);
            expect(r.code).not.toBe(0);
            expect(r.stdout + r.stderr).toContain(
                'thesis-cluster:nodes[7].addresses.internal: "10.0.200.6" is outside network internal (10.0.100.0/24)',
            );
        }
        const after = JSON.parse(await project.ok(["stack", "export", "--stack", stack])).deployment.resources;
        expect(after).toHaveLength(before);
        expect(after.map((r: { type: string }) => r.type)).toContain("cluster:index:SshKeyPair");
    }, 300_000);
});
