import * as fs from "fs";
import * as path from "path";
import { installMocks, Registered, valueOf } from "./mocks";

describe("program", () => {
    let seen: Registered[];
    let program: typeof import("../../index");

    beforeAll(async () => {
        seen = installMocks({
            "cluster:index:SshKeyPair": { publicKey: "ssh-ed25519 AAAA test", privateKey: "PRIVATE" },
        });
        program = await import("../../index");
    });

    it("generates the stack's SSH key pair in the provider, at the pinned provider version", async () => {
        const key = seen.find((r) => r.type === "cluster:index:SshKeyPair");
        expect(key?.name).toBe("admin-key");
        expect(key?.inputs.comment).toBe("thesis-cluster-unit");
        expect(await valueOf(program.adminPublicKey)).toBe("ssh-ed25519 AAAA test");
    });

    it("uses the provider version written in plugins/VERSION", async () => {
        const { PROVIDER_VERSION } = await import("../../components/provider");
        const file = fs.readFileSync(path.join(__dirname, "../../plugins/VERSION"), "utf8").trim();
        expect(PROVIDER_VERSION).toBe(file);
        expect(PROVIDER_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    });
});
