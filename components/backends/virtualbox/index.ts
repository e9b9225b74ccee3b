/**
 * The `virtualbox` backend (the `lab` stack): VMs driven through VBoxManage on
 * this host. The internal network is a VirtualBox internal network; the
 * external one a host-only network on which the host holds its address (and
 * reaches the VIP). See docs/backends.md.
 */
import * as ipaddr from "ipaddr.js";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SshKeyPair } from "../../provider";
import { BackendContext, hostNames, MachineBackend } from "../backend";
import * as vbox from "./resources";
import { bootsFromNetwork, seedFiles, userData } from "./seed";

export function virtualboxBackend(ctx: BackendContext): MachineBackend {
    const { cfg, plan, parent } = ctx;
    const names = hostNames(ctx.stack);
    const ext = cfg.networks.external;
    const baseImage = cfg.virtualbox.baseImage ?? path.join(os.homedir(), ".cache", "thesis-cluster", "debian-13-thesis-cluster.vdi");
    const baseFolder = cfg.virtualbox.baseFolder ?? path.join(os.homedir(), "VirtualBox VMs", `thesis-cluster-${names.safe}`);
    const hostOnly = new vbox.HostOnlyNetwork(
        "external-network",
        { hostAddress: ext.hostAddress!, netmask: ipaddr.IPv4.subnetMaskFromPrefixLength(ext.prefix[1]).toString() },
        { parent },
    );
    const intnet = `thesis-cluster-${names.safe}-internal`;
    return {
        // VMs: Debian's own kernel; nothing filters their system calls.
        capabilities: { kernel: "own", grantsSystemCalls: false },
        networks: { internal: { virtualbox: intnet }, external: { virtualbox: hostOnly.interface } },
        machine(node) {
            // The VM's host key is made here and handed to it by cloud-init, so it is pinned from the first login.
            const hostKey = new SshKeyPair(`${node.name}-host-key`, { comment: `root@${node.name}` }, { parent });
            const vm = new vbox.Machine(
                node.name,
                {
                    name: node.name,
                    baseFolder,
                    baseImage,
                    memoryMb: node.spec.memoryMb,
                    cpus: node.spec.cpus,
                    nics: node.nics.map((n) =>
                        n.network === "internal" ? { kind: "intnet", network: intnet, mac: n.mac } : { kind: "hostonly", network: hostOnly.interface, mac: n.mac },
                    ),
                    disks: node.spec.disks,
                    // Network boot from the directors' dnsmasq, when the PXE switch is on.
                    networkBoot: bootsFromNetwork(plan, node),
                    userData: pulumi.secret(
                        pulumi
                            .all([hostKey.privateKey, hostKey.publicKey, ctx.publicKey])
                            .apply(([hostPrivateKey, hostPublicKey, authorizedKey]) => userData(plan, ctx.stack, node, { hostPrivateKey, hostPublicKey, authorizedKey })),
                    ),
                    ...seedFiles(plan, ctx.stack, node),
                },
                { parent, dependsOn: [hostOnly] },
            );
            return { hostKey: hostKey.publicKey, devices: vm.devices, backing: vm };
        },
    };
}
