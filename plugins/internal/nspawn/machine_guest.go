package nspawn

// The files that make a machine itself, written into its root before it
// boots: host name, networkd units, the stack's key and its host key.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"thesis-cluster/plugins/internal/secrets"
)

// ownedElsewhere refuses to create a machine where one of another stack
// lives: the host-side names come from the stack name, so two copies of the
// project with a stack of one name would take each other's machines. A
// machine left by this stack's own interrupted run lets root in with this
// stack's key, and is taken over.
func ownedElsewhere(a MachineArgs) error {
	keys, err := os.ReadFile(filepath.Join(a.paths().upper, "root", ".ssh", "authorized_keys"))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(keys), "\n") {
		for _, k := range a.AuthorizedKeys {
			if sameKey(line, k) {
				return nil
			}
		}
	}
	return fmt.Errorf("machine %s: %s already holds a machine of another stack (its root takes none of this stack's keys); "+
		"is a stack of the same name up from another copy of the project? Destroy that one, or give this stack another name",
		a.Name, a.paths().dir)
}

// sameKey compares two authorized_keys lines by key type and key, not comment.
func sameKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == fb[0] && fa[1] == fb[1]
}

// writeGuestFiles writes what makes the machine itself: host name, the guest
// files the program rendered (its systemd-networkd configuration, as a VM's
// seed carries it), the stack's authorized key and the machine's host key,
// made once.
func writeGuestFiles(a MachineArgs, root string) (string, error) {
	files := map[string]string{"etc/hostname": a.Name + "\n"}
	// A first /etc/hosts only: once services manage it, a repair keeps theirs.
	if !exists(filepath.Join(root, "etc/hosts.thesis-cluster")) {
		files["etc/hosts"] = "127.0.0.1\tlocalhost\n127.0.1.1\t" + a.Name + "\n"
		files["etc/hosts.thesis-cluster"] = "the machine's first /etc/hosts was written\n"
	}
	for _, f := range a.GuestFiles {
		files[strings.TrimPrefix(f.Path, "/")] = f.Content
	}
	files["root/.ssh/authorized_keys"] = strings.Join(a.AuthorizedKeys, "\n") + "\n"
	for rel, content := range files {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "root/.ssh/") {
			mode = 0o600
			if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
				return "", err
			}
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			return "", err
		}
	}
	keyPath := filepath.Join(root, "etc/ssh/ssh_host_ed25519_key")
	if pub, err := os.ReadFile(keyPath + ".pub"); err == nil && exists(keyPath) {
		return strings.TrimSpace(string(pub)), nil
	}
	private, public, err := secrets.NewKeyPair("root@" + a.Name)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(keyPath, []byte(private), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(keyPath+".pub", []byte(public+"\n"), 0o644); err != nil {
		return "", err
	}
	return public, nil
}
