package nspawn

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// DefaultCacheDir holds base images, shared by every stack and run: a second
// stack or a CI run on the same host reuses an image instead of building it.
const DefaultCacheDir = "/var/cache/thesis-cluster/images"

// BaseImage is a Debian root filesystem built once with debootstrap and the
// project's package list, cached under its key.
type BaseImage struct{}

// BaseImageArgs are the inputs of a BaseImage.
type BaseImageArgs struct {
	Suite    string   `pulumi:"suite"`
	Packages []string `pulumi:"packages"`
	// Script is the build script's text (files/base-image/build.sh).
	Script string `pulumi:"script"`
	// Mirror defaults to the Debian archive the host's apt uses.
	Mirror   string `pulumi:"mirror,optional"`
	CacheDir string `pulumi:"cacheDir,optional"`
}

// BaseImageState is what Pulumi keeps of a BaseImage.
type BaseImageState struct {
	BaseImageArgs
	Key string `pulumi:"key"`
	// Path is the root filesystem machines use as their overlay's lower layer.
	Path string `pulumi:"path"`
}

// Annotate documents the resource.
func (b *BaseImage) Annotate(a infer.Annotator) {
	a.Describe(b, "A Debian root filesystem with every package the cluster needs, "+
		"built once with debootstrap and cached by its package list and build script.")
}

func (a BaseImageArgs) paths() (key, dir, rootfs string) {
	cache := a.CacheDir
	if cache == "" {
		cache = DefaultCacheDir
	}
	key = ImageKey(a.Suite, a.Packages, a.Script)
	dir = filepath.Join(cache, key)
	return key, dir, filepath.Join(dir, "rootfs")
}

// complete marks an image whose build script succeeded.
const completeMarker = "complete"

func imageReady(dir string) bool { return exists(filepath.Join(dir, completeMarker)) }

// Create builds the image unless a complete one with the same key is cached.
func (BaseImage) Create(
	ctx context.Context, req infer.CreateRequest[BaseImageArgs],
) (infer.CreateResponse[BaseImageState], error) {
	key, dir, rootfs := req.Inputs.paths()
	state := BaseImageState{BaseImageArgs: req.Inputs, Key: key, Path: rootfs}
	if req.DryRun {
		return infer.CreateResponse[BaseImageState]{ID: key, Output: state}, nil
	}
	if err := requireRoot(); err != nil {
		return infer.CreateResponse[BaseImageState]{}, err
	}
	err := ensureImage(ctx, req.Inputs, dir, rootfs)
	return infer.CreateResponse[BaseImageState]{ID: key, Output: state}, err
}

// ensureImage builds the image under a lock, so concurrent stacks build it once.
func ensureImage(ctx context.Context, a BaseImageArgs, dir, rootfs string) error {
	if imageReady(dir) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	if imageReady(dir) { // built by another process while we waited
		return nil
	}
	log := p.GetLogger(ctx)
	mirror := a.Mirror
	if mirror == "" {
		mirror = HostMirror()
	}
	for _, tool := range []string{"debootstrap", "chroot", "systemctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("building the base image needs %s on this host (apt-get install debootstrap systemd)", tool)
		}
	}
	tmp := rootfs + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	script := filepath.Join(dir, "build.sh")
	pkgs := filepath.Join(dir, "packages.txt")
	if err := os.WriteFile(script, []byte(a.Script), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(pkgs, []byte(strings.Join(NormalizePackages(a.Packages), "\n")+"\n"), 0o644); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log.InfoStatusf("building base image %s from %s (a few minutes; log: %s)", filepath.Base(dir), mirror, logFile.Name())
	cmd := exec.CommandContext(ctx, "bash", script, tmp, a.Suite, mirror, pkgs)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("base image build failed (%v); see %s", err, logFile.Name())
	}
	if err := os.RemoveAll(rootfs); err != nil {
		return err
	}
	if err := os.Rename(tmp, rootfs); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, completeMarker), nil, 0o644)
}

// Diff replaces the image when what goes into it changes, and reports drift
// when the cached image was removed from the host.
func (BaseImage) Diff(
	_ context.Context, req infer.DiffRequest[BaseImageArgs, BaseImageState],
) (infer.DiffResponse, error) {
	diff := map[string]p.PropertyDiff{}
	newKey, _, _ := req.Inputs.paths()
	if newKey != req.State.Key {
		diff["packages"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	} else if !imageReady(filepath.Dir(req.State.Path)) {
		diff["path"] = p.PropertyDiff{Kind: p.Update}
	}
	return infer.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff}, nil
}

// Update rebuilds an image that went missing.
func (BaseImage) Update(
	ctx context.Context, req infer.UpdateRequest[BaseImageArgs, BaseImageState],
) (infer.UpdateResponse[BaseImageState], error) {
	key, dir, rootfs := req.Inputs.paths()
	state := BaseImageState{BaseImageArgs: req.Inputs, Key: key, Path: rootfs}
	if req.DryRun {
		return infer.UpdateResponse[BaseImageState]{Output: state}, nil
	}
	if err := requireRoot(); err != nil {
		return infer.UpdateResponse[BaseImageState]{}, err
	}
	return infer.UpdateResponse[BaseImageState]{Output: state}, ensureImage(ctx, req.Inputs, dir, rootfs)
}

// Delete keeps the cached image: other stacks and later runs share it.
func (BaseImage) Delete(context.Context, infer.DeleteRequest[BaseImageState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}
