// Command generate writes the servermon Grafana dashboards as JSON files.
//
// Run it from the dashboards module directory (`go generate ./...` or
// `go run ./cmd/generate`); -dir changes where the files go.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/servermon/servermon_exporter/dashboards"
)

func main() {
	dir := flag.String("dir", ".", "directory to write the dashboard JSON files to")
	flag.Parse()
	if err := generate(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	for _, f := range dashboards.Files() {
		data, err := dashboards.Render(f.Build)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Name, err)
		}
	}
	return nil
}
