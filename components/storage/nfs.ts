/**
 * The NFS export of thesis section 4.2: the nas exports /home as /nfs to the
 * internal network with nfs-ganesha, from its data disk. Every node mounts it
 * at /nfs where its kernel has an NFS client; where it has none (containers on
 * a kernel without NFS, as this project's local stack) the node says so, and
 * the export is used with the userspace client (nfs-ls, nfs-cp, nfs-cat).
 */
import * as pulumi from "@pulumi/pulumi";
import { ManagedService, ServiceComponent } from "../converge";
import { ServiceArgs } from "../machines";
import type { ClusterPlan } from "../plan";
import { render } from "../render";
import { enableUnits, formatXfsOnce, fstabRemove, fstabSet, q } from "../shell";
import { mountUnit } from "./gluster";

export const EXPORT_PATH = "/home";

/**
 * What the NFS server needs of the machine it runs on: nfs-ganesha's VFS
 * backend opens files by handle, which systemd-nspawn's default system call
 * filter denies. The machine layer asks for these where the nas runs.
 */
export const SERVER_SYSTEM_CALLS = ["open_by_handle_at", "name_to_handle_at"];
export const PSEUDO = "/nfs";

export function ganeshaConf(plan: ClusterPlan): string {
    return render("nfs/ganesha.conf.mustache", {
        name: plan.nas.name,
        path: EXPORT_PATH,
        pseudo: PSEUDO,
        squash: plan.storage.nfsRootSquash ? "Root_Squash" : "No_Root_Squash",
        clients: plan.networks.internal.cidr,
    });
}

/** The fstab line of the kernel mount of the export. */
const clientLine = (server: string) => `${server}:${PSEUDO} ${PSEUDO} nfs4 defaults,_netdev 0 0`;

/**
 * A node's client step: a kernel mount where the kernel has an NFS client.
 * Without one, a VM (`strict`: its backend runs Debian's own kernel) is
 * broken and the step fails; a container or a host the project did not make
 * reports it, and the export is used with the userspace client.
 */
export function clientScript(server: string, strict: boolean): string {
    return [
        "if grep -qw nfs4 /proc/filesystems || modprobe -q nfs4 2>/dev/null; then",
        `  mkdir -p ${PSEUDO}`,
        `  ${fstabSet(PSEUDO, clientLine(server))}`,
        `  mountpoint -q ${PSEUDO} || mount ${PSEUDO}`,
        `  echo "kernel mount of ${server}:${PSEUDO} at ${PSEUDO}"`,
        "else",
        strict
            ? `  echo "no NFS client in this kernel: ${PSEUDO} cannot be mounted (this backend's guests run Debian's kernel, which has one)" >&2; exit 1`
            : `  echo "no NFS client in this kernel: ${PSEUDO} is not mounted; use the userspace client, e.g. nfs-ls 'nfs://${server}${PSEUDO}?version=4'"`,
        "fi",
    ].join("\n");
}

/** The client step's check: one line, "/nfs as planned" when the node is as the step leaves it for its kernel. */
export function clientProbe(server: string, strict: boolean): { script: string; expect: string } {
    const ok = `echo "${PSEUDO} as planned"`;
    return {
        script: [
            "if grep -qw nfs4 /proc/filesystems; then",
            `  if ! grep -qxF ${q(clientLine(server))} /etc/fstab; then echo "${PSEUDO} not in fstab"; elif ! mountpoint -q ${PSEUDO}; then echo "${PSEUDO} not mounted"; else ${ok}; fi`,
            `else ${strict ? `echo "${PSEUDO}: no kernel NFS client"` : ok}; fi`,
        ].join("\n"),
        expect: `${PSEUDO} as planned`,
    };
}

export class NfsExport extends ServiceComponent {
    public readonly server: ManagedService;
    /** Node → how it reaches the export (kernel mount, or why not). */
    public readonly clients: Record<string, pulumi.Output<string>> = {};
    /** server:/nfs */
    public readonly export: string;

    constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("thesis-cluster:index:NfsExport", name, opts);
        const { plan, machines } = args;
        const nas = plan.nas;
        const server = nas.address;
        const hasDisk = nas.spec.disks.length > 0;
        // The data disk by the name the nas' backend gave it.
        const dev = hasDisk ? machines[nas.name].device(0) : pulumi.output("");
        const unit = mountUnit(EXPORT_PATH);
        this.server = this.step(
            `nfs-server-${nas.name}`,
            {
                machine: machines[nas.name],
                before: hasDisk ? dev.apply((d) => formatXfsOnce(d)) : undefined,
                files: [
                    ...(hasDisk ? [{ path: `/etc/systemd/system/${unit}`, content: dev.apply((d) => render("nfs/home.mount.mustache", { device: d, dir: EXPORT_PATH })) }] : []),
                    { path: "/etc/ganesha/ganesha.conf", content: ganeshaConf(plan) },
                ],
                after: hasDisk ? `systemctl daemon-reload\n${enableUnits([unit])}\nmountpoint -q ${EXPORT_PATH} || { systemctl start ${unit}; echo "mounted ${EXPORT_PATH}"; }\nchmod 755 ${EXPORT_PATH}` : undefined,
                unit: "nfs-ganesha",
                onChange: "restart",
                probes: [
                    ...(hasDisk ? [{ script: `echo "${EXPORT_PATH} $(findmnt -n -o FSTYPE,SOURCE ${EXPORT_PATH} | tr -s ' ')"`, expect: pulumi.interpolate`${EXPORT_PATH} xfs ${dev}` }] : []),
                    { script: `for _ in $(seq 50); do ss -ltnH 'sport = :2049' | grep -q . && break; sleep 0.1; done; echo "nfs port 2049 $(ss -ltnH 'sport = :2049' | grep -q . && echo listening || echo closed)"`, expect: "nfs port 2049 listening" },
                ],
            },
        );
        const clients = this.onEach(
            "nfs-client",
            plan.nodes,
            machines,
            (node) => {
                const strict = machines[node.name].capabilities.kernel === "own";
                return { files: [], after: clientScript(server, strict), probes: [clientProbe(server, strict)], onDelete: fstabRemove(PSEUDO) };
            },
            [this.server],
        );
        for (const [node, step] of Object.entries(clients)) this.clients[node] = step.log.apply((s) => (s ?? "").trim());
        this.export = `${server}:${PSEUDO}`;
        this.registerOutputs({ export: this.export });
    }
}
