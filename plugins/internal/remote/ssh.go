// Package remote runs commands on the cluster's machines over SSH, with
// pinned host keys and an optional jump host, and reads their state back so
// that changes made by hand show as drift.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Hop is one SSH endpoint.
type Hop struct {
	Host string `pulumi:"host"`
	// Port defaults to 22.
	Port int `pulumi:"port,optional"`
	// User defaults to root.
	User       string `pulumi:"user,optional"`
	PrivateKey string `pulumi:"privateKey" provider:"secret"`
	// HostKeys are the keys the endpoint may present (authorized_keys format);
	// any other key is refused.
	HostKeys []string `pulumi:"hostKeys"`
}

// Connection reaches a machine, through Proxy when it is set (a director,
// for nodes only on the internal network). When the proxy cannot be reached,
// each of ProxyFallbacks is tried in turn (the other director).
type Connection struct {
	Hop
	Proxy          *Hop  `pulumi:"proxy,optional"`
	ProxyFallbacks []Hop `pulumi:"proxyFallbacks,optional"`
}

func (h Hop) address() string {
	port := h.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(h.Host, strconv.Itoa(port))
}

func (h Hop) config() (*ssh.ClientConfig, error) {
	if h.Host == "" {
		return nil, errors.New("connection: host is empty")
	}
	signer, err := ssh.ParsePrivateKey([]byte(h.PrivateKey))
	if err != nil {
		return nil, fmt.Errorf("connection to %s: privateKey: %w", h.Host, err)
	}
	var pinned []ssh.PublicKey
	var algos []string
	for _, line := range h.HostKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("connection to %s: hostKeys: %q: %w", h.Host, line, err)
		}
		pinned = append(pinned, k)
		algos = append(algos, k.Type())
	}
	if len(pinned) == 0 {
		return nil, fmt.Errorf("connection to %s: no host key to pin", h.Host)
	}
	user := h.User
	if user == "" {
		user = "root"
	}
	return &ssh.ClientConfig{
		User:              user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyAlgorithms: algos,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			for _, k := range pinned {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil
				}
			}
			return &hostKeyError{fmt.Errorf("host key of %s (%s) is not the pinned one", h.Host, ssh.FingerprintSHA256(key))}
		},
	}, nil
}

// Each dial attempt is bounded as a whole, not only its TCP connect: a
// machine that accepts the connection but never answers (booting, frozen,
// overloaded) must not hold a preview or an up forever.
var (
	dialTimeout = 15 * time.Second
	jumpTimeout = 5 * time.Second
)

// Dial opens an SSH client to the connection's machine, retrying until the
// deadline while the machine (or its jump host) is still coming up.
func Dial(ctx context.Context, c Connection, wait time.Duration) (*ssh.Client, error) {
	deadline := time.Now().Add(wait)
	for {
		client, err := dialOnce(ctx, c)
		if err == nil {
			return client, nil
		}
		var keyErr *hostKeyError
		if errors.As(err, &keyErr) || time.Now().After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// hostKeyError is a failure that waiting cannot fix: bad connection settings
// or a host key other than the pinned one.
type hostKeyError struct{ err error }

func (e *hostKeyError) Error() string { return e.err.Error() }
func (e *hostKeyError) Unwrap() error { return e.err }

// bounded runs f, closing conn (which makes f return) when the timeout or ctx
// ends first.
func bounded[T any](ctx context.Context, timeout time.Duration, conn io.Closer, what string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var zero T
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
		conn.Close()
		return zero, fmt.Errorf("%s: no answer within %s", what, timeout)
	case <-ctx.Done():
		conn.Close()
		return zero, ctx.Err()
	}
}

// handshake opens an SSH client over conn, within timeout.
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	return bounded(ctx, timeout, conn, "ssh handshake with "+addr, func() (*ssh.Client, error) {
		cc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
		if err != nil {
			conn.Close()
			return nil, err
		}
		return ssh.NewClient(cc, chans, reqs), nil
	})
}

