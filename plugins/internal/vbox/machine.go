package vbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kdomanski/iso9660"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"thesis-cluster/plugins/internal/inputs"
)

// Machine is a VirtualBox VM of the cluster: a full clone of the Debian 13
// base disk, extra disks, NICs on the internal network or the host-only one,
// and a cloud-init seed (NoCloud) with its addresses, its SSH host key and the
// stack's key. Read and Diff ask VirtualBox (`showvminfo --machinereadable`),
// so a VM powered off or reconfigured by hand shows in `pulumi preview`.
type Machine struct{}

// Nic is one network adapter of a VM.
type Nic struct {
	// Kind is "intnet" (a VirtualBox internal network) or "hostonly".
	Kind string `pulumi:"kind"`
	// Network is the internal network's name, or the host-only interface (vboxnet0).
	Network string `pulumi:"network"`
	// Mac is the adapter's hardware address (aa:bb:cc:dd:ee:ff).
	Mac string `pulumi:"mac"`
}

// Disk is an extra disk, seen by the guest as /dev/sdb, /dev/sdc, …
type Disk struct {
	SizeMb int `pulumi:"sizeMb"`
}

// MachineArgs are the inputs of a Machine.
type MachineArgs struct {
	Name string `pulumi:"name" provider:"replaceOnChanges"`
	// BaseFolder holds the stack's VMs, one folder each.
	BaseFolder string `pulumi:"baseFolder" provider:"replaceOnChanges"`
	// BaseImage is the Debian 13 disk image (VDI) the VM's disk is cloned from.
	BaseImage string `pulumi:"baseImage" provider:"replaceOnChanges"`
	MemoryMb  int    `pulumi:"memoryMb"`
	Cpus      int    `pulumi:"cpus"`
	Nics      []Nic  `pulumi:"nics"`
	Disks     []Disk `pulumi:"disks,optional" provider:"replaceOnChanges"`
	// NetworkBoot boots from the network first (PXE from the directors' dnsmasq).
	NetworkBoot bool `pulumi:"networkBoot,optional"`
	// The cloud-init seed, as files of a NoCloud ISO. UserData holds the SSH host key.
	UserData      string `pulumi:"userData" provider:"secret,replaceOnChanges"`
	MetaData      string `pulumi:"metaData" provider:"replaceOnChanges"`
	NetworkConfig string `pulumi:"networkConfig" provider:"replaceOnChanges"`
}

// MachineState is what Pulumi keeps of a Machine.
type MachineState struct {
	MachineArgs
	// Running is true when VirtualBox reports the VM running.
	Running bool `pulumi:"running"`
	// Devices are the extra disks' names inside the VM, in order.
	Devices []string `pulumi:"devices"`
}

// Annotate documents the resource.
func (m *Machine) Annotate(a infer.Annotator) {
	a.Describe(m, "A VirtualBox VM of the cluster, driven through VBoxManage, with a cloud-init seed.")
}

const controller = "SATA"

// seedPort is the SATA port of the seed's DVD drive, after the system disk and up to 6 extra disks.
const seedPort = 7

var (
	nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	macRe  = regexp.MustCompile(`^([0-9a-f]{2}:){5}[0-9a-f]{2}$`)
)

func (a MachineArgs) validate(dryRun bool) error {
	if !nameRe.MatchString(a.Name) {
		return fmt.Errorf("name: %q is not a host name", a.Name)
	}
	if !filepath.IsAbs(a.BaseFolder) {
		return fmt.Errorf("baseFolder: %q is not an absolute path", a.BaseFolder)
	}
	if a.MemoryMb < 128 || a.Cpus < 1 {
		return fmt.Errorf("%s: memoryMb %d and cpus %d are too small", a.Name, a.MemoryMb, a.Cpus)
	}
	if len(a.Nics) == 0 || len(a.Nics) > 8 {
		return fmt.Errorf("%s: nics: %d adapters (VirtualBox has 1 to 8)", a.Name, len(a.Nics))
	}
	for i, n := range a.Nics {
		if n.Kind != "intnet" && n.Kind != "hostonly" {
			return fmt.Errorf("%s: nics[%d].kind: %q is neither intnet nor hostonly", a.Name, i, n.Kind)
		}
		if !macRe.MatchString(n.Mac) {
			return fmt.Errorf("%s: nics[%d].mac: %q is not a MAC address like 02:00:0a:00:64:01", a.Name, i, n.Mac)
		}
		if n.Network == "" && !dryRun {
			return fmt.Errorf("%s: nics[%d].network is empty", a.Name, i)
		}
	}
	if len(a.Disks) > seedPort-1 {
		return fmt.Errorf("%s: disks: %d extra disks, at most %d", a.Name, len(a.Disks), seedPort-1)
	}
	if !dryRun {
		if _, err := os.Stat(a.BaseImage); err != nil {
			return fmt.Errorf("baseImage: %q: %v (build it as the README's VirtualBox section says)", a.BaseImage, err)
		}
	}
	return nil
}

