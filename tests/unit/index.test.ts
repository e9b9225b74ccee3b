import * as fs from "fs";
import * as path from "path";
import { installMocks, Registered, useStackConfig, valueOf } from "./mocks";
import { stackConfig } from "./stackfiles";

describe("program", () => {
    let seen: Registered[];
    let program: typeof import("../../index");

    beforeAll(async () => {
        seen = installMocks({
            "cluster:index:SshKeyPair": { publicKey: "ssh-ed25519 AAAA test", privateKey: "PRIVATE" },
        });
        useStackConfig(stackConfig("local"));
        program = await import("../../index");
    });

    it("generates the stack's SSH key pair in the provider, at the pinned provider version", async () => {
        const key = seen.find((r) => r.type === "cluster:index:SshKeyPair");
        expect(key?.name).toBe("admin-key");
        expect(key?.inputs.comment).toBe("thesis-cluster-unit");
        expect(await valueOf(program.adminPublicKey)).toBe("ssh-ed25519 AAAA test");
    });

    it("exports every node with its role and addresses, and both VIPs", () => {
        expect(Object.keys(program.nodes)).toHaveLength(10);
        expect(program.nodes.nas).toEqual({ role: "nas", addresses: { internal: "10.0.100.100" } });
        expect(program.nodes.master2.addresses.external).toBe("192.168.1.102");
        expect(program.vips).toEqual({ internal: "10.0.100.200", external: "192.168.1.200" });
    });

    it("uses the provider version written in plugins/VERSION", async () => {
        const { PROVIDER_VERSION } = await import("../../components/provider");
        const file = fs.readFileSync(path.join(__dirname, "../../plugins/VERSION"), "utf8").trim();
        expect(PROVIDER_VERSION).toBe(file);
        expect(PROVIDER_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    });
});