// connect dials hop over TCP and shakes hands, all within timeout.
func connect(ctx context.Context, hop Hop, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", hop.address())
	if err != nil {
		return nil, err
	}
	return handshake(ctx, conn, hop.address(), cfg, timeout-time.Since(start))
}

func dialOnce(ctx context.Context, c Connection) (*ssh.Client, error) {
	target, err := c.config()
	if err != nil {
		return nil, &hostKeyError{err}
	}
	if c.Proxy == nil {
		return connect(ctx, c.Hop, target, dialTimeout)
	}
	var proxy *ssh.Client
	var errs []error
	for _, hop := range append([]Hop{*c.Proxy}, c.ProxyFallbacks...) {
		jump, err := hop.config()
		if err != nil {
			return nil, &hostKeyError{err}
		}
		if proxy, err = connect(ctx, hop, jump, jumpTimeout); err == nil {
			break
		}
		var keyErr *hostKeyError
		if errors.As(err, &keyErr) {
			return nil, err
		}
		errs = append(errs, fmt.Errorf("jump host %s: %w", hop.address(), err))
	}
	if proxy == nil {
		return nil, errors.Join(errs...)
	}
	start := time.Now()
	conn, err := bounded(ctx, dialTimeout, proxy, "through "+proxy.RemoteAddr().String()+" to "+c.address(), func() (net.Conn, error) {
		return proxy.Dial("tcp", c.address())
	})
	if err != nil {
		proxy.Close()
		return nil, fmt.Errorf("through %s to %s: %w", proxy.RemoteAddr(), c.address(), err)
	}
	client, err := handshake(ctx, conn, c.address(), target, dialTimeout-time.Since(start))
	if err != nil {
		proxy.Close()
		return nil, err
	}
	go func() { _ = client.Wait(); proxy.Close() }()
	return client, nil
}

// Result is what a remote script printed.
type Result struct {
	Stdout, Stderr string
}

// runScript is the only command line a script's session shows on the
// machine: bash reads the script from the session's stdin into memory and
// evaluates it there, so neither the script nor the file contents and secrets
// inside it ever appear in a process' argv or environment (/proc/PID/cmdline
// is readable by every user of the machine) or in a file. The script's own
// commands see stdin at its end, as with </dev/null.
const runScript = `exec bash -c 'eval "$(cat)"'`

// Run executes a bash script on the client's machine, sending it on stdin.
func Run(ctx context.Context, client *ssh.Client, script string) (Result, error) {
	session, err := client.NewSession()
	if err != nil {
		return Result{}, err
	}
	defer session.Close()
	var stdout, stderr bytes.Buffer
	session.Stdin = strings.NewReader(script)
	session.Stdout, session.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- session.Run(runScript) }()
	select {
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGKILL)
		return Result{}, ctx.Err()
	case err = <-done:
	}
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		return res, fmt.Errorf("%w: %s", err, lastLines(res.Stderr, 20))
	}
	return res, nil
}

// upload copies the local file source to path on the client's machine,
// through a temporary file renamed into place.
func upload(ctx context.Context, client *ssh.Client, source, path string) error {
	f, err := os.Open(source)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	var stderr bytes.Buffer
	session.Stdin, session.Stderr = f, &stderr
	q := shellQuote(path)
	done := make(chan error, 1)
	go func() {
		// The content travels on stdin into a file only root can read while
		// it is written; the script that uses it sets its final mode.
		done <- session.Run(fmt.Sprintf("mkdir -p \"$(dirname %s)\" && (umask 077 && cat >%s.upload) && mv -f %s.upload %s", q, q, q, q))
	}()
	select {
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGKILL)
		return ctx.Err()
	case err = <-done:
	}
	if err != nil {
		return fmt.Errorf("upload of %s to %s: %w: %s", source, path, err, lastLines(stderr.String(), 5))
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
