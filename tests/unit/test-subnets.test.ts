import { parseClusterConfig } from "../../components/config";
import { lab, onTestSubnets, stackText, testSubnets } from "../e2e/project";
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
