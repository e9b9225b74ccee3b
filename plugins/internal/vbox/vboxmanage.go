// Package vbox drives VirtualBox 7 through its command line, VBoxManage (no
// Pulumi VirtualBox provider exists): host-only networks for the cluster's
// external network, and the cluster's VMs with their disks, NICs and a
// cloud-init seed. Every VBoxManage call goes through one function, so the
// tests pin the exact command lines with a recorder placed on PATH.
package vbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Program is the VBoxManage executable, looked up on PATH.
const Program = "VBoxManage"

// MinMajor is the oldest VirtualBox major version this backend speaks to.
const MinMajor = 7

// vboxmanage runs VBoxManage with args and returns its stdout; the error names
// the command line and carries VBoxManage's message.
func vboxmanage(ctx context.Context, args ...string) (string, error) {
	path, err := exec.LookPath(Program)
	if err != nil {
		return "", errors.New("VBoxManage is not on PATH: the virtualbox backend needs VirtualBox 7 " +
			"installed on the machine running Pulumi (https://www.virtualbox.org/wiki/Linux_Downloads)")
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("VBoxManage %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// checkVersion fails unless VBoxManage is present and at least MinMajor.
func checkVersion(ctx context.Context) error {
	out, err := vboxmanage(ctx, "--version")
	if err != nil {
		return err
	}
	v := strings.TrimSpace(out)
	m := versionRe.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("VBoxManage --version printed %q, not a version", v)
	}
	if major, _ := strconv.Atoi(m[1]); major < MinMajor {
		return fmt.Errorf("VirtualBox %s is too old: the virtualbox backend needs VirtualBox %d or newer", v, MinMajor)
	}
	return nil
}

// machineReadable parses `showvminfo --machinereadable` style output:
// key="value" or key=value lines.
func machineReadable(out string) map[string]string {
	info := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.Trim(k, `"`)
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		info[k] = v
	}
	return info
}

// records parses `VBoxManage list ...` output: blocks of "Key: value" lines
// separated by blank lines.
func records(out string) []map[string]string {
	var all []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				all = append(all, cur)
				cur = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if len(cur) > 0 {
		all = append(all, cur)
	}
	return all
}
