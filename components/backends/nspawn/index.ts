/**
 * The `nspawn` backend (the `local` stack): systemd-nspawn machines on this
 * host, booted from one cached Debian image, on bridges the stack makes. See
 * docs/local-backend.md.
 */
import * as fs from "fs";
import * as path from "path";
import { NETWORKS } from "../../config";
import { networkdFiles } from "../../network/networkd";
import { FILES_DIR } from "../../render";
import { BackendContext, hostNames, MachineBackend } from "../backend";
import * as nspawn from "./resources";

/** Debian release of the machines. */
export const SUITE = "trixie";

/** The one package list of the base image (files/base-image/packages.txt). */
export function basePackages(): string[] {
    return fs
        .readFileSync(path.join(FILES_DIR, "base-image", "packages.txt"), "utf8")
        .split("\n")
        .map((l) => l.replace(/#.*/, "").trim())
        .filter((l) => l !== "");
}

export function nspawnBackend(ctx: BackendContext): MachineBackend {
    const { cfg, parent } = ctx;
    const names = hostNames(ctx.stack);
    const image = new nspawn.BaseImage(
        "base-image",
        {
            suite: SUITE,
            packages: basePackages(),
            script: fs.readFileSync(path.join(FILES_DIR, "base-image", "build.sh"), "utf8"),
            cacheDir: cfg.imageCacheDir,
        },
        { parent },
    );
    const bridges = NETWORKS.map(
        (net) =>
            new nspawn.Network(
                `${net}-network`,
                { bridge: names.bridge(net), cidr: cfg.networks[net].cidr, hostAddress: cfg.networks[net].hostAddress },
                { parent },
            ),
    );
    return {
        // Containers: this host's kernel, and systemd-nspawn's system call filter.
        capabilities: { kernel: "host", grantsSystemCalls: true },
        networks: { internal: { bridge: names.bridge("internal") }, external: { bridge: names.bridge("external") } },
        machine(node, needs) {
            const vm = new nspawn.Machine(
                node.name,
                {
                    name: node.name,
                    namespace: names.namespace(node.name),
                    image: image.path,
                    stateDir: names.stateDir,
                    nics: node.nics.map((n) => ({ name: n.name, bridge: names.bridge(n.network), address: n.address, gateway: n.gateway, mac: n.mac })),
                    disks: node.spec.disks,
                    // The same networkd files the VMs get through their seed.
                    guestFiles: networkdFiles(node.nics),
                    authorizedKeys: [ctx.publicKey],
                    systemCallFilter: needs.systemCalls.length > 0 ? needs.systemCalls : undefined,
                },
                { parent, dependsOn: bridges },
            );
            return { hostKey: vm.hostKey, devices: vm.devices, backing: vm };
        },
    };
}
