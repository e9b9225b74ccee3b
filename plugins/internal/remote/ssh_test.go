package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
	"golang.org/x/crypto/ssh"

	"thesis-cluster/plugins/internal/secrets"
)

// testServer is an SSH server on 127.0.0.1 (a test double of sshd): it accepts
// one client key, runs "exec" requests with /bin/sh on this host, and forwards
// "direct-tcpip" channels, so it can serve as a jump host.
type testServer struct {
	addr     string
	hostKey  string // authorized_keys line
	execs    []string
	accepted atomic.Int32
	// conns are the server ends of the connections, to cut them in a test.
	mu    sync.Mutex
	conns []net.Conn
}

func newTestServer(t *testing.T, clientPub string) *testServer {
	t.Helper()
	priv, pub, err := secrets.NewKeyPair("test-host")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(priv))
	if err != nil {
		t.Fatal(err)
	}
	allowed, _, _, _, err := ssh.ParseAuthorizedKey([]byte(clientPub))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(k.Marshal(), allowed.Marshal()) {
				return nil, nil
			}
			return nil, io.EOF
		},
	}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &testServer{addr: l.Addr().String(), hostKey: pub}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go s.serve(c, cfg)
		}
	}()
	return s
}

func (s *testServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			ch, reqs, _ := nc.Accept()
			go s.session(ch, reqs)
		case "direct-tcpip":
			var target struct {
				Host       string
				Port       uint32
				OriginHost string
				OriginPort uint32
			}
			_ = ssh.Unmarshal(nc.ExtraData(), &target)
			up, err := net.Dial("tcp", net.JoinHostPort(target.Host, itoa(target.Port)))
			if err != nil {
				_ = nc.Reject(ssh.ConnectionFailed, err.Error())
				continue
			}
			ch, reqs, _ := nc.Accept()
			go ssh.DiscardRequests(reqs)
			go func() { _, _ = io.Copy(ch, up); ch.Close() }()
			go func() { _, _ = io.Copy(up, ch); up.Close() }()
		default:
			_ = nc.Reject(ssh.UnknownChannelType, "no")
		}
	}
}

func itoa(n uint32) string { return strconv.Itoa(int(n)) }

func (s *testServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		_ = ssh.Unmarshal(req.Payload, &payload)
		s.mu.Lock()
		s.execs = append(s.execs, payload.Command)
		s.mu.Unlock()
		_ = req.Reply(true, nil)
		cmd := exec.Command("/bin/sh", "-c", payload.Command)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
			if ee, ok := err.(*exec.ExitError); ok {
				status = uint32(ee.ExitCode())
			}
		}
		b := make([]byte, 4)
		binary.BigEndian.PutUint32(b, status)
		_, _ = ch.SendRequest("exit-status", false, b)
		return
	}
}

func hopTo(s *testServer, key string) Hop {
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	return Hop{Host: host, Port: p, PrivateKey: key, HostKeys: []string{s.hostKey}}
}

