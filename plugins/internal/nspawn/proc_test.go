package nspawn

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestProcStatReadsStartTimeAndState(t *testing.T) {
	self, ok := procOf(os.Getpid())
	if !ok || self.start == 0 {
		t.Fatalf("procOf(self) = %+v, %v", self, ok)
	}
	if got := self.state(); got != "running" {
		t.Fatalf("state of this process = %q", got)
	}
	if got := (proc{self.pid, self.start + 1}).state(); got != "gone" {
		t.Fatalf("a pid with another start time (reused) = %q, want gone", got)
	}
}

func TestWaitEndedWaitsForExitAndReap(t *testing.T) {
	cmd := exec.Command("sleep", "0.3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, _ := procOf(cmd.Process.Pid)
	reaped := make(chan struct{})
	go func() { time.Sleep(500 * time.Millisecond); _ = cmd.Wait(); close(reaped) }()
	begin := time.Now()
	if err := waitEnded(context.Background(), []proc{p}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Exit at 0.3 s, a zombie until this test reaps it at 0.5 s: only then gone.
	if d := time.Since(begin); d < 450*time.Millisecond {
		t.Fatalf("waitEnded returned after %s, before the process was reaped", d)
	}
	<-reaped
}

func TestWaitEndedFailsOnAProcessThatRuns(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	p, _ := procOf(cmd.Process.Pid)
	err := waitEnded(context.Background(), []proc{p}, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "have not ended") {
		t.Fatalf("waitEnded = %v, want an error naming the process", err)
	}
}

func TestWaitEndedAcceptsAZombieNobodyReaps(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	p, _ := procOf(cmd.Process.Pid)
	for p.state() != "zombie" {
		time.Sleep(10 * time.Millisecond)
	}
	if err := waitEnded(context.Background(), []proc{p}, 200*time.Millisecond); err != nil {
		t.Fatalf("an unreaped zombie has ended: %v", err)
	}
}
