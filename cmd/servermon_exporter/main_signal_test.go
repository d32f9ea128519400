package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/childproc"
)

// exporterProcess is the exporter running as a real process (this test binary re-executed as main, see TestMain).
type exporterProcess struct {
	*childproc.Process
	addr string
}

func startExporterProcess(t *testing.T, args ...string) *exporterProcess {
	t.Helper()
	addr := freeAddress(t)
	cmd := childCommand(t, childExporter, append([]string{"--web.listen-address=" + addr}, args...)...)
	p, err := childproc.Start("exporter", cmd, filepath.Join(t.TempDir(), "exporter.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = p.Stop(0) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx, "http://"+addr+"/metrics"); err != nil {
		t.Fatalf("exporter process did not come up: %v\n%s", err, p.Log())
	}
	return &exporterProcess{Process: p, addr: addr}
}

// terminate sends SIGTERM and returns the exit status.
func (p *exporterProcess) terminate(t *testing.T) int {
	t.Helper()
	status, err := p.Stop(15 * time.Second)
	if errors.Is(err, childproc.ErrKilled) {
		t.Fatalf("exporter did not exit within 15 s of SIGTERM:\n%s", p.Log())
	}
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// TestSIGTERMWritesFinalSnapshotAndRestartContinues runs the exporter as a real process over this machine's /proc,
// with periodic saves far away (1h), and stops it with a real SIGTERM: it must exit 0 having written the state
// (0600). The restarted process must load it and continue: its history starts where the first one's ended.
func TestSIGTERMWritesFinalSnapshotAndRestartContinues(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--sample.interval=100ms", "--sample.window=1s", "--collector.timeout=100ms",
		"--forecast.step=100ms", "--forecast.history=1d", "--forecast.horizon=1s",
		"--forecast.state-file=" + state, "--forecast.state-interval=1h"}
	const series = `servermon_forecast_history_seconds{target="memory_usage_ratio"}`

	first := startExporterProcess(t, args...)
	before := historyAtLeast(t, first.addr, series, 0.5)
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state written before SIGTERM (%v): the test would prove nothing", err)
	}
	if status := first.terminate(t); status != 0 {
		t.Fatalf("exit status %d after SIGTERM:\n%s", status, first.Log())
	}
	fi, err := os.Stat(state)
	if err != nil {
		t.Fatalf("no state file after SIGTERM: %v\n%s", err, first.Log())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	if first.LogContains("level=ERROR") {
		t.Errorf("errors logged by the first process:\n%s", first.Log())
	}

	second := startExporterProcess(t, args...)
	after, ok := metricValue(scrape(t, second.addr), series)
	if !ok || after < before {
		t.Errorf("restart has %v s of history (present %v), the first process had %v s", after, ok, before)
	}
	if !second.LogContains("forecast state loaded") {
		t.Errorf("state not loaded on restart:\n%s", second.Log())
	}
	historyAtLeast(t, second.addr, series, after) // else the steps after the restart are not appended
	if status := second.terminate(t); status != 0 {
		t.Fatalf("second exit status %d:\n%s", status, second.Log())
	}
}
