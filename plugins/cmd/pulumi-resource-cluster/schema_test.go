package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
)

// schemaFile is the provider's schema as committed: the contract the
// TypeScript wrappers in components/ are checked against (tests/unit).
var schemaFile = filepath.Join("..", "..", "schema.json")

// TestSchemaIsCommitted fails when the provider's schema and plugins/schema.json
// differ; UPDATE_SCHEMA=1 go test ./cmd/pulumi-resource-cluster rewrites it.
func TestSchemaIsCommitted(t *testing.T) {
	prov, err := provider()
	if err != nil {
		t.Fatal(err)
	}
	server, err := integration.NewServer(context.Background(), "cluster", semver.MustParse(version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	res, err := server.GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal([]byte(res.Schema), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if os.Getenv("UPDATE_SCHEMA") != "" {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (UPDATE_SCHEMA=1 go test ./cmd/pulumi-resource-cluster writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the provider's schema differs from %s: UPDATE_SCHEMA=1 go test ./cmd/pulumi-resource-cluster rewrites it; review the diff and the TypeScript wrappers", schemaFile)
	}
}
