package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/servermon/servermon_exporter/dashboards"
)

// TestGenerateWritesCommittedFiles runs the command's work into a temporary
// directory and compares with the files committed next to the module.
func TestGenerateWritesCommittedFiles(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatalf("generate: %v", err)
	}
	for _, f := range dashboards.Files() {
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatalf("generated %s: %v", f.Name, err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", f.Name))
		if err != nil {
			t.Fatalf("committed %s: %v", f.Name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: generated file differs from the committed one; run `go generate ./...` in dashboards/", f.Name)
		}
	}
}

func TestGenerateFailsOnMissingDirectory(t *testing.T) {
	if err := generate(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("generate into a missing directory succeeded")
	}
}
