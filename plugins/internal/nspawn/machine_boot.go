package nspawn

// Booting a machine with systemd-nspawn, waiting for its sshd, and
// stopping it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
)

// nspawnArgs is the systemd-nspawn command line of a machine.
func nspawnArgs(a MachineArgs, root string, loops []string) []string {
	args := []string{
		"--quiet", "--boot", "--directory=" + root, "--machine=" + a.Name,
		"--register=no", "--keep-unit", "--console=passive",
		"--network-namespace-path=" + a.nsPath(),
		// Joining a namespace drops these unless asked for: keepalived needs
		// them to move a VIP, as on a VM.
		"--capability=CAP_NET_ADMIN,CAP_NET_RAW",
		"--resolv-conf=off", "--link-journal=no", "--timezone=off",
		"--bind=/dev/fuse",
	}
	for i, l := range loops {
		args = append(args, "--bind="+l+":"+deviceName(i))
	}
	if len(a.SystemCallFilter) > 0 {
		args = append(args, "--system-call-filter="+strings.Join(a.SystemCallFilter, " "))
	}
	return args
}

// startLine marks each boot in the machine's console log.
func startLine(t time.Time) string { return "--- " + t.UTC().Format(time.RFC3339) + ": starting" }

// isStartLine tells a boot's mark (startLine) from what the machine printed.
func isStartLine(l string) bool {
	return strings.HasPrefix(l, "--- ") && strings.HasSuffix(l, ": starting")
}

// start boots the machine detached (own session, no terminal), so it outlives
// the pulumi process; its pid goes to the pid file, its console to a log.
func start(a MachineArgs, paths machinePaths, loops []string) error {
	logFile, err := os.OpenFile(paths.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintln(logFile, startLine(time.Now()))
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devNull.Close()
	cgroups, err := machineCgroups(a.Namespace)
	if err != nil {
		return err
	}
	// The shell joins the machine's cgroups, then becomes systemd-nspawn.
	join := `for d in $TC_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 1; done; exec systemd-nspawn "$@"`
	cmd := exec.Command("sh", append([]string{"-c", join, "systemd-nspawn"}, nspawnArgs(a, paths.root, loops)...)...)
	cmd.Env = append(os.Environ(), "TC_CGROUPS="+strings.Join(cgroups, " "),
		// /proc/sys/net writable: the namespace is the machine's own, and its
		// services set their sysctls themselves (ip_forward, ip_nonlocal_bind).
		"SYSTEMD_NSPAWN_API_VFS_WRITABLE=network")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("systemd-nspawn: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reap it if it ends while this provider runs
	pid := cmd.Process.Pid
	if err := os.WriteFile(paths.pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	// Until exec completes, /proc/PID shows this provider's command line.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if processBoots(pid, paths.root) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("systemd-nspawn for %s exited at once; console log %s:\n%s", a.Name, paths.log, tail(paths.log, 15))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("systemd-nspawn for %s did not start within 5 seconds", a.Name)
}

// runningPid returns the machine's systemd-nspawn pid when that process is
// alive and is the one booting this machine's root.
func runningPid(paths machinePaths) (int, bool) {
	b, err := os.ReadFile(paths.pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, processBoots(pid, paths.root)
}

func processBoots(pid int, root string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if _, state, ok := procStat(pid); ok && state == 'Z' {
		return false // exited, not yet reaped
	}
	return strings.Contains(string(cmdline), "--directory="+root+"\x00")
}

// waitForSSH waits until sshd greets on the machine's first address, probed
// from inside the machine's namespace.
func waitForSSH(ctx context.Context, a MachineArgs, paths machinePaths) error {
	addr := a.sshAddress()
	if addr == "" {
		return nil
	}
	log := p.GetLogger(ctx)
	deadline := time.Now().Add(4 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		if _, ok := runningPid(paths); !ok {
			console := tail(paths.log, 15)
			err := fmt.Errorf("machine %s stopped while booting%s; console log %s:\n%s", a.Name, bootHint(console), paths.log, console)
			if lines := strings.Split(console, "\n"); isStartLine(lines[len(lines)-1]) {
				return &silentStopError{err}
			}
			return err
		}
		if ns, ok := guestNetns(paths); !ok {
			last = errors.New("the machine's init has not started yet")
		} else if _, err := sshBanner(ns, addr); err == nil {
			return nil
		} else {
			last = err
		}
		log.InfoStatusf("waiting for sshd on %s", addr)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("machine %s: sshd on %s did not answer within 4 minutes (%v); console log %s", a.Name, addr, last, paths.log)
}

// bootHint names the host limit behind a known boot failure. Every machine's
// systemd takes about ten inotify instances, all counted against root's
// fs.inotify.max_user_instances (128 on a stock kernel: about a dozen machines).
func bootHint(console string) string {
	if !strings.Contains(console, "Too many open files") {
		return ""
	}
	limit, _ := os.ReadFile("/proc/sys/fs/inotify/max_user_instances")
	return fmt.Sprintf(": the host ran out of inotify instances (fs.inotify.max_user_instances = %s); "+
		"raise it, e.g. sysctl -w fs.inotify.max_user_instances=1024 (scripts/prereqs does)", strings.TrimSpace(string(limit)))
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop asks the machine to halt (first SIGTERM), insists 0.2 s later (a second
// SIGTERM makes systemd-nspawn end the guest at once), and kills it as a last resort;
// it returns once the process has ended, not merely let go of its command line.
func stop(ctx context.Context, pid int, root string) error {
	nspawn, ok := procOf(pid)
	if !ok {
		return nil
	}
	gone := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			if !processBoots(pid, root) {
				return true
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(200 * time.Millisecond):
			}
		}
		return !processBoots(pid, root)
	}
	// The machine goes with its root and disks: nothing gains from its services
	// stopping one by one (11-12 s for a compute or SAN node, and a guest that
	// did not begin its halt within 10 s was seen). A second SIGTERM makes
	// systemd-nspawn end the guest at once; it still cleans up as it exits.
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if !gone(200 * time.Millisecond) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		if !gone(10*time.Second) && nspawn.state() == "running" {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return waitEnded(ctx, []proc{nspawn}, 10*time.Second)
}

// killGuest kills every process left in the machine's network namespace or
// cgroups (a guest that outlived its systemd-nspawn) and waits until they
// have ended: a process leaves its cgroup as it starts exiting, before it is gone.
func killGuest(ctx context.Context, a MachineArgs) error {
	seen := map[proc]bool{}
	for deadline := time.Now().Add(10 * time.Second); ; {
		pids := cgroupPids(a.Namespace)
		if exists(a.nsPath()) {
			out, err := run(ctx, "ip", "netns", "pids", a.Namespace)
			if err != nil {
				return err
			}
			pids = append(pids, strings.Fields(out)...)
		}
		if len(pids) == 0 {
			procs := make([]proc, 0, len(seen))
			for p := range seen {
				procs = append(procs, p)
			}
			if err := waitEnded(ctx, procs, 10*time.Second); err != nil {
				return fmt.Errorf("machine %s: %w", a.Name, err)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("machine %s: processes %v do not end", a.Name, pids)
		}
		for _, s := range pids {
			if pid, err := strconv.Atoi(s); err == nil {
				if p, ok := procOf(pid); ok {
					seen[p] = true
				}
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// silentStopError: systemd-nspawn ended while the machine booted without
// printing a word (seen once in many boots, with ten machines starting at
// once; the cause is not known). Booting it once more is worth a try.
type silentStopError struct{ err error }

func (e *silentStopError) Error() string { return e.err.Error() }
func (e *silentStopError) Unwrap() error { return e.err }
