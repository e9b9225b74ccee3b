/**
 * The `existing` backend: hosts that already answer SSH, as each node's `ssh`
 * config describes them (address, port, login, pinned host key, jump host).
 * See docs/backends.md.
 */
import { diskDevice } from "../../shell";
import { MachineBackend } from "../backend";

export function existingBackend(): MachineBackend {
    return {
        // Hosts the project did not make: their kernel and filters are asked, not known.
        capabilities: { kernel: "unknown", grantsSystemCalls: false },
        networks: {},
        machine(node) {
            const ssh = node.spec.ssh!;
            return {
                hostKey: ssh.hostKey,
                // Extra disks are expected where a VM would show them.
                devices: node.spec.disks.map((_, i) => diskDevice(i)),
                login: { host: ssh.host, port: ssh.port, user: ssh.user, hostKey: ssh.hostKey, proxy: ssh.proxy },
            };
        },
    };
}
