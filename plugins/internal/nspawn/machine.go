package nspawn

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"thesis-cluster/plugins/internal/inputs"
	"thesis-cluster/plugins/internal/secrets"
)

// Machine is a Debian machine booted with systemd-nspawn: its own overlay
// root on the base image, network namespace with NICs on the lab bridges,
// extra disks as loop devices, and sshd reachable with the stack's key.
type Machine struct{}

// Nic is one network interface of a machine.
type Nic struct {
	// Name inside the machine (eth0, eth1, ...).
	Name string `pulumi:"name"`
	// Bridge is the lab network's bridge on the host.
	Bridge string `pulumi:"bridge"`
	// Address with prefix length, e.g. 10.0.100.1/24; none leaves the NIC unconfigured.
	Address string `pulumi:"address,optional"`
	// Gateway is the default route through this NIC, if any.
	Gateway string `pulumi:"gateway,optional"`
	// Mac is the NIC's hardware address, fixed so DHCP leases can name it.
	Mac string `pulumi:"mac,optional"`
}

// Disk is an extra disk, a sparse file on the host seen by the guest as /dev/sdX.
type Disk struct {
	SizeMb int `pulumi:"sizeMb"`
}

// MachineArgs are the inputs of a Machine.
type MachineArgs struct {
	// Name is the machine's host name.
	Name string `pulumi:"name"`
	// Namespace names the machine's network namespace; unique on the host.
	Namespace string `pulumi:"namespace"`
	// Image is the base image's root filesystem (the overlay's lower layer).
	Image string `pulumi:"image"`
	// StateDir holds the stack's host-side state; the machine lives in
	// StateDir/machines/Name.
	StateDir       string   `pulumi:"stateDir"`
	Nics           []Nic    `pulumi:"nics"`
	Disks          []Disk   `pulumi:"disks,optional"`
	AuthorizedKeys []string `pulumi:"authorizedKeys"`
	// SystemCallFilter adds system calls to systemd-nspawn's allow list.
	SystemCallFilter []string `pulumi:"systemCallFilter,optional"`
}

// MachineState is what Pulumi keeps of a Machine.
type MachineState struct {
	MachineArgs
	// HostKey is the machine's SSH host key (authorized_keys format), to pin.
	HostKey string `pulumi:"hostKey"`
	// Devices are the extra disks' names inside the machine, in order.
	Devices []string `pulumi:"devices"`
	// Running is true when the machine's systemd-nspawn process is alive.
	Running bool `pulumi:"running"`
}

// Annotate documents the resource.
func (m *Machine) Annotate(a infer.Annotator) {
	a.Describe(m, "A Debian machine booted with systemd-nspawn on the base image, "+
		"with its own network namespace, NICs on the lab bridges and extra disks.")
}

type machinePaths struct {
	dir, upper, work, root, pidFile, log, disks string
}

func (a MachineArgs) paths() machinePaths {
	dir := filepath.Join(a.StateDir, "machines", a.Name)
	return machinePaths{
		dir:     dir,
		upper:   filepath.Join(dir, "upper"),
		work:    filepath.Join(dir, "work"),
		root:    filepath.Join(dir, "root"),
		pidFile: filepath.Join(dir, "nspawn.pid"),
		log:     filepath.Join(dir, "console.log"),
		disks:   filepath.Join(dir, "disks"),
	}
}

func (a MachineArgs) nsPath() string { return filepath.Join("/run/netns", a.Namespace) }

// hostIf names the host end of a NIC's veth pair: short and unique per
// namespace and NIC (interface names have 15 characters at most).
func hostIf(namespace, nic string) string {
	h := sha256.Sum256([]byte(namespace + "/" + nic))
	return "tc" + hex.EncodeToString(h[:])[:10]
}

// deviceName is the guest's name of the i-th extra disk: /dev/sdb, /dev/sdc, …
func deviceName(i int) string { return "/dev/sd" + string(rune('b'+i)) }

