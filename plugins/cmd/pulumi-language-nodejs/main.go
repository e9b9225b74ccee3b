// Command pulumi-language-nodejs is a small Node.js language host for machines
// that cannot download Pulumi's own. It serves the LanguageRuntime gRPC
// service: Run starts `node @pulumi/pulumi/cmd/run` against the engine's
// resource monitor, which is all `pulumi preview/up/destroy` need from it.
//
// Protocol: https://pulumi-developer-docs.readthedocs.io/latest/docs/architecture/languages/README.html
// A user with internet installs Pulumi the official way and never runs this.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

// exitBail is the code @pulumi/pulumi's run script exits with after it has
// already shown the user an actionable message (sdk/nodejs/cmd/run).
const exitBail = 32

func main() {
	tracing := flag.String("tracing", "", "Zipkin endpoint (passed through to the program)")
	runtime := flag.String("runtime", "nodejs", "only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if *runtime != "nodejs" {
		fmt.Fprintf(os.Stderr, "unsupported runtime %q: this host runs Node.js only\n", *runtime)
		os.Exit(1)
	}

	engine := ""
	if flag.NArg() > 0 {
		engine = flag.Arg(0)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engine != "" {
		// Exit when the engine goes away, like every Pulumi plugin.
		if err := rpcutil.Healthcheck(ctx, engine, 5*time.Minute, cancel); err != nil {
			fmt.Fprintf(os.Stderr, "health check: %v\n", err)
			os.Exit(1)
		}
	}

	stop := make(chan bool)
	go func() { <-ctx.Done(); close(stop) }()
	h := &host{engine: engine, tracing: *tracing}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engine  string
	tracing string

	mu      sync.Mutex
	running []*exec.Cmd
}

// options are Pulumi.yaml's `runtime.options` for nodejs.
type options struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func parseOptions(m map[string]any) (options, error) {
	o := options{typescript: true}
	if v, ok := m["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return o, fmt.Errorf("runtime option typescript must be a boolean, got %v", v)
		}
		o.typescript = b
	}
	if v, ok := m["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return o, fmt.Errorf("runtime option tsconfig must be a string, got %v", v)
		}
		o.tsconfig = s
	}
	if v, ok := m["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return o, fmt.Errorf("runtime option nodeargs must be a string, got %v", v)
		}
		args, err := shlex.Split(s)
		if err != nil {
			return o, fmt.Errorf("runtime option nodeargs: %w", err)
		}
		o.nodeargs = args
	}
	return o, nil
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engine = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// Plugins come from `pulumi plugin install` and Pulumi.yaml's plugins
// section; automatic acquisition is off, so there is nothing to report.
func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func programDir(info *pulumirpc.ProgramInfo, legacy string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return legacy
}

// InstallDependencies runs `npm ci` (or `npm install` without a lock file).
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := programDir(req.GetInfo(), req.GetDirectory()) //nolint:staticcheck // legacy field
	verb := "install"
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err == nil {
		verb = "ci"
	}
	cmd := exec.CommandContext(stream.Context(), "npm", verb, "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout = streamWriter(func(b []byte) error {
		return stream.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	})
	cmd.Stderr = streamWriter(func(b []byte) error {
		return stream.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	})
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s in %s: %w", verb, dir, err)
	}
	return nil
}

type streamWriter func([]byte) error

func (w streamWriter) Write(p []byte) (int, error) {
	b := make([]byte, len(p))
	copy(b, p)
	if err := w(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func (h *host) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd()) //nolint:staticcheck // legacy field
	raw, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for name, v := range pkg.Dependencies {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: v})
	}
	return resp, nil
}

// Cancel interrupts running programs; the engine calls it on Ctrl-C.
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.running {
		if c.Process != nil {
			_ = c.Process.Signal(os.Interrupt)
		}
	}
	return &emptypb.Empty{}, nil
}

// runScript finds @pulumi/pulumi's run entry point from the program's own
// node_modules, so the SDK version is the one the program was built with.
func runScript(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "node", "-e",
		`process.stdout.write(require.resolve("@pulumi/pulumi/cmd/run", {paths: [process.argv[1]]}))`,
		dir).Output()
	if err != nil {
		return "", fmt.Errorf("cannot find @pulumi/pulumi under %s (run `npm ci` there first): %w", dir, err)
	}
	return string(out), nil
}

// configJSON keeps the "<namespace>:config:<name>" keys that every
// @pulumi/pulumi version reads.
func configJSON(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func runArgs(req *pulumirpc.RunRequest, engine, tracing, dir, script string) []string {
	args := []string{script}
	add := func(flag, v string) {
		if v != "" {
			args = append(args, "--"+flag, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engine)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", dir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", tracing)
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram() //nolint:staticcheck // legacy field
	}
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd()) //nolint:staticcheck // legacy field
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	script, err := runScript(ctx, dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	cfg, err := configJSON(req.GetConfig())
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("config: %v", err)}, nil
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("config secret keys: %v", err)}, nil
	}
	if req.GetConfigSecretKeys() == nil {
		secretKeys = []byte("[]")
	}

	args := append(append([]string{}, opts.nodeargs...), runArgs(req, h.engine, h.tracing, dir, script)...)
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PULUMI_CONFIG="+cfg, "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	if opts.typescript {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	// Node may switch its stdio to non-blocking mode; never hand it ours.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}

	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start node: %v", err)}, nil
	}
	h.mu.Lock()
	h.running = append(h.running, cmd)
	h.mu.Unlock()
	defer h.forget(cmd)

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			err = <-done
		}
	}
	return runResponse(err), nil
}

func runResponse(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if exit.ExitCode() == exitBail {
			return &pulumirpc.RunResponse{Bail: true}
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run node: %v", err)}
}

func (h *host) forget(cmd *exec.Cmd) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, c := range h.running {
		if c == cmd {
			h.running = append(h.running[:i], h.running[i+1:]...)
			return
		}
	}
}
