package nspawn

import (
	"fmt"
	"net"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// dialInNetns opens a TCP connection from inside a named network namespace
// (/run/netns/NAME). The socket is made on an OS thread moved into that
// namespace; the thread is thrown away afterwards (never unlocked), so no other
// goroutine ever runs in the lab's namespace.
func dialInNetns(nsPath, address string, timeout time.Duration) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{nil, fmt.Errorf("opening %s: %w", nsPath, err)}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("entering %s: %w", nsPath, err)}
			return
		}
		c, err := net.DialTimeout("tcp", address, timeout)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.conn, r.err
}

// sshBanner reads the first bytes sshd sends, proving it is up and serving.
func sshBanner(nsPath, address string) (string, error) {
	c, err := dialInNetns(nsPath, address, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if n >= 4 && string(buf[:4]) == "SSH-" {
		return string(buf[:n]), nil
	}
	if err == nil {
		err = fmt.Errorf("unexpected greeting %q", buf[:n])
	}
	return "", err
}
