package remote

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Updates of one group run at most a batch at a time; other groups and
// commands outside a group are not held back.
func TestTurnBoundsAGroup(t *testing.T) {
	var running, most atomic.Int32
	var wg sync.WaitGroup
	r := &Rollout{Group: "compute-test", Batch: 2}
	for i := 0; i < 7; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := turn(context.Background(), r, "node")
			if err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(30 * time.Millisecond)
			running.Add(-1)
			release()
		}()
	}
	// Meanwhile another group and an ungrouped command go at once.
	for _, other := range []*Rollout{{Group: "directors-test", Batch: 1}, nil} {
		start := time.Now()
		release, err := turn(context.Background(), other, "node")
		if err != nil || time.Since(start) > 20*time.Millisecond {
			t.Fatalf("turn(%+v) = %v after %s: held back by another group", other, err, time.Since(start))
		}
		release()
	}
	wg.Wait()
	if got := most.Load(); got != 2 {
		t.Fatalf("at most %d ran at once, want 2", got)
	}
}

func TestTurnGivesUpWithTheContext(t *testing.T) {
	r := &Rollout{Group: "cancel-test", Batch: 1}
	release, err := turn(context.Background(), r, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := turn(ctx, r, "b"); err == nil {
		t.Fatal("a second turn in a full group returned before its context ended")
	}
}
