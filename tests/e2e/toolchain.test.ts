import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { TempProject } from "./project";

// Drives the installed CLI, language host and provider: no mocks, no network.
describe("offline Pulumi toolchain", () => {
    const project = new TempProject("toolchain");

    afterAll(() => project.remove());

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
});
