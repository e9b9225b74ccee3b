package nspawn

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// proc names a process across pid reuse: its pid and its start time (clock
// ticks after boot, field 22 of /proc/PID/stat).
type proc struct {
	pid   int
	start uint64
}

// procStat reads a process's start time and state letter; ok is false when
// there is no such process.
func procStat(pid int) (start uint64, state byte, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) may hold spaces: fields count from after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0, false
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, f[0][0], true
}

// procOf names the process with this pid now.
func procOf(pid int) (proc, bool) {
	start, _, ok := procStat(pid)
	return proc{pid, start}, ok
}

// state tells whether the process still exists: "gone", "zombie" (ended,
// not yet reaped by its parent) or "running" (anything else, exiting included).
func (p proc) state() string {
	start, state, ok := procStat(p.pid)
	switch {
	case !ok || start != p.start:
		return "gone"
	case state == 'Z':
		return "zombie"
	default:
		return "running"
	}
}

// waitEnded waits until every process is gone, giving their parents a moment
// to reap the ended ones. It fails when one still runs after `limit`; a
// zombie whose parent does not reap it counts as ended.
func waitEnded(ctx context.Context, procs []proc, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var running, zombies []string
		for _, p := range procs {
			switch p.state() {
			case "running":
				running = append(running, strconv.Itoa(p.pid))
			case "zombie":
				zombies = append(zombies, strconv.Itoa(p.pid))
			}
		}
		if len(running) == 0 && len(zombies) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if len(running) == 0 {
				return nil
			}
			return fmt.Errorf("processes %s have not ended after %s", strings.Join(running, ", "), limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
