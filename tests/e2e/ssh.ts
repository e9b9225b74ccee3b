/** OpenSSH on the host, set up from a stack's outputs: the test's own view of the machines. */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface NodeOutput {
    role: string;
    addresses: { internal: string; external?: string };
    ssh: { host: string; port: number; user: string; proxy?: { host: string; port: number; user: string } };
    hostKey: string;
    disks: string[];
    state: string;
}

/**
 * known_hosts lines for the SSH front door: whichever compute node a session
 * lands on answers at the VIP's port with its own host key.
 */
export function frontDoorKnownHosts(frontDoor: { host: string; port: number }, nodes: Record<string, NodeOutput>, compute: string[]): string[] {
    return compute.map((c) => `[${frontDoor.host}]:${frontDoor.port} ${nodes[c].hostKey}`);
}

/**
 * How to reach node NAME now: as the outputs say, or, when its jump host is a
 * director in DOWN, through another director that is up.
 */
export function throughLiveDirector(nodes: Record<string, NodeOutput>, directors: string[], down: Set<string>, name: string): NodeOutput {
    const n = nodes[name];
    const proxy = n.ssh.proxy;
    if (!proxy) return n;
    const through = directors.find((d) => nodes[d].ssh.host === proxy.host);
    if (through === undefined || !down.has(through)) return n;
    const other = nodes[directors.find((d) => !down.has(d))!].ssh;
    return { ...n, ssh: { ...n.ssh, proxy: { host: other.host, port: other.port, user: other.user } } };
}

/** An ssh client configuration with the stack's key and its machines' pinned host keys. */
export class Ssh {
    private readonly dir: string;

    /** `extraKnown` adds known_hosts lines, e.g. the compute nodes' keys for "[vip]:2000". */
    constructor(privateKey: string, nodes: Record<string, NodeOutput>, extraKnown: string[] = []) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "thesis-cluster-ssh-"));
        fs.writeFileSync(path.join(this.dir, "id"), privateKey.endsWith("\n") ? privateKey : privateKey + "\n", { mode: 0o600 });
        const known = [...Object.values(nodes).map((n) => `${n.ssh.host} ${n.hostKey}`), ...extraKnown];
        fs.writeFileSync(path.join(this.dir, "known_hosts"), known.join("\n") + "\n");
        fs.writeFileSync(
            path.join(this.dir, "config"),
            [
                "Host *",
                `  IdentityFile ${path.join(this.dir, "id")}`,
                "  IdentitiesOnly yes",
                `  UserKnownHostsFile ${path.join(this.dir, "known_hosts")}`,
                "  StrictHostKeyChecking yes",
                "  BatchMode yes",
                "  ConnectTimeout 10",
                "  LogLevel ERROR",
                "",
            ].join("\n"),
        );
    }

    /** Runs a command on a node through its endpoint (and jump host); resolves with stdout, rejects with stderr. */
    run(node: NodeOutput, command: string, timeoutMs = 60_000): Promise<string> {
        const args = ["-F", path.join(this.dir, "config"), "-p", String(node.ssh.port)];
        if (node.ssh.proxy) {
            args.push("-J", `${node.ssh.proxy.user}@${node.ssh.proxy.host}:${node.ssh.proxy.port}`);
        }
        args.push(`${node.ssh.user}@${node.ssh.host}`, command);
        return new Promise((resolve, reject) => {
            execFile("ssh", args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
                if (err) {
                    reject(new Error(`ssh ${node.ssh.host} ${command}: ${err.message}\n${stderr}`));
                } else {
                    resolve(stdout);
                }
            });
        });
    }

    /**
     * Runs a bash script as `user` (a login shell) on a node, logged in as
     * root; the script travels base64-encoded, so no shell on the way expands it.
     */
    runAs(node: NodeOutput, user: string, script: string, timeoutMs = 60_000): Promise<string> {
        return this.run(node, `runuser -l ${user} -c "$(echo ${Buffer.from(script).toString("base64")} | base64 -d)"`, timeoutMs);
    }

    /** Runs a command at host:port directly (e.g. the SSH front door on the VIP). */
    runAt(host: string, port: number, command: string, timeoutMs = 30_000, user = "root"): Promise<string> {
        return this.run({ ssh: { host, port, user } } as NodeOutput, command, timeoutMs);
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
