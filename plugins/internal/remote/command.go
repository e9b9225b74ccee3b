package remote

import (
	"context"
	"fmt"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"golang.org/x/crypto/ssh"

	"thesis-cluster/plugins/internal/inputs"
)

// Command runs scripts on a machine: Create once, Update when inputs change,
// Delete when the resource goes. With Check set, it also watches the machine:
// Check prints what the machine looks like now (file hashes, unit states), the
// output is kept after each run, and every preview or up runs it again; a
// different answer is drift, shown as a change and repaired by Update.
type Command struct{}

// CommandArgs are the inputs of a Command.
type CommandArgs struct {
	Connection Connection `pulumi:"connection"`
	Create     string     `pulumi:"create"`
	// Update defaults to Create: scripts are written to be re-run.
	Update string `pulumi:"update,optional"`
	Delete string `pulumi:"delete,optional"`
	// Check prints the machine's observed state; see Command.
	Check string `pulumi:"check,optional"`
	// Expect is what Check must print once the scripts did their work: an
	// update that leaves anything else fails, and any other answer later is
	// drift. Without it, the answer recorded after the last run is the reference.
	Expect string `pulumi:"expect,optional"`
	// Triggers re-run Update when they change (content hashes, versions).
	Triggers []string `pulumi:"triggers,optional"`
	// TimeoutSeconds bounds each script and the wait for the machine. Default 600.
	TimeoutSeconds int `pulumi:"timeoutSeconds,optional"`
	// Uploads are files of the machine running Pulumi copied to the machine
	// before each create or update script runs (too large to travel inside a
	// script). Put their content hashes in Triggers to re-run on a change.
	Uploads []Upload `pulumi:"uploads,optional"`
	// Rollout bounds how many updates of one group run at once (see Rollout).
	Rollout *Rollout `pulumi:"rollout,optional" diff:"ignore"`
}

// Rollout puts a command's updates in a group of which at most Batch run at
// once in a deployment: a change to many nodes reaches a batch of them at a
// time, each done and its check read back before the next one starts.
// Creates are not held back (a new cluster comes up at full speed).
type Rollout struct {
	Group string `pulumi:"group"`
	Batch int    `pulumi:"batch"`
}

// Upload copies a local file to the machine.
type Upload struct {
	Source string `pulumi:"source"`
	// Path on the machine; its directory is created. Written whole or not at all.
	Path string `pulumi:"path"`
}

// CommandState is what Pulumi keeps of a Command.
type CommandState struct {
	CommandArgs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
	// Observed is Check's output after the last run.
	Observed string `pulumi:"observed"`
}

// Annotate documents the resource.
func (c *Command) Annotate(a infer.Annotator) {
	a.Describe(c, "Scripts run on a machine over SSH, with drift detection through a check script.")
}

func (a CommandArgs) timeout() time.Duration {
	if a.TimeoutSeconds > 0 {
		return time.Duration(a.TimeoutSeconds) * time.Second
	}
	return 10 * time.Minute
}

func (a CommandArgs) apply(ctx context.Context, script string) (CommandState, error) {
	state := CommandState{CommandArgs: a}
	ctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	client, release, err := Acquire(ctx, a.Connection, a.timeout())
	if err != nil {
		return state, fmt.Errorf("connecting to %s: %w", a.Connection.Host, err)
	}
	defer release()
	for _, u := range a.Uploads {
		if err := upload(ctx, client, u.Source, u.Path); err != nil {
			return state, fmt.Errorf("on %s: %w", a.Connection.Host, err)
		}
	}
	res, err := Run(ctx, client, script)
	state.Stdout, state.Stderr = res.Stdout, res.Stderr
	if err != nil {
		return state, fmt.Errorf("on %s: %w", a.Connection.Host, err)
	}
	if a.Check != "" {
		if state.Observed, err = observe(ctx, client, a.Check); err != nil {
			return state, fmt.Errorf("check on %s: %w", a.Connection.Host, err)
		}
		if a.Expect != "" && state.Observed != strings.TrimSpace(a.Expect) {
			return state, fmt.Errorf("on %s the script ran, but the check reports\n%s\ninstead of\n%s\n(script output: %s)",
				a.Connection.Host, state.Observed, strings.TrimSpace(a.Expect), lastLines(state.Stdout+state.Stderr, 20))
		}
	}
	return state, nil
}

func observe(ctx context.Context, client *ssh.Client, check string) (string, error) {
	res, err := Run(ctx, client, check)
	return strings.TrimSpace(res.Stdout), err
}

