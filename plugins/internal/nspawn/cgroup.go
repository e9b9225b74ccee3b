package nspawn

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Each machine runs in cgroups of its own. systemd-nspawn --keep-unit makes
// the cgroup it starts in the guest's root cgroup; started from one shared
// cgroup, every guest's systemd would see (and stop, and kill) the other
// guests' units: stopping ssh.service on one machine would stop sshd on all.

// cgroupMounts lists the hierarchies systemd uses: the cgroup2 (unified)
// mount and, on a hybrid host, the name=systemd v1 hierarchy.
func cgroupMounts() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := parseCgroupMounts(f)
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("no cgroup2 or name=systemd cgroup hierarchy is mounted on this host")
	}
	return out, err
}

// parseCgroupMounts reads mountinfo lines:
// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
func parseCgroupMounts(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, fl := range fields {
			if fl == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || sep+3 >= len(fields) {
			continue
		}
		fstype, super := fields[sep+1], fields[sep+3]
		mountPoint := unescapeMount(fields[4])
		if fstype == "cgroup2" || fstype == "cgroup" && containsOption(super, "name=systemd") {
			out = append(out, mountPoint)
		}
	}
	return out, sc.Err()
}

func containsOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// machineCgroups returns (and creates) the machine's cgroup directory in
// each hierarchy: <mount>/thesis-cluster/<namespace>.
func machineCgroups(namespace string) ([]string, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, m := range mounts {
		d := filepath.Join(m, "thesis-cluster", namespace)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup for %s: %w", namespace, err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// cgroupPids lists the processes in a machine's cgroups, nested ones included.
func cgroupPids(namespace string) []string {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range mounts {
		root := filepath.Join(m, "thesis-cluster", namespace)
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(path)
			for _, pid := range strings.Fields(string(b)) {
				if !seen[pid] {
					seen[pid] = true
					out = append(out, pid)
				}
			}
			return nil
		})
	}
	return out
}

// removeCgroups removes a machine's (empty) cgroups, deepest first, and the
// project's parent directory when it is left empty.
func removeCgroups(namespace string) error {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil
	}
	var errs []string
	for _, m := range mounts {
		root := filepath.Join(m, "thesis-cluster", namespace)
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err.Error())
			}
		}
		_ = os.Remove(filepath.Join(m, "thesis-cluster"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing cgroups of %s: %s", namespace, strings.Join(errs, "; "))
	}
	return nil
}
