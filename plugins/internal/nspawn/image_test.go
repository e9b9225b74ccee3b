package nspawn

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestImageKeyDependsOnTheSetOnly(t *testing.T) {
	a := ImageKey("trixie", []string{"ssh", "haproxy", "ssh"}, "r1")
	b := ImageKey("trixie", []string{"haproxy", " ssh "}, "r1")
	if a != b {
		t.Fatalf("same set, different keys: %s %s", a, b)
	}
	for _, other := range []string{
		ImageKey("trixie", []string{"haproxy"}, "r1"),
		ImageKey("bookworm", []string{"haproxy", "ssh"}, "r1"),
		ImageKey("trixie", []string{"haproxy", "ssh"}, "r2"),
	} {
		if other == a {
			t.Fatalf("different input, same key %s", a)
		}
	}
	if !strings.HasPrefix(a, "trixie-") || len(a) != len("trixie-")+16 {
		t.Fatalf("key %q", a)
	}
}

func TestParsePackageList(t *testing.T) {
	got, err := ParsePackageList(strings.NewReader("# c\nsystemd\n\n  haproxy # front door\n"))
	if err != nil || !reflect.DeepEqual(got, []string{"systemd", "haproxy"}) {
		t.Fatalf("got %v %v", got, err)
	}
	if _, err := ParsePackageList(strings.NewReader("a b\n")); err == nil {
		t.Fatal("two names on a line must be refused")
	}
}

func TestTheProjectPackageListParses(t *testing.T) {
	f, err := os.Open("../../../files/base-image/packages.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkgs, err := ParsePackageList(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"openssh-server", "keepalived", "haproxy", "dnsmasq", "nis", "glusterfs-server", "htcondor", "nfs-ganesha", "libnfs-utils", "xfsprogs", "fuse3", "slurmctld", "slurmd", "slurmdbd", "munge", "mariadb-server"} {
		found := false
		for _, p := range pkgs {
			found = found || p == want
		}
		if !found {
			t.Errorf("files/base-image/packages.txt lacks %s", want)
		}
	}
}

func TestMirrorFromSources(t *testing.T) {
	deb822 := "Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
	if got := MirrorFromSources(map[string]string{"a.sources": deb822}); got != "http://mirror.example/debian" {
		t.Fatalf("deb822: %s", got)
	}
	oneLine := "deb [signed-by=/k.gpg arch=amd64] http://m.example/debian/ trixie main\n"
	if got := MirrorFromSources(map[string]string{"sources.list": oneLine}); got != "http://m.example/debian" {
		t.Fatalf("one-line: %s", got)
	}
	if got := MirrorFromSources(map[string]string{"x.list": "deb https://other.example/apt stable main\n"}); got != DefaultMirror {
		t.Fatalf("fallback: %s", got)
	}
}
