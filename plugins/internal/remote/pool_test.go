package remote

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"thesis-cluster/plugins/internal/secrets"
)

func newPoolServer(t *testing.T) (*pool, *testServer, Connection) {
	t.Helper()
	priv, pub, _ := secrets.NewKeyPair("admin")
	srv := newTestServer(t, pub)
	return &pool{conns: map[string]*pooled{}}, srv, Connection{Hop: hopTo(srv, priv)}
}

func TestPoolSharesOneConnectionPerMachine(t *testing.T) {
	p, srv, c := newPoolServer(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	outs := make([]string, 20)
	for i := range outs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			client, release, err := p.acquire(ctx, c, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			res, err := Run(ctx, client, "echo $((6 * 7))")
			if err != nil {
				t.Error(err)
			}
			outs[i] = strings.TrimSpace(res.Stdout)
		}(i)
	}
	wg.Wait()
	for i, o := range outs {
		if o != "42" {
			t.Fatalf("call %d printed %q", i, o)
		}
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Fatalf("20 calls opened %d connections, want 1", n)
	}
}

func TestPoolHoldsSessionsBelowSshdLimit(t *testing.T) {
	p, _, c := newPoolServer(t)
	ctx := context.Background()
	var releases []func()
	for i := 0; i < sessionsPerConnection; i++ {
		_, release, err := p.acquire(ctx, c, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	// One more waits for a free session.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, _, err := p.acquire(wctx, c, 5*time.Second); err == nil {
		t.Fatalf("a %dth holder got the connection at once", sessionsPerConnection+1)
	}
	releases[0]()
	got := make(chan error, 1)
	go func() {
		_, release, err := p.acquire(ctx, c, 5*time.Second)
		if err == nil {
			release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a released session was not handed on")
	}
}

func TestPoolDialsAgainWhenTheConnectionDied(t *testing.T) {
	p, srv, c := newPoolServer(t)
	ctx := context.Background()
	_, release, err := p.acquire(ctx, c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	release()
	// The machine goes away under the pooled connection (a reboot): the next call gets a new one.
	srv.mu.Lock()
	for _, conn := range srv.conns {
		conn.Close()
	}
	srv.mu.Unlock()
	client, release, err := p.acquire(ctx, c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if res, err := Run(ctx, client, "echo back"); err != nil || strings.TrimSpace(res.Stdout) != "back" {
		t.Fatalf("after the reconnect: %q, %v", res.Stdout, err)
	}
	if n := srv.accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestPoolDoesNotRememberAFailedDial(t *testing.T) {
	p, _, c := newPoolServer(t)
	bad := c
	bad.Port = 1 // nothing listens
	if _, _, err := p.acquire(context.Background(), bad, 0); err == nil {
		t.Fatal("a dial to a closed port succeeded")
	}
	if len(p.conns) != 0 {
		t.Fatalf("the failed dial is kept: %d entries", len(p.conns))
	}
	if _, release, err := p.acquire(context.Background(), c, 5*time.Second); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
}
