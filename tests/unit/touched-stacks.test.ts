import { DEFAULT_RUNNERS, matrixOf, parseRunners, stacksOf, touchedStacks } from "../../scripts/touched-stacks";

// The repository's files, as `git ls-files` lists them (a few).
const files = ["Pulumi.yaml", "Pulumi.lab.yaml", "Pulumi.local.yaml", "index.ts", "components/plan.ts", "docs/ci.md", "tests/unit/plan.test.ts", "monitoring/Pulumi.yaml", "monitoring/Pulumi.mon.yaml"];

describe("touched-stacks: which stacks a pull request's preview covers", () => {
    it("finds a project's stacks by their stack files, not those of a project below it", () => {
        expect(stacksOf(".", files)).toEqual(["lab", "local"]);
        expect(stacksOf("monitoring", files)).toEqual(["mon"]);
    });

    it("previews every stack of a project when its program, its templates, packages or the provider change", () => {
        const cluster = [{ project: ".", stack: "lab" }, { project: ".", stack: "local" }];
        for (const f of ["index.ts", "Pulumi.yaml"]) expect([f, touchedStacks([f], files)]).toEqual([f, cluster]);
        // The monitoring project is built from the cluster's components too.
        for (const f of ["components/jobs/slurm.ts", "files/slurm/slurm.conf.mustache", "package-lock.json", "plugins/internal/remote/command.go"]) {
            expect([f, touchedStacks([f], files)]).toEqual([f, [...cluster, { project: "monitoring", stack: "mon" }]]);
        }
        expect(touchedStacks(["monitoring/watch.ts"], files)).toEqual([{ project: "monitoring", stack: "mon" }]);
    });

    it("previews just the stack whose file changed", () => {
        expect(touchedStacks(["Pulumi.lab.yaml", "docs/ci.md"], files)).toEqual([{ project: ".", stack: "lab" }]);
    });

    it("previews no stack for docs, tests, the bench or the scripts", () => {
        expect(touchedStacks(["docs/ci.md", "README.md", "tests/unit/plan.test.ts", "bench/index.ts", "scripts/test", ".github/workflows/preview.yml"], files)).toEqual([]);
    });

    it("previews a project's stacks for its own files and the components it shares, and a stack for its file", () => {
        const projects = [
            { dir: ".", inputs: ["index.ts", "components/"] },
            { dir: "monitoring", inputs: ["monitoring/", "components/"] },
        ];
        expect(touchedStacks(["monitoring/index.ts"], files, projects)).toEqual([{ project: "monitoring", stack: "mon" }]);
        expect(touchedStacks(["index.ts"], files, projects)).toEqual([{ project: ".", stack: "lab" }, { project: ".", stack: "local" }]);
        expect(touchedStacks(["monitoring/Pulumi.mon.yaml"], files, projects)).toEqual([{ project: "monitoring", stack: "mon" }]);
        expect(touchedStacks(["components/plan.ts"], files, projects).map((s) => s.project)).toEqual([".", ".", "monitoring"]);
    });

    it("runs a stack with a runner against its real state there, any other as a plan on a hosted runner", () => {
        const m = matrixOf([{ project: ".", stack: "lab" }, { project: ".", stack: "local" }], DEFAULT_RUNNERS);
        expect(m).toEqual([
            { project: ".", stack: "lab", mode: "plan", runsOn: "ubuntu-latest" },
            { project: ".", stack: "local", mode: "state", runsOn: ["self-hosted", "linux", "thesis-local"] },
        ]);
        expect(matrixOf([{ project: "monitoring", stack: "local" }], DEFAULT_RUNNERS)).toEqual([
            { project: "monitoring", stack: "local", mode: "state", runsOn: ["self-hosted", "linux", "thesis-local"] },
        ]);
        expect(matrixOf([{ project: "monitoring", stack: "mon" }], parseRunners('{"monitoring/mon": "thesis-local"}'))).toEqual([
            { project: "monitoring", stack: "mon", mode: "state", runsOn: ["thesis-local"] },
        ]);
    });

    it("takes STACK_RUNNERS as JSON, the default when unset, and names the bad entry", () => {
        expect(parseRunners(undefined)).toBe(DEFAULT_RUNNERS);
        expect(parseRunners("")).toBe(DEFAULT_RUNNERS);
        expect(parseRunners('{"lab": ["self-hosted", "thesis-lab"]}')).toEqual({ lab: ["self-hosted", "thesis-lab"] });
        expect(() => parseRunners("lab")).toThrow('STACK_RUNNERS: "lab" is not JSON');
        expect(() => parseRunners('["lab"]')).toThrow("is not an object of stack to runner labels");
        expect(() => parseRunners('{"lab": []}')).toThrow("STACK_RUNNERS.lab: [] is not a runner label or a list of them");
        expect(() => parseRunners('{"lab": [3]}')).toThrow("STACK_RUNNERS.lab: [3] is not a runner label");
    });
});
