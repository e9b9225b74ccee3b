package nspawn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"thesis-cluster/plugins/internal/inputs"
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

// GuestFile is a file of the guest, written from the host.
type GuestFile struct {
	// Path in the guest: absolute, under /etc.
	Path    string `pulumi:"path"`
	Content string `pulumi:"content"`
}

// MachineArgs are the inputs of a Machine.
type MachineArgs struct {
	// Name is the machine's host name.
	Name string `pulumi:"name" provider:"replaceOnChanges"`
	// Namespace names the machine's network namespace; unique on the host.
	Namespace string `pulumi:"namespace" provider:"replaceOnChanges"`
	// Image is the base image's root filesystem (the overlay's lower layer).
	Image string `pulumi:"image" provider:"replaceOnChanges"`
	// StateDir holds the stack's host-side state; the machine lives in
	// StateDir/machines/Name.
	StateDir string `pulumi:"stateDir" provider:"replaceOnChanges"`
	Nics     []Nic  `pulumi:"nics" provider:"replaceOnChanges"`
	Disks    []Disk `pulumi:"disks,optional" provider:"replaceOnChanges"`
	// GuestFiles are written into the machine's root before it boots: its
	// systemd-networkd files, rendered by the program as for a VM's seed.
	GuestFiles     []GuestFile `pulumi:"guestFiles,optional"`
	AuthorizedKeys []string    `pulumi:"authorizedKeys"`
	// SystemCallFilter adds system calls to systemd-nspawn's allow list.
	SystemCallFilter []string `pulumi:"systemCallFilter,optional" provider:"replaceOnChanges"`
}

// MachineState is what Pulumi keeps of a Machine.
type MachineState struct {
	MachineArgs
	// HostKey is the machine's SSH host key (authorized_keys format), to pin.
	HostKey string `pulumi:"hostKey"`
	// Devices are the extra disks' names inside the machine, in order.
	Devices []string `pulumi:"devices"`
	// Running is true when the machine runs: its systemd-nspawn, or its guest
	// without it (processes left in the machine's cgroups).
	Running bool `pulumi:"running"`
	// Supervised is true when the machine's systemd-nspawn process is alive.
	Supervised bool `pulumi:"supervised"`
}

// observe reads the machine's state on the host: is it running, and under its systemd-nspawn?
func observe(a MachineArgs) (running, supervised bool) {
	_, supervised = runningPid(a.paths())
	return supervised || len(cgroupPids(a.Namespace)) > 0, supervised
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
	for i, f := range a.GuestFiles {
		if clean := filepath.Clean(f.Path); clean != f.Path || !strings.HasPrefix(clean, "/etc/") {
			return fmt.Errorf("guestFiles[%d].path: %q must be a clean absolute path under /etc", i, f.Path)
		}
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
	state := MachineState{MachineArgs: req.Inputs, Devices: devices(req.Inputs), Running: true, Supervised: true}
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
	boot := func() error {
		// A guest whose systemd-nspawn was killed keeps running without it:
		// power it off before booting the machine again.
		if err := killGuest(ctx, a); err != nil {
			return err
		}
		if err := freshNetns(ctx, a); err != nil {
			return err
		}
		return start(a, paths, loops)
	}
	if _, ok := runningPid(paths); !ok {
		if err := boot(); err != nil {
			return state, err
		}
	}
	if err := waitForSSH(ctx, a, paths); err != nil {
		var silent *silentStopError
		if !errors.As(err, &silent) {
			return state, err
		}
		p.GetLogger(ctx).Warningf("machine %s: systemd-nspawn ended without a word while booting; booting it once more", a.Name)
		if err := boot(); err != nil {
			return state, err
		}
		if err := waitForSSH(ctx, a, paths); err != nil {
			return state, err
		}
	}
	// The namespace now lives only as long as the machine's processes: when
	// the machine dies, its NICs vanish from the bridges, as a VM's would,
	// instead of an empty namespace answering for its addresses.
	if exists(a.nsPath()) {
		if _, err := run(ctx, "ip", "netns", "del", a.Namespace); err != nil {
			return state, err
		}
	}
	state.Running, state.Supervised = true, true
	return state, nil
}

// Diff compares inputs, then the machine on the host: a machine that is not
// running shows as a change to `running`; one whose guest runs on without its
// systemd-nspawn (killed alone) as a change to `supervised`, with a warning
// saying so. Update repairs both.
func (Machine) Diff(
	ctx context.Context, req infer.DiffRequest[MachineArgs, MachineState],
) (infer.DiffResponse, error) {
	olds := req.State.MachineArgs
	diff := inputs.Diff(olds, req.Inputs)
	switch running, supervised := observe(olds); {
	case !running:
		diff["running"] = p.PropertyDiff{Kind: p.Update}
	case !supervised:
		diff["supervised"] = p.PropertyDiff{Kind: p.Update}
		p.GetLogger(ctx).Warningf("machine %s runs without its systemd-nspawn (its guest's processes are left in cgroup thesis-cluster/%s); "+
			"`pulumi up` powers the guest off and boots the machine again", olds.Name, olds.Namespace)
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
		out.MachineArgs, out.Running, out.Supervised = req.Inputs, true, true
		return infer.UpdateResponse[MachineState]{Output: out}, nil
	}
	state, err := ensureMachine(ctx, req.Inputs)
	return infer.UpdateResponse[MachineState]{Output: state}, err
}

// Read reports whether the machine is running, and under its systemd-nspawn, for `pulumi refresh`.
func (Machine) Read(
	_ context.Context, req infer.ReadRequest[MachineArgs, MachineState],
) (infer.ReadResponse[MachineArgs, MachineState], error) {
	state := req.State
	state.Running, state.Supervised = observe(req.State.MachineArgs)
	return infer.ReadResponse[MachineArgs, MachineState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete halts the machine and removes everything it had on the host.
func (Machine) Delete(ctx context.Context, req infer.DeleteRequest[MachineState]) (infer.DeleteResponse, error) {
	a := req.State.MachineArgs
	paths := a.paths()
	var errs []error
	if pid, ok := runningPid(paths); ok {
		if err := stop(ctx, pid, paths.root); err != nil {
			errs = append(errs, fmt.Errorf("machine %s: %w", a.Name, err))
		}
	}
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
