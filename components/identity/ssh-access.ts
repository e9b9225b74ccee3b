/**
 * sshd on every node: the cluster users' managed keys on the compute nodes
 * (where they work; the other nodes admit root alone), and the directors
 * exempt from OpenSSH's per-source penalties (their health checks and proxied
 * sessions would otherwise lock the front door and the jump host out).
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterPlan, isCompute, NodePlan, rolloutOf } from "../plan";
import { ManagedFile, ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import { render } from "../render";

export const ACCESS_CONF = "/etc/ssh/sshd_config.d/20-thesis-cluster-access.conf";
export const KEYS_DIR = "/etc/ssh/authorized_keys";

/** Sources sshd never penalizes: the directors' internal addresses and the internal VIP. */
export function penaltyExempt(plan: ClusterPlan): string[] {
    return [...plan.directors.map((d) => d.address), plan.networks.internal.vip].map((a) => `${a}/32`);
}

/**
 * Who may log in on a node other than a compute node: root (and the `existing`
 * backend's login user); undefined on compute nodes, where cluster users work.
 */
export function infrastructureLogins(plan: ClusterPlan, node: NodePlan): string[] | undefined {
    if (isCompute(plan, node)) return undefined;
    const user = node.spec.ssh?.user;
    return [...new Set(["root", ...(user ? [user] : [])])];
}

export function sshAccessConf(plan: ClusterPlan, node: NodePlan): string {
    const allow = infrastructureLogins(plan, node);
    return render("ssh/thesis-cluster-access.conf.mustache", {
        name: node.name,
        exempt: penaltyExempt(plan).join(","),
        allowUsers: allow ? { users: allow.join(" ") } : false,
    });
}

/** Each user's managed keys, one file a user with keys, root's and world-readable as sshd wants. */
export function userKeyFiles(plan: ClusterPlan): ManagedFile[] {
    return plan.identity.users
        .filter((u) => u.sshKeys.length > 0)
        .map((u) => ({ path: `${KEYS_DIR}/${u.name}`, content: u.sshKeys.map((k) => k + "\n").join("") }));
}

/** Removes key files of users the config no longer gives keys (on this node). */
function pruneScript(keyFiles: ManagedFile[]): string {
    const keep = keyFiles.map((f) => f.path.slice(KEYS_DIR.length + 1));
    return [
        `install -d -m 755 ${KEYS_DIR}`,
        `for f in ${KEYS_DIR}/*; do [ -e "$f" ] || continue; case " ${keep.join(" ")} " in *" \${f##*/} "*) ;; *) rm -f "$f"; changed=1; echo "removed $f" ;; esac; done`,
    ].join("\n");
}

export class SshAccess extends ServiceComponent {
    public readonly services: Record<string, ManagedService>;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:SshAccess", name, opts);
        const { plan, machines } = args;
        this.services = this.onEach("sshd", plan.nodes, machines, (node) => {
            const keys = isCompute(plan, node) ? userKeyFiles(plan) : [];
            return {
                files: [
                    // sshd -t reads the new file as a whole config: its keywords and values.
                    { path: ACCESS_CONF, content: sshAccessConf(plan, node), validate: "sshd -t -f {}" },
                    ...keys,
                ],
                after: pruneScript(keys),
                // A reload keeps every open session.
                unit: "ssh",
                rollout: rolloutOf(plan, node),
                probes: [
                    {
                        script: `echo "penalty exempt $(sshd -T 2>/dev/null | awk '$1 == "persourcepenaltyexemptlist" {print $2}')"`,
                        expect: `penalty exempt ${penaltyExempt(plan).join(",")}`,
                    },
                ],
            };
        });
        this.registerOutputs({});
    }
}
