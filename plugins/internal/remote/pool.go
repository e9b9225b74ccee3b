package remote

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// One provider process serves one pulumi run. Its calls share one SSH
// connection per machine (and so one jump-host login per machine behind a
// director) instead of a new login per resource: a preview of a cluster
// checks hundreds of resources, and every login costs a handshake, a key
// exchange and an sshd child on the machine, and counts against sshd's
// MaxStartups while it is unauthenticated.
var shared = &pool{conns: map[string]*pooled{}}

// sessionsPerConnection stays below sshd's MaxSessions (10).
const sessionsPerConnection = 8

// sessionTimeout bounds opening a session on a connection that may have
// died without a word (its machine powered off): then the connection is
// dropped and a new one dialed.
var sessionTimeout = 15 * time.Second

type pool struct {
	mu    sync.Mutex
	conns map[string]*pooled
}

type pooled struct {
	ready  chan struct{} // closed once dialed (client or err set)
	client *ssh.Client
	err    error
	slots  chan struct{}
}

func keyOf(c Connection) string {
	b, _ := json.Marshal(c)
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// Acquire returns a client of the connection's machine, shared with the
// other calls of this process, and a release to call when done with it. At
// most sessionsPerConnection holders use a client at once; the others wait.
// A dial that fails is not remembered: the next Acquire dials again.
func Acquire(ctx context.Context, c Connection, wait time.Duration) (*ssh.Client, func(), error) {
	return shared.acquire(ctx, c, wait)
}

func (p *pool) acquire(ctx context.Context, c Connection, wait time.Duration) (*ssh.Client, func(), error) {
	key := keyOf(c)
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		e, ok := p.conns[key]
		if !ok {
			e = &pooled{ready: make(chan struct{}), slots: make(chan struct{}, sessionsPerConnection)}
			p.conns[key] = e
			p.mu.Unlock()
			e.client, e.err = Dial(ctx, c, wait)
			if e.err != nil {
				p.drop(key, e)
			} else {
				client := e.client
				go func() { _ = client.Wait(); p.drop(key, e) }()
			}
			close(e.ready)
		} else {
			p.mu.Unlock()
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if e.err != nil {
			if ok && attempt == 0 {
				// Another call's dial failed (perhaps with a shorter wait): try our own.
				continue
			}
			return nil, nil, e.err
		}
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		release := func() { <-e.slots }
		if attempt == 0 && !alive(ctx, e.client) {
			// Gone while it sat in the pool: dropped, and dialed again.
			release()
			p.drop(key, e)
			e.client.Close()
			continue
		}
		return e.client, release, nil
	}
}

// drop forgets e if it is still the connection kept for key.
func (p *pool) drop(key string, e *pooled) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[key] == e {
		delete(p.conns, key)
	}
}

// alive asks the other end for an answer on the connection, within sessionTimeout.
func alive(ctx context.Context, client *ssh.Client) bool {
	_, err := bounded(ctx, sessionTimeout, nopCloser{}, "keepalive", func() (bool, error) {
		_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
		return true, err
	})
	return err == nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