func (a MachineArgs) dir() string { return filepath.Join(a.BaseFolder, a.Name) }

func (a MachineArgs) devices() []string {
	d := make([]string, len(a.Disks))
	for i := range a.Disks {
		d[i] = "/dev/sd" + string(rune('b'+i))
	}
	return d
}

// modifyArgs are the `modifyvm` settings the inputs ask for.
func (a MachineArgs) modifyArgs() []string {
	boot := []string{"--boot1", "disk", "--boot2", "none"}
	if a.NetworkBoot {
		boot = []string{"--boot1", "net", "--boot2", "disk"}
	}
	args := []string{"modifyvm", a.Name, "--memory", strconv.Itoa(a.MemoryMb), "--cpus", strconv.Itoa(a.Cpus),
		"--audio-enabled", "off", "--graphicscontroller", "vmsvga", "--rtc-use-utc", "on"}
	args = append(args, boot...)
	args = append(args, "--boot3", "none", "--boot4", "none")
	for i, n := range a.Nics {
		k := strconv.Itoa(i + 1)
		args = append(args, "--nic"+k, n.Kind)
		if n.Kind == "intnet" {
			args = append(args, "--intnet"+k, n.Network)
		} else {
			args = append(args, "--host-only-adapter"+k, n.Network)
		}
		args = append(args, "--nic-type"+k, "virtio", "--mac-address"+k, strings.ReplaceAll(n.Mac, ":", ""), "--cable-connected"+k, "on")
	}
	return args
}

