package nspawn

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseCgroupMountsHybridAndUnified(t *testing.T) {
	hybrid := `25 20 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 25 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
35 25 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	got, err := parseCgroupMounts(strings.NewReader(hybrid))
	if err != nil || strings.Join(got, " ") != "/sys/fs/cgroup/systemd /sys/fs/cgroup/unified" {
		t.Fatalf("hybrid: %v %v", got, err)
	}
	unified := "30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
	got, _ = parseCgroupMounts(strings.NewReader(unified))
	if strings.Join(got, " ") != "/sys/fs/cgroup" {
		t.Fatalf("unified: %v", got)
	}
}

func TestGuestFilesStayUnderEtc(t *testing.T) {
	base := MachineArgs{Name: "n1", Namespace: "tc-n1", Image: "/img", StateDir: "/state", Nics: []Nic{{Name: "eth0", Bridge: "br"}}}
	for _, p := range []string{"/etc/systemd/network/10-eth0.network", "/etc/x"} {
		a := base
		a.GuestFiles = []GuestFile{{Path: p, Content: "x"}}
		if err := a.validate(false); err != nil {
			t.Errorf("%s refused: %v", p, err)
		}
	}
	for _, p := range []string{"etc/x", "/root/.ssh/authorized_keys", "/etc/../root/x", "/etc//x"} {
		a := base
		a.GuestFiles = []GuestFile{{Path: p, Content: "x"}}
		if err := a.validate(false); err == nil || !strings.Contains(err.Error(), "guestFiles[0].path") {
			t.Errorf("%s accepted (%v)", p, err)
		}
	}
}

func TestHostIfNamesAreShortAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, ns := range []string{"tc-local-nas", "tc-a-very-long-stack-name-nas"} {
		for _, nic := range []string{"eth0", "eth1"} {
			n := hostIf(ns, nic)
			if len(n) > 15 || seen[n] {
				t.Fatalf("interface name %q (len %d, seen %v)", n, len(n), seen[n])
			}
			seen[n] = true
		}
	}
}

func TestNspawnArgs(t *testing.T) {
	a := MachineArgs{Name: "nas", Namespace: "tc-local-nas", SystemCallFilter: []string{"open_by_handle_at", "name_to_handle_at"}}
	args := strings.Join(nspawnArgs(a, "/state/machines/nas/root", []string{"/dev/loop3", "/dev/loop4"}), " ")
	for _, want := range []string{
		"--boot", "--register=no", "--keep-unit", "--directory=/state/machines/nas/root",
		"--network-namespace-path=/run/netns/tc-local-nas", "--capability=CAP_NET_ADMIN,CAP_NET_RAW",
		"--bind=/dev/fuse", "--bind=/dev/loop3:/dev/sdb", "--bind=/dev/loop4:/dev/sdc",
		"--system-call-filter=open_by_handle_at name_to_handle_at",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("missing %q in %s", want, args)
		}
	}
}

func TestMachineArgsValidate(t *testing.T) {
	good := MachineArgs{
		Name: "cluster2", Namespace: "tc-local-cluster2", Image: "/img/rootfs", StateDir: "/var/lib/x",
		Nics: []Nic{{Name: "eth0", Bridge: "tc-local-in", Address: "10.0.100.2/24"}}, AuthorizedKeys: []string{"k"},
	}
	if err := good.validate(false); err != nil {
		t.Fatal(err)
	}
	preview := good
	preview.Image = "" // computed by the BaseImage, unknown in a preview
	if err := preview.validate(true); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if err := preview.validate(false); err == nil {
		t.Fatal("an empty image path must be refused outside a preview")
	}
	for name, edit := range map[string]func(*MachineArgs){
		"bad name":    func(m *MachineArgs) { m.Name = "Cluster_2" },
		"no nics":     func(m *MachineArgs) { m.Nics = nil },
		"bad address": func(m *MachineArgs) { m.Nics = []Nic{{Name: "eth0", Bridge: "b", Address: "10.0.100.2"}} },
		"nic name":    func(m *MachineArgs) { m.Nics = []Nic{{Name: "enp1s0", Bridge: "b"}} },
		"disk size":   func(m *MachineArgs) { m.Disks = []Disk{{SizeMb: 0}} },
		"multicast":   func(m *MachineArgs) { m.Nics = []Nic{{Name: "eth0", Bridge: "b", Mac: "01:00:5e:00:00:01"}} },
	} {
		m := good
		edit(&m)
		if err := m.validate(false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBootHintNamesTheInotifyLimit(t *testing.T) {
	console := "Failed to create control group inotify object: Too many open files\nFailed to allocate manager object: Too many open files"
	if got := bootHint(console); !strings.Contains(got, "fs.inotify.max_user_instances = ") || !strings.Contains(got, "sysctl -w") {
		t.Errorf("bootHint(out of inotify instances) = %q", got)
	}
	if got := bootHint("Failed to mount /sys: Permission denied"); got != "" {
		t.Errorf("bootHint(other failure) = %q, want nothing", got)
	}
}

func TestOwnedElsewhere(t *testing.T) {
	dir := t.TempDir()
	a := MachineArgs{Name: "cluster1", StateDir: dir, AuthorizedKeys: []string{"ssh-ed25519 AAAAmine thesis-cluster-local"}}
	if err := ownedElsewhere(a); err != nil {
		t.Fatalf("nothing on the host yet: %v", err)
	}
	keys := filepath.Join(a.paths().upper, "root", ".ssh", "authorized_keys")
	if err := os.MkdirAll(filepath.Dir(keys), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(keys, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ssh-ed25519 AAAAmine another-comment\n")
	if err := ownedElsewhere(a); err != nil {
		t.Errorf("this stack's own machine, left by an interrupted run: %v", err)
	}
	write("ssh-ed25519 AAAAtheirs thesis-cluster-local\n")
	err := ownedElsewhere(a)
	if err == nil || !strings.Contains(err.Error(), "another stack") || !strings.Contains(err.Error(), a.paths().dir) {
		t.Errorf("another stack's machine: got %v", err)
	}
}

func TestASilentStopIsToldApart(t *testing.T) {
	dir := t.TempDir()
	a := MachineArgs{Name: "n1", StateDir: dir, Nics: []Nic{{Name: "eth0", Bridge: "br", Address: "10.0.100.3/24"}}}
	paths := a.paths()
	if err := os.MkdirAll(paths.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// No pid file: the machine is not running.
	for _, c := range []struct {
		console string
		silent  bool
	}{
		{startLine(time.Date(2026, 12, 3, 11, 22, 36, 0, time.UTC)) + "\n", true},
		{startLine(time.Date(2026, 12, 3, 11, 22, 36, 0, time.UTC)) + "\nFailed to allocate manager object: Too many open files\n", false},
	} {
		if err := os.WriteFile(paths.log, []byte(c.console), 0o644); err != nil {
			t.Fatal(err)
		}
		err := waitForSSH(context.Background(), a, paths)
		var silent *silentStopError
		if err == nil || errors.As(err, &silent) != c.silent {
			t.Errorf("console %q: got %v, silent stop %v", c.console, err, c.silent)
		}
	}
}