// Create runs the create script.
func (Command) Create(
	ctx context.Context, req infer.CreateRequest[CommandArgs],
) (infer.CreateResponse[CommandState], error) {
	id := fmt.Sprintf("%s-%d", req.Name, time.Now().UnixNano())
	if req.DryRun {
		return infer.CreateResponse[CommandState]{ID: id, Output: CommandState{CommandArgs: req.Inputs}}, nil
	}
	state, err := req.Inputs.apply(ctx, req.Inputs.Create)
	return infer.CreateResponse[CommandState]{ID: id, Output: state}, err
}

// Update runs the update script (or create's again).
func (Command) Update(
	ctx context.Context, req infer.UpdateRequest[CommandArgs, CommandState],
) (infer.UpdateResponse[CommandState], error) {
	if req.DryRun {
		out := req.State
		out.CommandArgs = req.Inputs
		return infer.UpdateResponse[CommandState]{Output: out}, nil
	}
	script := req.Inputs.Update
	if script == "" {
		script = req.Inputs.Create
	}
	release, err := turn(ctx, req.Inputs.Rollout, req.Inputs.Connection.Host)
	if err != nil {
		return infer.UpdateResponse[CommandState]{Output: req.State}, err
	}
	defer release()
	state, err := req.Inputs.apply(ctx, script)
	return infer.UpdateResponse[CommandState]{Output: state}, err
}

// Delete runs the delete script, if any. A machine that cannot be reached
// (destroyed, powered off) has nothing left to undo: that is a warning, not
// an error, so `pulumi destroy` of a broken cluster still completes.
func (Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandState]) (infer.DeleteResponse, error) {
	a := req.State.CommandArgs
	if a.Delete == "" {
		return infer.DeleteResponse{}, nil
	}
	dctx, cancel := context.WithTimeout(ctx, a.timeout())
	defer cancel()
	client, release, err := Acquire(dctx, a.Connection, 20*time.Second)
	if err != nil {
		p.GetLogger(ctx).Warningf("%s unreachable, its delete script was not run: %v", a.Connection.Host, err)
		return infer.DeleteResponse{}, nil
	}
	defer release()
	res, err := Run(dctx, client, a.Delete)
	if err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("delete on %s: %w", a.Connection.Host, err)
	}
	// What the delete did (a drain's wait, files removed) stays in the update's log.
	if out := strings.TrimSpace(res.Stdout); out != "" {
		p.GetLogger(ctx).Infof("%s", out)
	}
	return infer.DeleteResponse{}, nil
}

// Diff compares the scripts and triggers; with no input change and a Check,
// it asks the machine, so a hand edit shows in `pulumi preview`.
func (Command) Diff(
	ctx context.Context, req infer.DiffRequest[CommandArgs, CommandState],
) (infer.DiffResponse, error) {
	news := req.Inputs
	diff := inputs.Diff(req.State.CommandArgs, news)
	if len(diff) == 0 && news.Check != "" {
		reference := req.State.Observed
		if news.Expect != "" {
			reference = strings.TrimSpace(news.Expect)
		}
		if drifted, why := driftOf(ctx, news, reference); drifted {
			p.GetLogger(ctx).Infof("drift on %s: %s", news.Connection.Host, why)
			diff["observed"] = p.PropertyDiff{Kind: p.Update}
		}
	}
	return infer.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff}, nil
}

// driftOf runs the check; an unreachable machine counts as drift too, so
// the update runs once the machine is back.
func driftOf(ctx context.Context, a CommandArgs, recorded string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// One attempt: a machine that is down is drift, not something to wait for.
	client, release, err := Acquire(ctx, a.Connection, 0)
	if err != nil {
		return true, "machine unreachable: " + err.Error()
	}
	defer release()
	now, err := observe(ctx, client, a.Check)
	if err != nil {
		return true, "check failed: " + err.Error()
	}
	if now != recorded {
		return true, lineDiff(now, recorded)
	}
	return false, ""
}

// lineDiff names the lines of the observed state that differ from the wanted
// one, shortening long hashes: "now: /etc/x 3d68…; want: /etc/x a9f2…".
func lineDiff(now, want string) string {
	short := func(l string) string {
		f := strings.Fields(l)
		for i, w := range f {
			if len(w) == 64 {
				f[i] = w[:8] + "…"
			}
		}
		return strings.Join(f, " ")
	}
	nowLines, wantLines := strings.Split(now, "\n"), strings.Split(want, "\n")
	inWant := map[string]bool{}
	for _, l := range wantLines {
		inWant[l] = true
	}
	inNow := map[string]bool{}
	for _, l := range nowLines {
		inNow[l] = true
	}
	var parts []string
	for _, l := range nowLines {
		if !inWant[l] {
			parts = append(parts, "now: "+short(l))
		}
	}
	for _, l := range wantLines {
		if !inNow[l] {
			parts = append(parts, "want: "+short(l))
		}
	}
	return strings.Join(parts, "; ")
}
