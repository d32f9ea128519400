package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exporterProcess is the exporter running as a real process (this test binary re-executed as main, see TestMain).
type exporterProcess struct {
	cmd  *exec.Cmd
	addr string
	logs *syncBuffer
}

func startExporterProcess(t *testing.T, args ...string) *exporterProcess {
	t.Helper()
	p := &exporterProcess{addr: freeAddress(t), logs: &syncBuffer{}}
	p.cmd = childCommand(t, childExporter, append([]string{"--web.listen-address=" + p.addr}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter process did not come up: %v\n%s", err, p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *exporterProcess) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// terminate sends SIGTERM and returns the exit status.
func (p *exporterProcess) terminate(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("exporter did not exit within 15 s of SIGTERM:\n%s", p.logs)
		return -1
	}
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
	time.Sleep(1200 * time.Millisecond)
	before, ok := metricValue(first.scrape(t), series)
	if !ok || before < 0.5 {
		t.Fatalf("first process has %v s of history (present %v)", before, ok)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state written before SIGTERM (%v): the test would prove nothing", err)
	}
	if status := first.terminate(t); status != 0 {
		t.Fatalf("exit status %d after SIGTERM:\n%s", status, first.logs)
	}
	fi, err := os.Stat(state)
	if err != nil {
		t.Fatalf("no state file after SIGTERM: %v\n%s", err, first.logs)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	if strings.Contains(first.logs.String(), "level=ERROR") {
		t.Errorf("errors logged by the first process:\n%s", first.logs)
	}

	second := startExporterProcess(t, args...)
	after, ok := metricValue(second.scrape(t), series)
	if !ok || after < before {
		t.Errorf("restart has %v s of history (present %v), the first process had %v s", after, ok, before)
	}
	if !strings.Contains(second.logs.String(), "forecast state loaded") {
		t.Errorf("state not loaded on restart:\n%s", second.logs)
	}
	time.Sleep(500 * time.Millisecond)
	later, _ := metricValue(second.scrape(t), series)
	if later <= after {
		t.Errorf("history stuck at %v s after the restart: steps are not appended", later)
	}
	if status := second.terminate(t); status != 0 {
		t.Fatalf("second exit status %d:\n%s", status, second.logs)
	}
}
