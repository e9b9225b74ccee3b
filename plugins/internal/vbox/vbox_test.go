package vbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdomanski/iso9660"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// fakeVBoxManage is a TEST DOUBLE of VBoxManage, put first on PATH: it
// records every command line and keeps just enough state (registered VMs and
// whether they run) to answer showvminfo like VirtualBox 7. No VirtualBox
// runs here; these tests pin the command lines the backend sends.
const fakeVBoxManage = `#!/bin/sh
# Test double of VBoxManage (see vbox_test.go).
printf '%s\n' "$*" >>"$FAKE_DIR/record"
vm="$FAKE_DIR/vm-$2"
case "$1" in
--version) echo "${FAKE_VERSION:-7.1.4r165100}" ;;
hostonlyif) [ "$2" = create ] && echo "Interface 'vboxnet0' was successfully created" ;;
list) cat "$FAKE_DIR/list-$2" 2>/dev/null ;;
createvm) mkdir -p "$7/$3" && printf 'name="%s"\nVMState="poweroff"\n' "$3" >"$FAKE_DIR/vm-$3" ;;
showvminfo)
  [ -f "$vm" ] || { echo "VBoxManage: error: Could not find a registered machine named '$2'" >&2; exit 1; }
  cat "$vm" ;;
startvm) sed -i 's/^VMState=.*/VMState="running"/' "$vm" ;;
controlvm) sed -i 's/^VMState=.*/VMState="poweroff"/' "$vm" ;;
unregistervm) rm -f "$vm" ;;
esac
exit 0
`

// withFake puts the test double on PATH and returns its directory.
func withFake(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, Program), []byte(fakeVBoxManage), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_DIR", dir)
	return dir
}

