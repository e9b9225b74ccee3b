package main

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestConfigJSONUsesLegacyKeys(t *testing.T) {
	got, err := configJSON(map[string]string{"thesis-cluster:nodes": "[]", "aws:region": "x"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"thesis-cluster:config:nodes": "[]", "aws:config:region": "x"}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("configJSON = %v, want %v", m, want)
	}
	if _, err := configJSON(map[string]string{"no-namespace": "1"}); err == nil {
		t.Fatal("a key without a namespace should be refused")
	}
}

func TestRunArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Project: "p", Stack: "s", DryRun: true, Parallel: 8,
		Info: &pulumirpc.ProgramInfo{RootDirectory: "/r", ProgramDirectory: "/r", EntryPoint: "."},
		Args: []string{"extra"},
	}
	got := runArgs(req, "127.0.0.1:2", "", "/r", "/r/run.js")
	want := []string{"/r/run.js", "--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--project", "p",
		"--root-directory", "/r", "--stack", "s", "--pwd", "/r", "--dry-run", "--parallel", "8", ".", "extra"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("runArgs =\n%v\nwant\n%v", got, want)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(map[string]any{})
	if err != nil || !o.typescript {
		t.Fatalf("typescript must default to true: %+v %v", o, err)
	}
	o, err = parseOptions(map[string]any{"typescript": false, "nodeargs": "--max-old-space-size=512 --trace-warnings"})
	if err != nil || o.typescript || !reflect.DeepEqual(o.nodeargs, []string{"--max-old-space-size=512", "--trace-warnings"}) {
		t.Fatalf("parseOptions = %+v %v", o, err)
	}
	if _, err := parseOptions(map[string]any{"typescript": "yes"}); err == nil {
		t.Fatal("a non-boolean typescript option should be refused")
	}
}

func TestRunResponse(t *testing.T) {
	if r := runResponse(nil); r.Error != "" || r.Bail {
		t.Fatalf("success: %+v", r)
	}
	if r := runResponse(exec.Command("sh", "-c", "exit 32").Run()); !r.Bail {
		t.Fatalf("exit 32 must bail: %+v", r)
	}
	if r := runResponse(exec.Command("sh", "-c", "exit 3").Run()); r.Error != "Program exited with non-zero exit code: 3" {
		t.Fatalf("exit 3: %+v", r)
	}
}
