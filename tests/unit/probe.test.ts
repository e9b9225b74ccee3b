import * as net from "net";
import { sshGreets } from "../e2e/probe";

// The e2e tests' SSH probe, against servers on loopback: it must settle in every case.
describe("sshGreets", () => {
    const serve = (onConn: (s: net.Socket) => void) =>
        new Promise<net.Server>((resolve) => {
            const srv = net.createServer(onConn);
            srv.listen(0, "127.0.0.1", () => resolve(srv));
        });
    const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

    it("is true for an SSH greeting, false for a connection closed without a word, a silent one and a refused one", async () => {
        const greeter = await serve((s) => s.end("SSH-2.0-OpenSSH_10.0\r\n"));
        const closer = await serve((s) => s.destroy()); // HAProxy with no server to hand it to
        const silent = await serve(() => undefined);
        try {
            expect(await sshGreets("127.0.0.1", portOf(greeter))).toBe(true);
            expect(await sshGreets("127.0.0.1", portOf(closer))).toBe(false);
            expect(await sshGreets("127.0.0.1", portOf(silent), 200)).toBe(false);
            const free = portOf(closer);
            closer.close();
            expect(await sshGreets("127.0.0.1", free)).toBe(false);
        } finally {
            greeter.close();
            silent.close();
            closer.close();
        }
    });
});
