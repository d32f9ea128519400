package rules

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// requireStackTool finds one of the names of a tool the stack test needs, failing (never skipping) with the way to
// install it.
func requireStackTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v found in PATH: the stack test needs Debian's prometheus and prometheus-alertmanager; "+
		"run .ci/deps (or make deps)", names)
	return ""
}

// buildExporter compiles the exporter into dir, with the race detector when this test binary has it.
func buildExporter(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "servermon_exporter")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "../cmd/servermon_exporter")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built the exporter (race detector %v) in %v", raceEnabled, time.Since(start).Round(time.Millisecond))
	return bin
}
