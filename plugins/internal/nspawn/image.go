// Package nspawn builds the local stack: a Debian base image, Linux bridges
// and systemd-nspawn machines on this host. See docs/local-backend.md.
package nspawn

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultMirror is used when the host's apt sources name no Debian mirror.
const DefaultMirror = "http://deb.debian.org/debian"

// ImageKey names an image by what goes into it: suite, package set and the
// build script's text (not the mirror), so a changed list or script builds a
// new image.
func ImageKey(suite string, packages []string, recipe string) string {
	pkgs := NormalizePackages(packages)
	h := sha256.New()
	fmt.Fprintf(h, "recipe %x\nsuite %s\n", sha256.Sum256([]byte(recipe)), suite)
	for _, p := range pkgs {
		fmt.Fprintln(h, p)
	}
	return suite + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// NormalizePackages sorts and de-duplicates a package list, dropping blanks.
func NormalizePackages(packages []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range packages {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ParsePackageList reads one package a line; '#' starts a comment.
func ParsePackageList(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if f := strings.Fields(line); len(f) == 1 {
			out = append(out, f[0])
		} else if len(f) > 1 {
			return nil, fmt.Errorf("one package a line, got %q", sc.Text())
		}
	}
	return out, sc.Err()
}

// MirrorFromSources finds the Debian archive the host's apt uses, from
// one-line (sources.list) or deb822 (*.sources) files, so the image comes
// from the same place as the host's packages.
func MirrorFromSources(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, line := range strings.Split(files[n], "\n") {
			f := strings.Fields(strings.TrimSpace(line))
			var uris []string
			switch {
			case len(f) >= 3 && f[0] == "deb":
				uri := f[1]
				if strings.HasPrefix(uri, "[") { // deb [options] uri suite
					for i := 1; i < len(f); i++ {
						if strings.HasSuffix(f[i], "]") && i+1 < len(f) {
							uri = f[i+1]
							break
						}
					}
				}
				uris = []string{uri}
			case len(f) >= 2 && f[0] == "URIs:":
				uris = f[1:]
			}
			for _, u := range uris {
				if strings.HasSuffix(strings.TrimRight(u, "/"), "/debian") {
					return strings.TrimRight(u, "/")
				}
			}
		}
	}
	return DefaultMirror
}

// HostMirror reads /etc/apt/sources.list and sources.list.d.
func HostMirror() string {
	files := map[string]string{}
	paths, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	more, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	for _, p := range append(append([]string{"/etc/apt/sources.list"}, paths...), more...) {
		if b, err := os.ReadFile(p); err == nil {
			files[p] = string(b)
		}
	}
	return MirrorFromSources(files)
}