// recorded returns the command lines the double saw since the last call, and forgets them.
func recorded(t *testing.T, dir string) []string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "record"))
	_ = os.Remove(filepath.Join(dir, "record"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: VBoxManage command lines\n got:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func sanArgs(t *testing.T, base string) MachineArgs {
	img := filepath.Join(base, "debian-13.vdi")
	if err := os.WriteFile(img, []byte("a test double of a disk image"), 0o644); err != nil {
		t.Fatal(err)
	}
	return MachineArgs{
		Name: "san1", BaseFolder: filepath.Join(base, "vms"), BaseImage: img, MemoryMb: 512, Cpus: 1,
		Nics:     []Nic{{Kind: "intnet", Network: "thesis-cluster-lab", Mac: "02:00:0a:00:64:06"}},
		Disks:    []Disk{{SizeMb: 1024}, {SizeMb: 1024}},
		UserData: "#cloud-config\n", MetaData: "instance-id: san1\n", NetworkConfig: "version: 2\n",
	}
}

func TestMachineCreateUpdateDeleteCommandLines(t *testing.T) {
	fake := withFake(t)
	ctx := context.Background()
	a := sanArgs(t, t.TempDir())
	vmDir := filepath.Join(a.BaseFolder, "san1")

	created, err := Machine{}.Create(ctx, infer.CreateRequest[MachineArgs]{Name: "san1", Inputs: a})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "create", recorded(t, fake), []string{
		"--version",
		"createvm --name san1 --ostype Debian_64 --basefolder " + a.BaseFolder + " --register",
		"modifyvm san1 --memory 512 --cpus 1 --audio-enabled off --graphicscontroller vmsvga --rtc-use-utc on --boot1 disk --boot2 none --boot3 none --boot4 none" +
			" --nic1 intnet --intnet1 thesis-cluster-lab --nic-type1 virtio --mac-address1 02000a006406 --cable-connected1 on",
		"storagectl san1 --name SATA --add sata --controller IntelAhci --portcount 8 --bootable on",
		"clonemedium disk " + a.BaseImage + " " + vmDir + "/san1.vdi --format VDI",
		"storageattach san1 --storagectl SATA --port 0 --device 0 --type hdd --medium " + vmDir + "/san1.vdi",
		"createmedium disk --filename " + vmDir + "/disk1.vdi --size 1024 --format VDI",
		"storageattach san1 --storagectl SATA --port 1 --device 0 --type hdd --medium " + vmDir + "/disk1.vdi",
		"createmedium disk --filename " + vmDir + "/disk2.vdi --size 1024 --format VDI",
		"storageattach san1 --storagectl SATA --port 2 --device 0 --type hdd --medium " + vmDir + "/disk2.vdi",
		"storageattach san1 --storagectl SATA --port 7 --device 0 --type dvddrive --medium " + vmDir + "/seed.iso",
		"startvm san1 --type headless",
	})
	if got := created.Output.Devices; strings.Join(got, ",") != "/dev/sdb,/dev/sdc" {
		t.Fatalf("devices %v", got)
	}

	// The seed is an ISO 9660 image labelled cidata with the three NoCloud files.
	f, err := os.Open(filepath.Join(vmDir, "seed.iso"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := iso9660.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	if label, _ := img.Label(); label != "cidata" {
		t.Fatalf("seed label %q", label)
	}
	root, _ := img.RootDir()
	children, _ := root.GetChildren()
	var names []string
	for _, c := range children {
		names = append(names, c.Name())
	}
	if strings.Join(names, ",") != "meta-data,network-config,user-data" {
		t.Fatalf("seed files %v", names)
	}

	// VirtualBox now reports the VM as asked; nothing to do.
	vm := filepath.Join(fake, "vm-san1")
	if err := os.WriteFile(vm, []byte(`name="san1"
VMState="running"
memory=512
cpus=1
nic1="intnet"
intnet1="thesis-cluster-lab"
macaddress1="02000A006406"
nic2="none"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	diff := func(inputs MachineArgs) map[string]string {
		d, err := Machine{}.Diff(ctx, infer.DiffRequest[MachineArgs, MachineState]{ID: "san1", State: created.Output, Inputs: inputs})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for k, v := range d.DetailedDiff {
			out[k] = string(v.Kind)
		}
		return out
	}
	if d := diff(a); len(d) != 0 {
		t.Fatalf("no drift expected, got %v", d)
	}
	recorded(t, fake)

	// Powered off and shrunk by hand: drift, and the update puts it back.
	b, _ := os.ReadFile(vm)
	_ = os.WriteFile(vm, []byte(strings.NewReplacer(`VMState="running"`, `VMState="poweroff"`, "memory=512", "memory=256").Replace(string(b))), 0o644)
	if d := diff(a); d["running"] != "update" || d["memoryMb"] != "update" || len(d) != 2 {
		t.Fatalf("drift: %v", d)
	}
	recorded(t, fake)
	if _, err := (Machine{}).Update(ctx, infer.UpdateRequest[MachineArgs, MachineState]{ID: "san1", State: created.Output, Inputs: a}); err != nil {
		t.Fatal(err)
	}
	same(t, "update after drift", recorded(t, fake), []string{
		"--version",
		"showvminfo san1 --machinereadable",
		"modifyvm san1 --memory 512 --cpus 1 --audio-enabled off --graphicscontroller vmsvga --rtc-use-utc on --boot1 disk --boot2 none --boot3 none --boot4 none" +
			" --nic1 intnet --intnet1 thesis-cluster-lab --nic-type1 virtio --mac-address1 02000a006406 --cable-connected1 on",
		"startvm san1 --type headless",
	})

	// More memory in the config while it runs: powered off, changed, started.
	b, _ = os.ReadFile(vm)
	_ = os.WriteFile(vm, []byte(strings.Replace(string(b), "memory=256", "memory=512", 1)), 0o644)
	bigger := a
	bigger.MemoryMb = 1024
	if d := diff(bigger); d["memoryMb"] != "update" || len(d) != 1 {
		t.Fatalf("config change: %v", d)
	}
	recorded(t, fake)
	if _, err := (Machine{}).Update(ctx, infer.UpdateRequest[MachineArgs, MachineState]{ID: "san1", State: created.Output, Inputs: bigger}); err != nil {
		t.Fatal(err)
	}
	same(t, "update of memory", recorded(t, fake), []string{
		"--version",
		"showvminfo san1 --machinereadable",
		"controlvm san1 poweroff",
		"showvminfo san1 --machinereadable",
		"modifyvm san1 --memory 1024 --cpus 1 --audio-enabled off --graphicscontroller vmsvga --rtc-use-utc on --boot1 disk --boot2 none --boot3 none --boot4 none" +
			" --nic1 intnet --intnet1 thesis-cluster-lab --nic-type1 virtio --mac-address1 02000a006406 --cable-connected1 on",
		"startvm san1 --type headless",
	})

	// A new disk cannot be added in place: the VM is made again.
	more := a
	more.Disks = append([]Disk{}, append(a.Disks, Disk{SizeMb: 2048})...)
	if d := diff(more); d["disks"] != "update&replace" {
		t.Fatalf("disks: %v", d)
	}

	if _, err := (Machine{}).Delete(ctx, infer.DeleteRequest[MachineState]{ID: "san1", State: created.Output}); err != nil {
		t.Fatal(err)
	}
	same(t, "delete", recorded(t, fake), []string{
		"showvminfo san1 --machinereadable",
		"controlvm san1 poweroff",
		"showvminfo san1 --machinereadable",
		"unregistervm san1 --delete",
	})
	if _, err := os.Stat(vmDir); !os.IsNotExist(err) {
		t.Fatalf("the VM's folder is left: %v", err)
	}
	// Gone by hand: Diff asks for a new one; Delete has nothing to do.
	if d := diff(a); d["name"] != "update&replace" {
		t.Fatalf("missing VM: %v", d)
	}
	if _, err := (Machine{}).Delete(ctx, infer.DeleteRequest[MachineState]{ID: "san1", State: created.Output}); err != nil {
		t.Fatal(err)
	}
}

func TestNetworkBootAndHostOnlyNic(t *testing.T) {
	a := MachineArgs{Name: "cluster1", NetworkBoot: true, MemoryMb: 1024, Cpus: 2, Nics: []Nic{
		{Kind: "intnet", Network: "thesis-cluster-lab", Mac: "02:00:0a:00:64:01"},
		{Kind: "hostonly", Network: "vboxnet0", Mac: "02:00:c0:a8:01:65"},
	}}
	got := strings.Join(a.modifyArgs(), " ")
	for _, want := range []string{"--boot1 net --boot2 disk", "--nic2 hostonly --host-only-adapter2 vboxnet0 --nic-type2 virtio --mac-address2 0200c0a80165"} {
		if !strings.Contains(got, want) {
			t.Fatalf("%q lacks %q", got, want)
		}
	}
}

func TestClearErrors(t *testing.T) {
	ctx := context.Background()
	a := sanArgs(t, t.TempDir())

	// No VBoxManage on PATH.
	t.Setenv("PATH", t.TempDir())
	if _, err := (Machine{}).Create(ctx, infer.CreateRequest[MachineArgs]{Name: "san1", Inputs: a}); err == nil || !strings.Contains(err.Error(), "VBoxManage is not on PATH") {
		t.Fatalf("missing VBoxManage: %v", err)
	}
	// A preview needs no VirtualBox at all.
	if _, err := (Machine{}).Create(ctx, infer.CreateRequest[MachineArgs]{Name: "san1", Inputs: a, DryRun: true}); err != nil {
		t.Fatalf("preview: %v", err)
	}

	// Too old.
	fake := withFake(t)
	t.Setenv("FAKE_VERSION", "6.1.50r161033")
	if _, err := (Machine{}).Create(ctx, infer.CreateRequest[MachineArgs]{Name: "san1", Inputs: a}); err == nil || !strings.Contains(err.Error(), "VirtualBox 6.1.50r161033 is too old") {
		t.Fatalf("old VirtualBox: %v", err)
	}
	same(t, "nothing after the version check", recorded(t, fake), []string{"--version"})
	t.Setenv("FAKE_VERSION", "")

	// A base image that is not there: named, before VirtualBox is asked anything.
	missing := a
	missing.BaseImage = "/nonexistent/debian-13.vdi"
	if _, err := (Machine{}).Create(ctx, infer.CreateRequest[MachineArgs]{Name: "san1", Inputs: missing}); err == nil || !strings.Contains(err.Error(), `baseImage: "/nonexistent/debian-13.vdi"`) {
		t.Fatalf("missing image: %v", err)
	}

	// A host-only network VirtualBox refuses to address.
	script := filepath.Join(fake, Program)
	b, _ := os.ReadFile(script)
	_ = os.WriteFile(script, []byte(strings.Replace(string(b), "hostonlyif) [", `hostonlyif) [ "$2" = ipconfig ] && { echo "VBoxManage: error: Code E_ACCESSDENIED" >&2; exit 1; }; [`, 1)), 0o755)
	_, err := (HostOnlyNetwork{}).Create(ctx, infer.CreateRequest[HostOnlyNetworkArgs]{Name: "ext", Inputs: HostOnlyNetworkArgs{HostAddress: "192.168.1.1", Netmask: "255.255.255.0"}})
	if err == nil || !strings.Contains(err.Error(), "/etc/vbox/networks.conf") || !strings.Contains(err.Error(), "E_ACCESSDENIED") {
		t.Fatalf("host-only refused: %v", err)
	}
}

func TestHostOnlyNetworkCommandLines(t *testing.T) {
	fake := withFake(t)
	ctx := context.Background()
	args := HostOnlyNetworkArgs{HostAddress: "192.168.1.1", Netmask: "255.255.255.0"}
	created, err := HostOnlyNetwork{}.Create(ctx, infer.CreateRequest[HostOnlyNetworkArgs]{Name: "ext", Inputs: args})
	if err != nil || created.Output.Interface != "vboxnet0" {
		t.Fatalf("create: %+v %v", created.Output, err)
	}
	same(t, "create", recorded(t, fake), []string{
		"--version",
		"hostonlyif create",
		"hostonlyif ipconfig vboxnet0 --ip 192.168.1.1 --netmask 255.255.255.0",
		"dhcpserver remove --interface=vboxnet0",
	})
	list := "Name:            vboxnet0\nGUID:            786f6276-656e-4074-8000-0a0027000000\nDHCP:            Disabled\nIPAddress:       192.168.1.1\nNetworkMask:     255.255.255.0\n\n"
	_ = os.WriteFile(filepath.Join(fake, "list-hostonlyifs"), []byte(list), 0o644)
	d, err := HostOnlyNetwork{}.Diff(ctx, infer.DiffRequest[HostOnlyNetworkArgs, HostOnlyNetworkState]{State: created.Output, Inputs: args})
	if err != nil || d.HasChanges {
		t.Fatalf("no drift expected: %+v %v", d, err)
	}
	_ = os.WriteFile(filepath.Join(fake, "list-hostonlyifs"), []byte(strings.Replace(list, "192.168.1.1", "192.168.56.1", 1)), 0o644)
	if d, _ = (HostOnlyNetwork{}).Diff(ctx, infer.DiffRequest[HostOnlyNetworkArgs, HostOnlyNetworkState]{State: created.Output, Inputs: args}); !d.HasChanges {
		t.Fatal("an address changed by hand must show as drift")
	}
	recorded(t, fake)
	if _, err := (HostOnlyNetwork{}).Delete(ctx, infer.DeleteRequest[HostOnlyNetworkState]{State: created.Output}); err != nil {
		t.Fatal(err)
	}
	same(t, "delete", recorded(t, fake), []string{"hostonlyif remove vboxnet0"})
}