// dialTestServer starts a test server and connects to it; the client is
// closed when the test ends.
func dialTestServer(t *testing.T) (*testServer, *ssh.Client) {
	t.Helper()
	priv, pub, _ := secrets.NewKeyPair("admin")
	srv := newTestServer(t, pub)
	client, err := Dial(context.Background(), Connection{Hop: hopTo(srv, priv)}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return srv, client
}

func TestRunPinsHostKeyAndReportsFailures(t *testing.T) {
	priv, pub, _ := secrets.NewKeyPair("admin")
	srv := newTestServer(t, pub)
	ctx := context.Background()
	client, err := Dial(ctx, Connection{Hop: hopTo(srv, priv)}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	res, err := Run(ctx, client, "echo 'it''s' out; echo err >&2")
	if err != nil || res.Stdout != "its out\n" || res.Stderr != "err\n" {
		t.Fatalf("run: %q %q %v", res.Stdout, res.Stderr, err)
	}
	if _, err := Run(ctx, client, "echo broken >&2; exit 3"); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("a failing script must fail with its stderr, got %v", err)
	}

	// Another host key than the pinned one is refused at once, not retried.
	_, otherPub, _ := secrets.NewKeyPair("other")
	wrong := hopTo(srv, priv)
	wrong.HostKeys = []string{otherPub}
	start := time.Now()
	if _, err := Dial(ctx, Connection{Hop: wrong}, 30*time.Second); err == nil || !strings.Contains(err.Error(), "not the pinned one") {
		t.Fatalf("wrong host key accepted: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("a host key mismatch must not be retried until the deadline")
	}
}

// A script travels on stdin: the session's command line, and the argv and
// environment of the shells that run it, never hold the script or what it
// carries, while the script still runs whole (functions, here-documents,
// exit codes) and its commands see stdin at its end.
func TestRunKeepsTheScriptOffCommandLines(t *testing.T) {
	srv, client := dialTestServer(t)
	ctx := context.Background()
	const secret = "s3cret-4f2a9c"
	script := "set -euo pipefail\n" +
		"put() { printf '%s\\n' \"$1\"; }\n" +
		"put " + secret + "\n" +
		"cat <<'EOF'\nheredoc " + secret + "\nEOF\n" +
		"echo \"stdin:$(cat | wc -c)\"\n" +
		"for p in $$ $PPID; do tr '\\0' ' ' </proc/$p/cmdline; tr '\\0' ' ' </proc/$p/environ; echo; done >&2\n"
	res, err := Run(ctx, client, script)
	if err != nil {
		t.Fatal(err)
	}
	if want := secret + "\nheredoc " + secret + "\nstdin:0\n"; res.Stdout != want {
		t.Fatalf("stdout %q, want %q", res.Stdout, want)
	}
	if strings.Contains(res.Stderr, secret) || !strings.Contains(res.Stderr, "bash") {
		t.Fatalf("the script's own processes show it in argv or environ:\n%s", res.Stderr)
	}
	for _, e := range srv.execs {
		if strings.Contains(e, secret) {
			t.Fatalf("the session's command line carries the script: %q", e)
		}
	}
	if _, err := Run(ctx, client, "set -e\nfalse\necho not reached"); err == nil {
		t.Fatal("set -e must stop the script with a failure")
	}
	if _, err := Run(ctx, client, "exit 7"); err == nil || !strings.Contains(err.Error(), "7") {
		t.Fatalf("the script's exit status must come back, got %v", err)
	}
}

func TestDialThroughJumpHost(t *testing.T) {
	priv, pub, _ := secrets.NewKeyPair("admin")
	jump := newTestServer(t, pub)
	target := newTestServer(t, pub)
	jumpHop := hopTo(jump, priv)
	client, err := Dial(context.Background(), Connection{Hop: hopTo(target, priv), Proxy: &jumpHop}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if res, err := Run(context.Background(), client, "echo via"); err != nil || res.Stdout != "via\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
	if len(target.execs) != 1 || len(jump.execs) != 0 {
		t.Fatalf("the command must run on the target only: target %v jump %v", target.execs, jump.execs)
	}

	// A dead first jump host: the fallback carries the connection.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := l.Addr().String()
	l.Close()
	dead := jumpHop
	dead.Host, dead.Port = "127.0.0.1", mustPort(deadAddr)
	client2, err := Dial(context.Background(), Connection{Hop: hopTo(target, priv), Proxy: &dead, ProxyFallbacks: []Hop{jumpHop}}, 5*time.Second)
	if err != nil {
		t.Fatalf("fallback jump host: %v", err)
	}
	client2.Close()
}

// silentServer accepts TCP connections and never says a word, like a machine
// whose sshd hangs: a dial must give up on it, directly or through a jump host.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func TestDialGivesUpOnASilentMachine(t *testing.T) {
	dialTimeout, jumpTimeout = time.Second, 500*time.Millisecond
	t.Cleanup(func() { dialTimeout, jumpTimeout = 15*time.Second, 5*time.Second })
	priv, pub, _ := secrets.NewKeyPair("admin")
	jump := newTestServer(t, pub)
	silent := silentServer(t)
	host, _, _ := net.SplitHostPort(silent)
	hop := Hop{Host: host, Port: mustPort(silent), PrivateKey: priv, HostKeys: []string{jump.hostKey}}
	jumpHop := hopTo(jump, priv)
	for name, c := range map[string]Connection{
		"direct":                  {Hop: hop},
		"through a jump host":     {Hop: hop, Proxy: &jumpHop},
		"silent jump, then other": {Hop: hopTo(jump, priv), Proxy: &hop, ProxyFallbacks: []Hop{jumpHop}},
	} {
		start := time.Now()
		client, err := Dial(context.Background(), c, 0)
		took := time.Since(start)
		if name == "silent jump, then other" {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			client.Close()
		} else if err == nil || !strings.Contains(err.Error(), "no answer within") {
			t.Fatalf("%s: want a timeout, got %v", name, err)
		}
		if took > 3*time.Second {
			t.Fatalf("%s: took %s", name, took)
		}
	}
}

func mustPort(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return p
}

func TestCommandCheckFindsDrift(t *testing.T) {
	priv, pub, _ := secrets.NewKeyPair("admin")
	srv := newTestServer(t, pub)
	dir := t.TempDir()
	args := CommandArgs{
		Connection: Connection{Hop: hopTo(srv, priv)},
		Create:     "echo managed > " + dir + "/f",
		Check:      "cat " + dir + "/f",
	}
	ctx := context.Background()
	created, err := Command{}.Create(ctx, infer.CreateRequest[CommandArgs]{Name: "c", Inputs: args})
	if err != nil || created.Output.Observed != "managed" {
		t.Fatalf("create: %+v %v", created.Output, err)
	}
	diff := func() bool {
		d, err := Command{}.Diff(ctx, infer.DiffRequest[CommandArgs, CommandState]{State: created.Output, Inputs: args})
		if err != nil {
			t.Fatal(err)
		}
		return d.HasChanges
	}
	if diff() {
		t.Fatal("no change expected right after create")
	}
	if err := exec.Command("sh", "-c", "echo edited by hand > "+dir+"/f").Run(); err != nil {
		t.Fatal(err)
	}
	if !diff() {
		t.Fatal("a hand edit must show as drift")
	}

	// With Expect, the reference is the wanted state, and an update that does
	// not reach it fails.
	args.Expect = "wanted"
	if _, err := (Command{}).Update(ctx, infer.UpdateRequest[CommandArgs, CommandState]{State: created.Output, Inputs: args}); err == nil ||
		!strings.Contains(err.Error(), "instead of\nwanted") {
		t.Fatalf("an update that leaves another state must fail, got %v", err)
	}
	args.Create = "echo wanted > " + dir + "/f"
	updated, err := (Command{}).Update(ctx, infer.UpdateRequest[CommandArgs, CommandState]{State: created.Output, Inputs: args})
	if err != nil || updated.Output.Observed != "wanted" {
		t.Fatalf("update: %+v %v", updated.Output, err)
	}
	created.Output = updated.Output
	if diff() {
		t.Fatal("no drift once the machine is as expected")
	}
}

func TestCommandUploadsFilesBeforeItsScript(t *testing.T) {
	priv, pub, _ := secrets.NewKeyPair("admin")
	srv := newTestServer(t, pub)
	dir := t.TempDir()
	src := dir + "/local.tar"
	payload := bytes.Repeat([]byte("tarball\x00"), 64*1024) // 512 KiB: more than a script may carry
	if err := os.WriteFile(src, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	args := CommandArgs{
		Connection: Connection{Hop: hopTo(srv, priv)},
		Uploads:    []Upload{{Source: src, Path: dir + "/remote/in/here.tar"}},
		Create:     "cmp " + dir + "/local.tar " + dir + "/remote/in/here.tar && echo same",
	}
	created, err := Command{}.Create(context.Background(), infer.CreateRequest[CommandArgs]{Name: "u", Inputs: args})
	if err != nil || strings.TrimSpace(created.Output.Stdout) != "same" {
		t.Fatalf("create: %q %v", created.Output.Stdout, err)
	}
	args.Uploads[0].Source = dir + "/missing.tar"
	if _, err := (Command{}).Create(context.Background(), infer.CreateRequest[CommandArgs]{Name: "u", Inputs: args}); err == nil || !strings.Contains(err.Error(), "missing.tar") {
		t.Fatalf("a missing source must fail naming it, got %v", err)
	}
}

func TestLineDiff(t *testing.T) {
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	got := lineDiff("/etc/f "+h1+" 644\nunit inactive enabled", "/etc/f "+h2+" 644\nunit active enabled")
	want := "now: /etc/f aaaaaaaa… 644; now: unit inactive enabled; want: /etc/f bbbbbbbb… 644; want: unit active enabled"
	if got != want {
		t.Fatalf("got %q", got)
	}
}
