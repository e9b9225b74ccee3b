import { parseClusterConfig } from "../../components/config";
import { clusterPlan } from "../../components/plan";
import { lab, onTestSubnets, stackText, testSubnets } from "../e2e/project";
import { withMachines } from "../e2e/topology";
import { configOfStackFile } from "./stackfiles";

// The e2e stacks copy the `local` stack onto their own subnets, so they can run
// beside a user's `local` cluster; the copy must keep the topology whole.
describe("onTestSubnets", () => {
    const text = stackText("lab");
    const config = (t: string) => parseClusterConfig(configOfStackFile(t));

    it("moves every address of the local stack and nothing else", () => {
        const local = config(text);
        const moved = config(stackText("local"));
        expect(moved.backend).toBe("nspawn");
        expect(moved.networks.internal.cidr).toBe(`${lab("internal", 0)}/24`);
        expect(moved.networks.external.cidr).toBe(`${lab("external", 0)}/24`);
        expect(moved.networks.external.vip).toBe(lab("external", 200));
        expect(moved.networks.external.hostAddress).toBe(lab("external", 1));
        expect(moved.nodes.map((n) => n.addresses)).toEqual(
            local.nodes.map((n) => ({
                internal: n.addresses.internal?.replace(/^10\.0\.100\./, testSubnets.internal),
                ...(n.addresses.external ? { external: n.addresses.external.replace(/^192\.168\.1\./, testSubnets.external) } : {}),
            })),
        );
        expect(stackText("local")).not.toMatch(/10\.0\.100\.|192\.168\.1\./);
    });

    it("leaves look-alike addresses alone", () => {
        expect(onTestSubnets("110.0.100.5 192.168.10.4 192.168.1.7")).toBe(`110.0.100.5 192.168.10.4 ${lab("external", 7)}`);
    });
});

// `npm run bench -- --machines N`: the test topology with compute nodes added.
describe("withMachines", () => {
    const base = configOfStackFile(stackText("local"));

    it("adds compute nodes on free internal addresses of the test subnet until N machines", () => {
        const cfg = parseClusterConfig(withMachines(base, 20));
        const plan = clusterPlan(cfg);
        expect(cfg.nodes).toHaveLength(20);
        expect(plan.compute.map((n) => n.name)).toEqual(["cluster2", "cluster3", "cluster4", "cluster5", ...Array.from({ length: 10 }, (_, i) => `cluster${i + 6}`)]);
        const internal = cfg.nodes.map((n) => n.addresses.internal);
        expect(new Set(internal).size).toBe(20);
        expect(internal).not.toContain(cfg.networks.internal.vip);
        for (const a of internal) expect(a!.startsWith(testSubnets.internal)).toBe(true);
        // The first free host numbers: .9, .10, … (.1-.8, .50, .100 are the thesis' nodes).
        expect(cfg.nodes.find((n) => n.name === "cluster6")!.addresses).toEqual({ internal: lab("internal", 9) });
        expect(cfg.nodes.find((n) => n.name === "cluster15")!.addresses).toEqual({ internal: lab("internal", 18) });
    });

    it("leaves the topology as it is at its own size, and refuses fewer machines", () => {
        expect(withMachines(base, 10)).toEqual(base);
        expect(() => withMachines(base, 8)).toThrow("--machines 8: the topology has 10 machines already");
        expect(() => withMachines(base, 10.5)).toThrow("--machines 10.5");
    });
});
