package dashquery

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.json")
	doc := `{"title": "Board", "panels": [
		{"title": "Rows", "panels": [{"title": "CPU", "targets": [{"refId": "B", "expr": "b"}, {"refId": "A", "expr": "a"}]}]},
		{"title": "Memory", "targets": [{"expr": "m"}]},
		{"targets": [{"refId": "X", "expr": "untitled"}]}
	], "templating": {"list": [{"name": "job", "query": "label_values(up, job)"}]}}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Query{
		{path, "CPU", "B", "b"}, {path, "CPU", "A", "a"},
		{path, "Memory", "", "m"},
		{path, "Board", "X", "untitled"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load:\n got %v\nwant %v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"empty.json": `{"panels": []}`, "bad.json": `{"panels": [`} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}
