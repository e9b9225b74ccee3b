/**
 * The `existing` backend: hosts that already answer SSH, as each node's `ssh`
 * config describes them (address, port, login, pinned host key, jump host), or
 * as another stack's outputs do (machinesFrom, ./source.ts).
 * See docs/backends.md.
 */
import { diskDevice } from "../../shell";
import { BackendContext, Login, MachineBackend } from "../backend";

export function existingBackend(ctx: BackendContext): MachineBackend {
    return {
        // Hosts the project did not make: their kernel and filters are asked, not known.
        capabilities: { kernel: "unknown", grantsSystemCalls: false },
        networks: {},
        machine(node) {
            let login: Login;
            if (ctx.source !== undefined) {
                login = ctx.source.login(node.spec, ctx.cfg.nodes.findIndex((n) => n.name === node.name));
            } else {
                const ssh = node.spec.ssh!;
                login = { host: ssh.host, port: ssh.port, user: ssh.user, hostKey: ssh.hostKey, proxy: ssh.proxy };
            }
            return {
                hostKey: login.hostKey,
                // Extra disks are expected where a VM would show them.
                devices: node.spec.disks.map((_, i) => diskDevice(i)),
                login,
            };
        },
    };
}
