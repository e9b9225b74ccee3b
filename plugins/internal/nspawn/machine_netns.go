package nspawn

// The machine's network namespace and its NICs on the host side.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// hostIf names the host end of a NIC's veth pair: short and unique per
// namespace and NIC (interface names have 15 characters at most).
func hostIf(namespace, nic string) string {
	h := sha256.Sum256([]byte(namespace + "/" + nic))
	return "tc" + hex.EncodeToString(h[:])[:10]
}

// guestNetns is the network namespace of the machine's running init (the
// child of its systemd-nspawn), by /proc path.
func guestNetns(paths machinePaths) (string, bool) {
	pid, ok := runningPid(paths)
	if !ok {
		return "", false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return "", false
	}
	kids := strings.Fields(string(b))
	if len(kids) == 0 {
		return "", false
	}
	return "/proc/" + kids[0] + "/ns/net", true
}

// freshNetns makes the machine's network namespace, named until the machine
// has booted, and one veth pair per NIC: the guest end named as on a VM
// (eth0, …), the host end on the lab bridge. Leftovers of an earlier boot go first.
func freshNetns(ctx context.Context, a MachineArgs) error {
	if exists(a.nsPath()) {
		if _, err := run(ctx, "ip", "netns", "del", a.Namespace); err != nil {
			return err
		}
	}
	for _, n := range a.Nics {
		if err := delLink(ctx, hostIf(a.Namespace, n.Name)); err != nil {
			return err
		}
	}
	if _, err := run(ctx, "ip", "netns", "add", a.Namespace); err != nil {
		return err
	}
	for _, n := range a.Nics {
		if !exists(filepath.Join("/sys/class/net", n.Bridge, "bridge")) {
			return fmt.Errorf("nic %s: bridge %s does not exist", n.Name, n.Bridge)
		}
		host := hostIf(a.Namespace, n.Name)
		peer := []string{"link", "add", host, "type", "veth", "peer", "name", n.Name}
		if n.Mac != "" {
			peer = append(peer, "address", n.Mac)
		}
		if _, err := run(ctx, "ip", append(peer, "netns", a.Namespace)...); err != nil {
			return err
		}
		if _, err := run(ctx, "ip", "link", "set", host, "master", n.Bridge, "up"); err != nil {
			return err
		}
	}
	return nil
}

// delLink removes a host interface. A veth also goes when the kernel tears
// down its peer's namespace, which may happen meanwhile: gone is fine.
func delLink(ctx context.Context, name string) error {
	path := filepath.Join("/sys/class/net", name)
	if !exists(path) {
		return nil
	}
	if _, err := run(ctx, "ip", "link", "del", name); err != nil && exists(path) {
		return err
	}
	return nil
}
