package nspawn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// run executes a host command and returns its trimmed stdout; the error
// carries the command line and its stderr.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// requireRoot fails early with a clear message: bridges, namespaces, mounts
// and loop devices all need root.
func requireRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("the nspawn backend makes bridges, network namespaces, mounts and " +
			"loop devices on this host and must run as root (run pulumi as root)")
	}
	return nil
}

// exists reports whether a path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