// validate checks the inputs; in a preview, values other resources compute
// (the image path) arrive empty and are not checked.
func (a MachineArgs) validate(dryRun bool) error {
	if !validName(a.Name) {
		return fmt.Errorf("name: %q is not a host name", a.Name)
	}
	if !validName(a.Namespace) {
		return fmt.Errorf("namespace: %q is not a valid namespace name", a.Namespace)
	}
	if (!filepath.IsAbs(a.Image) && !(dryRun && a.Image == "")) || !filepath.IsAbs(a.StateDir) {
		return fmt.Errorf("image %q and stateDir %q must be absolute paths", a.Image, a.StateDir)
	}
	if len(a.Nics) == 0 {
		return errors.New("nics: a machine needs at least one NIC")
	}
	for i, n := range a.Nics {
		if !strings.HasPrefix(n.Name, "eth") || n.Bridge == "" {
			return fmt.Errorf("nics[%d]: name %q bridge %q: names are ethN and a bridge is required", i, n.Name, n.Bridge)
		}
		if n.Address != "" {
			if _, err := netip.ParsePrefix(n.Address); err != nil {
				return fmt.Errorf("nics[%d].address: %q: %w", i, n.Address, err)
			}
		}
		if n.Gateway != "" {
			if _, err := netip.ParseAddr(n.Gateway); err != nil {
				return fmt.Errorf("nics[%d].gateway: %q: %w", i, n.Gateway, err)
			}
		}
		if n.Mac != "" {
			if hw, err := net.ParseMAC(n.Mac); err != nil || len(hw) != 6 || hw[0]&1 == 1 {
				return fmt.Errorf("nics[%d].mac: %q is not a unicast Ethernet address", i, n.Mac)
			}
		}
	}
	if len(a.Disks) > 8 {
		return fmt.Errorf("disks: %d extra disks, 8 at most", len(a.Disks))
	}
	for i, d := range a.Disks {
		if d.SizeMb < 1 {
			return fmt.Errorf("disks[%d].sizeMb: %d must be positive", i, d.SizeMb)
		}
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// sshAddress is where readiness is probed: the first NIC with an address.
func (a MachineArgs) sshAddress() string {
	for _, n := range a.Nics {
		if n.Address != "" {
			return netip.MustParsePrefix(n.Address).Addr().String() + ":22"
		}
	}
	return ""
}

// Create sets the machine up and boots it, then waits for sshd.
func (Machine) Create(
	ctx context.Context, req infer.CreateRequest[MachineArgs],
) (infer.CreateResponse[MachineState], error) {
	if err := req.Inputs.validate(req.DryRun); err != nil {
		return infer.CreateResponse[MachineState]{}, err
	}
	state := MachineState{MachineArgs: req.Inputs, Devices: devices(req.Inputs), Running: true}
	if req.DryRun {
		return infer.CreateResponse[MachineState]{ID: req.Inputs.Namespace, Output: state}, nil
	}
	if err := requireRoot(); err != nil {
		return infer.CreateResponse[MachineState]{}, err
	}
	if err := ownedElsewhere(req.Inputs); err != nil {
		return infer.CreateResponse[MachineState]{}, err
	}
	state, err := ensureMachine(ctx, req.Inputs)
	if err != nil && state.HostKey != "" {
		// Something exists on the host: keep it in the state so that the next
		// `pulumi up` finishes it and `pulumi destroy` removes it.
		return infer.CreateResponse[MachineState]{ID: req.Inputs.Namespace, Output: state},
			infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
	}
	return infer.CreateResponse[MachineState]{ID: req.Inputs.Namespace, Output: state}, err
}

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

func devices(a MachineArgs) []string {
	out := []string{}
	for i := range a.Disks {
		out = append(out, deviceName(i))
	}
	return out
}

// ensureMachine brings every host-side part to the wanted state; each step
// leaves alone what is already right, so it also repairs a machine that was
// killed or half built.
func ensureMachine(ctx context.Context, a MachineArgs) (MachineState, error) {
	state := MachineState{MachineArgs: a, Devices: devices(a)}
	paths := a.paths()
	if !exists(a.Image) {
		return state, fmt.Errorf("base image %s is missing", a.Image)
	}
	for _, d := range []string{paths.upper, paths.work, paths.root, paths.disks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return state, err
		}
	}
	if mounted, err := isMountPoint(paths.root); err != nil {
		return state, err
	} else if !mounted {
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", a.Image, paths.upper, paths.work)
		if _, err := run(ctx, "mount", "-t", "overlay", "overlay", "-o", opts, paths.root); err != nil {
			return state, err
		}
	}
	hostKey, err := writeGuestFiles(a, paths.root)
	if err != nil {
		return state, err
	}
	state.HostKey = hostKey
	loops, err := ensureDisks(ctx, a, paths.disks)
	if err != nil {
		return state, err
	}
	if _, ok := runningPid(paths); !ok {
		// A guest whose systemd-nspawn was killed keeps running without it:
		// power it off before booting the machine again.
		if err := killGuest(ctx, a); err != nil {
			return state, err
		}
		if err := freshNetns(ctx, a); err != nil {
			return state, err
		}
		if err := start(a, paths, loops); err != nil {
			return state, err
		}
	}
	if err := waitForSSH(ctx, a, paths); err != nil {
		return state, err
	}
	// The namespace now lives only as long as the machine's processes: when
	// the machine dies, its NICs vanish from the bridges, as a VM's would,
	// instead of an empty namespace answering for its addresses.
	if exists(a.nsPath()) {
		if _, err := run(ctx, "ip", "netns", "del", a.Namespace); err != nil {
			return state, err
		}
	}
	state.Running = true
	return state, nil
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

func isMountPoint(path string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == path {
			return true, nil
		}
	}
	return false, sc.Err()
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// writeGuestFiles writes what makes the machine itself: host name, network
// configuration for systemd-networkd (inside the guest, as on a VM), the
// stack's authorized key and the machine's host key, made once.
func writeGuestFiles(a MachineArgs, root string) (string, error) {
	files := map[string]string{"etc/hostname": a.Name + "\n"}
	// A first /etc/hosts only: once services manage it, a repair keeps theirs.
	if !exists(filepath.Join(root, "etc/hosts.thesis-cluster")) {
		files["etc/hosts"] = "127.0.0.1\tlocalhost\n127.0.1.1\t" + a.Name + "\n"
		files["etc/hosts.thesis-cluster"] = "the machine's first /etc/hosts was written\n"
	}
	for _, n := range a.Nics {
		files["etc/systemd/network/10-"+n.Name+".network"] = networkdUnit(n)
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

// networkdUnit is a NIC's systemd-networkd configuration.
func networkdUnit(n Nic) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by thesis-cluster.\n[Match]\nName=%s\n\n", n.Name)
	if n.Address == "" {
		b.WriteString("[Link]\nRequiredForOnline=no\n\n")
	}
	b.WriteString("[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n")
	if n.Address != "" {
		fmt.Fprintf(&b, "Address=%s\n", n.Address)
	}
	if n.Gateway != "" {
		fmt.Fprintf(&b, "Gateway=%s\n", n.Gateway)
	}
	return b.String()
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

// ensureDisks makes each extra disk's sparse file and loop device, and
// returns the loop devices in order.
func ensureDisks(ctx context.Context, a MachineArgs, dir string) ([]string, error) {
	var loops []string
	for i, d := range a.Disks {
		file := filepath.Join(dir, strings.TrimPrefix(deviceName(i), "/dev/")+".img")
		if !exists(file) {
			f, err := os.Create(file)
			if err != nil {
				return nil, err
			}
			err = f.Truncate(int64(d.SizeMb) << 20)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
		attached, err := loopsOf(ctx, file)
		if err != nil {
			return nil, err
		}
		if len(attached) > 0 {
			loops = append(loops, attached[0])
			continue
		}
		dev, err := run(ctx, "losetup", "--find", "--show", file)
		if err != nil {
			return nil, fmt.Errorf("disk %s: no loop device (%w); is the loop module loaded?", file, err)
		}
		loops = append(loops, dev)
	}
	return loops, nil
}

// loopsOf lists the loop devices attached to a file.
func loopsOf(ctx context.Context, file string) ([]string, error) {
	out, err := run(ctx, "losetup", "--noheadings", "--output", "NAME", "--associated", file)
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

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

// start boots the machine detached (own session, no terminal), so it outlives
// the pulumi process; its pid goes to the pid file, its console to a log.
func start(a MachineArgs, paths machinePaths, loops []string) error {
	logFile, err := os.OpenFile(paths.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "--- %s: starting\n", time.Now().UTC().Format(time.RFC3339))
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
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
			return false // exited, not yet reaped
		}
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
			return fmt.Errorf("machine %s stopped while booting%s; console log %s:\n%s", a.Name, bootHint(console), paths.log, console)
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

// Diff compares inputs, then the machine on the host: a machine whose
// process is gone shows as a change to `running`, which Update repairs.
func (Machine) Diff(
	_ context.Context, req infer.DiffRequest[MachineArgs, MachineState],
) (infer.DiffResponse, error) {
	diff := map[string]p.PropertyDiff{}
	olds, news := req.State.MachineArgs, req.Inputs
	replaceOn := map[string][2]any{
		"name": {olds.Name, news.Name}, "namespace": {olds.Namespace, news.Namespace},
		"image": {olds.Image, news.Image}, "stateDir": {olds.StateDir, news.StateDir},
		"nics": {olds.Nics, news.Nics}, "disks": {olds.Disks, news.Disks},
		"systemCallFilter": {olds.SystemCallFilter, news.SystemCallFilter},
	}
	for key, pair := range replaceOn {
		if !inputs.Same(pair[0], pair[1]) {
			diff[key] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
		}
	}
	if !inputs.Same(olds.AuthorizedKeys, news.AuthorizedKeys) {
		diff["authorizedKeys"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if _, ok := runningPid(olds.paths()); !ok {
		diff["running"] = p.PropertyDiff{Kind: p.Update}
	}
	return infer.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff, DeleteBeforeReplace: true}, nil
}

// Update rewrites the machine's files and boots it again if it is down.
func (Machine) Update(
	ctx context.Context, req infer.UpdateRequest[MachineArgs, MachineState],
) (infer.UpdateResponse[MachineState], error) {
	if err := req.Inputs.validate(req.DryRun); err != nil {
		return infer.UpdateResponse[MachineState]{}, err
	}
	if req.DryRun {
		out := req.State
		out.MachineArgs, out.Running = req.Inputs, true
		return infer.UpdateResponse[MachineState]{Output: out}, nil
	}
	state, err := ensureMachine(ctx, req.Inputs)
	return infer.UpdateResponse[MachineState]{Output: state}, err
}

// Read reports whether the machine is running, for `pulumi refresh`.
func (Machine) Read(
	_ context.Context, req infer.ReadRequest[MachineArgs, MachineState],
) (infer.ReadResponse[MachineArgs, MachineState], error) {
	state := req.State
	_, state.Running = runningPid(req.State.paths())
	return infer.ReadResponse[MachineArgs, MachineState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete halts the machine and removes everything it had on the host.
func (Machine) Delete(ctx context.Context, req infer.DeleteRequest[MachineState]) (infer.DeleteResponse, error) {
	a := req.State.MachineArgs
	paths := a.paths()
	if pid, ok := runningPid(paths); ok {
		stop(ctx, pid, paths.root)
	}
	var errs []error
	if err := killGuest(ctx, a); err != nil {
		errs = append(errs, err)
	} else if err := removeCgroups(a.Namespace); err != nil {
		errs = append(errs, err)
	}
	if mounted, _ := isMountPoint(paths.root); mounted {
		if _, err := run(ctx, "umount", paths.root); err != nil {
			if _, err2 := run(ctx, "umount", "--lazy", paths.root); err2 != nil {
				errs = append(errs, err)
			}
		}
	}
	for i := range a.Disks {
		file := filepath.Join(paths.disks, strings.TrimPrefix(deviceName(i), "/dev/")+".img")
		if !exists(file) {
			continue
		}
		loops, err := loopsOf(ctx, file)
		if err != nil {
			errs = append(errs, err)
		}
		for _, l := range loops {
			if _, err := run(ctx, "losetup", "--detach", l); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, n := range a.Nics {
		if err := delLink(ctx, hostIf(a.Namespace, n.Name)); err != nil {
			errs = append(errs, err)
		}
	}
	if exists(a.nsPath()) {
		if _, err := run(ctx, "ip", "netns", "del", a.Namespace); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(paths.dir); err != nil {
			errs = append(errs, err)
		}
		// The stack's directory goes with its last machine.
		_ = os.Remove(filepath.Dir(paths.dir))
		_ = os.Remove(a.StateDir)
		_ = os.Remove(filepath.Dir(a.StateDir))
	}
	return infer.DeleteResponse{}, errors.Join(errs...)
}

// stop asks the machine to halt (first SIGTERM), waits, insists (second
// SIGTERM makes systemd-nspawn end at once), and kills it as a last resort.
func stop(ctx context.Context, pid int, root string) {
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
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if gone(10 * time.Second) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if gone(10 * time.Second) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	gone(5 * time.Second)
}

// killGuest kills every process left in the machine's network namespace or
// cgroups (a guest that outlived its systemd-nspawn) and waits until they are gone.
func killGuest(ctx context.Context, a MachineArgs) error {
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
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("machine %s: processes %v do not end", a.Name, pids)
		}
		for _, s := range pids {
			if pid, err := strconv.Atoi(s); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
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
