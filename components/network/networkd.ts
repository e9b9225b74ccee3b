/**
 * A machine's own NIC configuration for systemd-networkd, rendered once from
 * files/network/eth.network.mustache for every backend: the VirtualBox VMs get
 * it through their cloud-init seed, the nspawn machines as guest files the
 * provider writes into their root before they boot.
 */
import { render } from "../render";

/** What networkd needs of a NIC: its name in the guest, and its address and gateway if it has them. */
export interface NetworkdNic {
    name: string;
    address?: string;
    gateway?: string;
}

/** A NIC's systemd-networkd file. */
export function networkdUnit(nic: NetworkdNic): string {
    return render("network/eth.network.mustache", { name: nic.name, address: nic.address, gateway: nic.gateway });
}

/** Every NIC's file at its place in the guest. */
export function networkdFiles(nics: NetworkdNic[]): { path: string; content: string }[] {
    return nics.map((n) => ({ path: `/etc/systemd/network/10-${n.name}.network`, content: networkdUnit(n) }));
}
