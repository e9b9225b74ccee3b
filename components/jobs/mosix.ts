/**
 * MOSIX (thesis section 4.6.2), optional: it is not redistributable, so it is
 * installed only from a tarball the user names in `thesis-cluster:mosix.tarball`.
 * The tarball is copied to each MOSIX node, unpacked and installed once per
 * tarball with its own installer, run with no terminal; the answers the thesis
 * typed into the installer's menu (the nodes of the cluster, the shared secret)
 * are written as MOSIX's configuration files instead: /etc/mosix/mosix.map and
 * /etc/mosix/secret, the secret generated and kept as a Pulumi secret.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent, sha256File } from "../converge";
import { ServiceArgs } from "../machines";
import { ClusterPlan, rolloutOf } from "../plan";
import { RandomSecret } from "../provider";
import { q } from "../shell";

export const MAP_PATH = "/etc/mosix/mosix.map";
export const SECRET_PATH = "/etc/mosix/secret";
export const INSTALL_DIR = "/var/lib/thesis-cluster/mosix";

/** The cluster's nodes as MOSIX sees them: one "address count" line each. */
export function mosixMap(plan: ClusterPlan): string {
    const lines = plan.mosix.members.map((n) => `${n.address} 1`);
    return `# Managed by thesis-cluster (Pulumi): the MOSIX cluster, one node a line.\n${lines.join("\n")}\n`;
}

/** Unpacks and installs the tarball, once per tarball (its hash names the directory). */
export function installScript(tarball: string, installCommand: string, tarballHash: string): string {
    const dir = `${INSTALL_DIR}/${tarballHash.slice(0, 16)}`;
    const upload = `${INSTALL_DIR}/${path.basename(tarball)}`;
    return [
        `if [ ! -f ${dir}/.installed ]; then`,
        `  rm -rf ${dir} && mkdir -p ${dir}`,
        `  tar -xf ${q(upload)} -C ${dir}`,
        // The installer sits at the top of the tarball or in its one top directory.
        `  top=$(find ${dir} -maxdepth 2 -name mosix.install -printf '%h\\n' | head -1); top=\${top:-${dir}}`,
        `  (cd "$top" && ${installCommand} </dev/null) || { echo "the MOSIX installer (${installCommand.replace(/["$`\\]/g, "\\$&")}) failed in $top" >&2; exit 1; }`,
        `  touch ${dir}/.installed; changed=1; echo "installed MOSIX from ${path.basename(tarball)}"`,
        "fi",
    ].join("\n");
}

export class Mosix extends ServiceComponent {
    public readonly services: Record<string, ManagedService> = {};
    /** What the stack outputs: the MOSIX nodes, or why MOSIX is off. */
    public readonly status: { enabled: boolean; nodes: string[]; note: string };

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:Mosix", name, opts);
        const { plan, machines } = args;
        const tarball = plan.mosix.tarball;
        if (tarball === undefined) {
            this.status = { enabled: false, nodes: [], note: "off: thesis-cluster:mosix.tarball is not set (MOSIX is not redistributable; see README)" };
            this.registerOutputs({});
            return;
        }
        const hash = sha256File(tarball);
        const secret = new RandomSecret(`${name}-secret`, { length: 32 }, { parent: this });
        this.services = this.onEach("mosix", plan.mosix.members, machines, (node) => ({
            rollout: rolloutOf(plan, node),
            uploads: [{ source: tarball, path: `${INSTALL_DIR}/${path.basename(tarball)}` }],
            before: installScript(tarball, plan.mosix.installCommand, hash),
            files: [
                { path: MAP_PATH, content: mosixMap(plan) },
                { path: SECRET_PATH, content: pulumi.interpolate`${secret.value}\n`, mode: "600", secret: true },
            ],
            unit: plan.mosix.service,
            onChange: "restart",
        }));
        this.status = { enabled: true, nodes: plan.mosix.members.map((n) => n.name), note: `installed from ${path.basename(tarball)} (sha256 ${hash.slice(0, 16)})` };
        this.registerOutputs({});
    }
}
