package remote

import (
	"context"
	"fmt"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
)

// The rollout groups of this provider process: one per deployment, which
// serves every command of the stack, so a group's slots bound it cluster-wide.
var rollouts = struct {
	sync.Mutex
	slots map[string]chan struct{}
}{slots: map[string]chan struct{}{}}

// turn waits for a slot of the command's rollout group and returns its
// release; a command outside any group goes at once.
func turn(ctx context.Context, r *Rollout, host string) (func(), error) {
	if r == nil || r.Group == "" {
		return func() {}, nil
	}
	batch := max(r.Batch, 1)
	key := fmt.Sprintf("%s/%d", r.Group, batch)
	rollouts.Lock()
	slots, ok := rollouts.slots[key]
	if !ok {
		slots = make(chan struct{}, batch)
		rollouts.slots[key] = slots
	}
	rollouts.Unlock()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	default:
	}
	p.GetLogger(ctx).InfoStatusf("%s waits its turn: %d at a time in rollout group %s", host, batch, r.Group)
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for a turn in rollout group %s: %w", host, r.Group, ctx.Err())
	}
}