// writeSeed writes the cloud-init NoCloud seed: an ISO 9660 image labelled cidata.
func (a MachineArgs) writeSeed(path string) error {
	w, err := iso9660.NewWriter()
	if err != nil {
		return err
	}
	defer func() { _ = w.Cleanup() }()
	for name, content := range map[string]string{"user-data": a.UserData, "meta-data": a.MetaData, "network-config": a.NetworkConfig} {
		if err := w.AddFile(strings.NewReader(content), name); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := w.WriteTo(f, "cidata"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Create registers, configures and starts the VM.
func (Machine) Create(ctx context.Context, req infer.CreateRequest[MachineArgs]) (infer.CreateResponse[MachineState], error) {
	a := req.Inputs
	state := MachineState{MachineArgs: a, Devices: a.devices()}
	if err := a.validate(req.DryRun); err != nil {
		return infer.CreateResponse[MachineState]{}, err
	}
	if req.DryRun {
		return infer.CreateResponse[MachineState]{ID: a.Name, Output: state}, nil
	}
	if err := checkVersion(ctx); err != nil {
		return infer.CreateResponse[MachineState]{}, err
	}
	if _, err := vboxmanage(ctx, "createvm", "--name", a.Name, "--ostype", "Debian_64", "--basefolder", a.BaseFolder, "--register"); err != nil {
		return infer.CreateResponse[MachineState]{}, err
	}
	// From here on the VM exists: a failure leaves it in the state for the next up or destroy.
	fail := func(err error) (infer.CreateResponse[MachineState], error) {
		return infer.CreateResponse[MachineState]{ID: a.Name, Output: state}, err
	}
	if _, err := vboxmanage(ctx, a.modifyArgs()...); err != nil {
		return fail(err)
	}
	if _, err := vboxmanage(ctx, "storagectl", a.Name, "--name", controller, "--add", "sata", "--controller", "IntelAhci", "--portcount", strconv.Itoa(seedPort+1), "--bootable", "on"); err != nil {
		return fail(err)
	}
	system := filepath.Join(a.dir(), a.Name+".vdi")
	if _, err := vboxmanage(ctx, "clonemedium", "disk", a.BaseImage, system, "--format", "VDI"); err != nil {
		return fail(err)
	}
	if err := attach(ctx, a.Name, 0, "hdd", system); err != nil {
		return fail(err)
	}
	for i, d := range a.Disks {
		file := filepath.Join(a.dir(), fmt.Sprintf("disk%d.vdi", i+1))
		if _, err := vboxmanage(ctx, "createmedium", "disk", "--filename", file, "--size", strconv.Itoa(d.SizeMb), "--format", "VDI"); err != nil {
			return fail(err)
		}
		if err := attach(ctx, a.Name, i+1, "hdd", file); err != nil {
			return fail(err)
		}
	}
	seed := filepath.Join(a.dir(), "seed.iso")
	if err := a.writeSeed(seed); err != nil {
		return fail(fmt.Errorf("%s: cloud-init seed: %w", a.Name, err))
	}
	if err := attach(ctx, a.Name, seedPort, "dvddrive", seed); err != nil {
		return fail(err)
	}
	if _, err := vboxmanage(ctx, "startvm", a.Name, "--type", "headless"); err != nil {
		return fail(err)
	}
	state.Running = true
	return infer.CreateResponse[MachineState]{ID: a.Name, Output: state}, nil
}

func attach(ctx context.Context, vm string, port int, kind, medium string) error {
	_, err := vboxmanage(ctx, "storageattach", vm, "--storagectl", controller, "--port", strconv.Itoa(port), "--device", "0", "--type", kind, "--medium", medium)
	return err
}

// observed is what VirtualBox reports of a VM; found is false when it is not registered.
type observed struct {
	found   bool
	running bool
	memory  int
	cpus    int
	nics    []Nic
}

func observe(ctx context.Context, name string) (observed, error) {
	out, err := vboxmanage(ctx, "showvminfo", name, "--machinereadable")
	if err != nil {
		if strings.Contains(err.Error(), "VBOX_E_OBJECT_NOT_FOUND") || strings.Contains(err.Error(), "Could not find a registered machine") {
			return observed{}, nil
		}
		return observed{}, err
	}
	info := machineReadable(out)
	o := observed{found: true, running: info["VMState"] == "running"}
	o.memory, _ = strconv.Atoi(info["memory"])
	o.cpus, _ = strconv.Atoi(info["cpus"])
	for i := 1; i <= 8; i++ {
		k := strconv.Itoa(i)
		kind := info["nic"+k]
		if kind == "" || kind == "none" {
			continue
		}
		n := Nic{Kind: kind, Mac: macOf(info["macaddress"+k])}
		switch kind {
		case "intnet":
			n.Network = info["intnet"+k]
		case "hostonly":
			n.Network = info["hostonlyadapter"+k]
		}
		o.nics = append(o.nics, n)
	}
	return o, nil
}

// macOf turns VirtualBox's 080027AABBCC into 08:00:27:aa:bb:cc.
func macOf(s string) string {
	s = strings.ToLower(s)
	if len(s) != 12 {
		return s
	}
	parts := make([]string, 6)
	for i := range parts {
		parts[i] = s[2*i : 2*i+2]
	}
	return strings.Join(parts, ":")
}

// drift names what differs between the VM and the inputs.
func (o observed) drift(a MachineArgs) map[string]p.PropertyDiff {
	diff := map[string]p.PropertyDiff{}
	if !o.found {
		diff["name"] = p.PropertyDiff{Kind: p.UpdateReplace}
		return diff
	}
	if !o.running {
		diff["running"] = p.PropertyDiff{Kind: p.Update}
	}
	if o.memory != a.MemoryMb {
		diff["memoryMb"] = p.PropertyDiff{Kind: p.Update}
	}
	if o.cpus != a.Cpus {
		diff["cpus"] = p.PropertyDiff{Kind: p.Update}
	}
	if !inputs.Same(o.nics, a.Nics) {
		diff["nics"] = p.PropertyDiff{Kind: p.Update}
	}
	return diff
}

// Read reports the VM as VirtualBox has it.
func (Machine) Read(ctx context.Context, req infer.ReadRequest[MachineArgs, MachineState]) (infer.ReadResponse[MachineArgs, MachineState], error) {
	o, err := observe(ctx, req.ID)
	if err != nil {
		return infer.ReadResponse[MachineArgs, MachineState]{}, err
	}
	if !o.found {
		return infer.ReadResponse[MachineArgs, MachineState]{}, nil
	}
	s := req.State
	s.Running, s.MemoryMb, s.Cpus, s.Nics = o.running, o.memory, o.cpus, o.nics
	return infer.ReadResponse[MachineArgs, MachineState]{ID: req.ID, Inputs: req.Inputs, State: s}, nil
}

// Diff compares the inputs, then asks VirtualBox: a VM powered off, resized
// or rewired by hand is a change that `pulumi up` undoes.
func (Machine) Diff(ctx context.Context, req infer.DiffRequest[MachineArgs, MachineState]) (infer.DiffResponse, error) {
	olds, news := req.State.MachineArgs, req.Inputs
	// What a VM cannot change in place (replaceOnChanges) is made again.
	diff := inputs.Diff(olds, news)
	if len(diff) == 0 {
		o, err := observe(ctx, olds.Name)
		if err != nil {
			return infer.DiffResponse{}, err
		}
		diff = o.drift(news)
	}
	return infer.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff, DeleteBeforeReplace: true}, nil
}

// Update reconfigures a VM (powered off for it when needed) and starts it.
func (Machine) Update(ctx context.Context, req infer.UpdateRequest[MachineArgs, MachineState]) (infer.UpdateResponse[MachineState], error) {
	a := req.Inputs
	state := req.State
	state.MachineArgs, state.Devices = a, a.devices()
	if err := a.validate(req.DryRun); err != nil || req.DryRun {
		return infer.UpdateResponse[MachineState]{Output: state}, err
	}
	if err := checkVersion(ctx); err != nil {
		return infer.UpdateResponse[MachineState]{Output: state}, err
	}
	o, err := observe(ctx, a.Name)
	if err != nil {
		return infer.UpdateResponse[MachineState]{Output: state}, err
	}
	if !o.found {
		return infer.UpdateResponse[MachineState]{Output: state}, fmt.Errorf("%s is not registered in VirtualBox: run `pulumi refresh`, then `pulumi up` makes it again", a.Name)
	}
	if o.memory != a.MemoryMb || o.cpus != a.Cpus || !inputs.Same(o.nics, a.Nics) || a.NetworkBoot != req.State.NetworkBoot {
		if o.running {
			if err := powerOff(ctx, a.Name); err != nil {
				return infer.UpdateResponse[MachineState]{Output: state}, err
			}
		}
		if _, err := vboxmanage(ctx, a.modifyArgs()...); err != nil {
			return infer.UpdateResponse[MachineState]{Output: state}, err
		}
		o.running = false
	}
	if !o.running {
		if _, err := vboxmanage(ctx, "startvm", a.Name, "--type", "headless"); err != nil {
			return infer.UpdateResponse[MachineState]{Output: state}, err
		}
	}
	state.Running = true
	return infer.UpdateResponse[MachineState]{Output: state}, nil
}

// powerOff pulls the VM's plug and waits until VirtualBox has let go of it.
func powerOff(ctx context.Context, name string) error {
	if _, err := vboxmanage(ctx, "controlvm", name, "poweroff"); err != nil {
		return err
	}
	for i := 0; i < 30; i++ {
		o, err := observe(ctx, name)
		if err != nil || !o.running {
			return err
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("%s: still running 30 s after poweroff", name)
}

// Delete powers the VM off and removes it with its disks and seed.
func (Machine) Delete(ctx context.Context, req infer.DeleteRequest[MachineState]) (infer.DeleteResponse, error) {
	a := req.State.MachineArgs
	o, err := observe(ctx, a.Name)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if o.found {
		if o.running {
			if err := powerOff(ctx, a.Name); err != nil {
				return infer.DeleteResponse{}, err
			}
		}
		// VirtualBox may hold the session lock for a moment after a poweroff.
		var last error
		for i := 0; i < 10; i++ {
			if _, last = vboxmanage(ctx, "unregistervm", a.Name, "--delete"); last == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if last != nil {
			return infer.DeleteResponse{}, last
		}
	}
	// The seed (a DVD image) is not among the disks unregistervm deletes.
	if a.BaseFolder != "" && a.Name != "" {
		if err := os.RemoveAll(a.dir()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return infer.DeleteResponse{}, err
		}
	}
	return infer.DeleteResponse{}, nil
}
