package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/syncbuf"

	"github.com/servermon/servermon_exporter/internal/eventually"
)

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runExporter starts run() as main does and returns a stop function that cancels it (as SIGTERM does) and
// returns its exit status.
func runExporter(t *testing.T, logs io.Writer, args ...string) (addr string, stop func() int) {
	t.Helper()
	addr = freeAddress(t)
	ctx, cancel := context.WithCancel(context.Background())
	status := make(chan int, 1)
	go func() { status <- run(ctx, append([]string{"--web.listen-address=" + addr}, args...), logs) }()
	up, done := context.WithTimeout(ctx, 10*time.Second)
	defer done()
	if err := eventually.Poll(up, func() error {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}); err != nil {
		cancel()
		t.Fatalf("exporter did not come up: %v", err)
	}
	return addr, func() int { cancel(); return <-status }
}

// scrape returns the body of the exporter's /metrics at addr.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	_, body := fetch(t, http.DefaultClient, "http://"+addr+"/metrics")
	return string(body)
}

// historyAtLeast waits until the exporter at addr holds more than min seconds of the series' history, and returns
// it.
func historyAtLeast(t *testing.T, addr, series string, min float64) float64 {
	t.Helper()
	var v float64
	eventually.Must(t, 20*time.Second, fmt.Sprintf("%s above %v", series, min), func() error {
		var ok bool
		if v, ok = metricValue(scrape(t, addr), series); !ok || v <= min {
			return fmt.Errorf("%v s (present %v)", v, ok)
		}
		return nil
	})
	return v
}

// TestShutdownSavesStateAndRestartContinues runs the real program twice over the machine's /proc: the first run
// writes its state on shutdown (0600), the second continues with that history.
func TestShutdownSavesStateAndRestartContinues(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--sample.interval=100ms", "--sample.window=1s", "--collector.timeout=100ms",
		"--forecast.step=100ms", "--forecast.history=1d", "--forecast.horizon=1s", "--forecast.state-file=" + state}
	const series = `servermon_forecast_history_seconds{target="memory_usage_ratio"}`
	logs := &syncbuf.Buffer{}
	addr, stop := runExporter(t, logs, args...)
	historyAtLeast(t, addr, series, 1)
	if status := stop(); status != 0 {
		t.Fatalf("exit status %d\n%s", status, logs)
	}
	fi, err := os.Stat(state)
	if err != nil {
		t.Fatalf("no state file after shutdown: %v\n%s", err, logs)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}

	addr, stop = runExporter(t, logs, args...)
	defer stop()
	if !strings.Contains(logs.String(), "forecast state loaded") {
		t.Errorf("state not loaded on restart:\n%s", logs)
	}
	body := scrape(t, addr)
	if v, ok := metricValue(body, series); !ok || v < 1 {
		t.Errorf("restart lost the memory history (want >= 1 s at once):\n%s", grep(body, "history_seconds"))
	}
	if !strings.Contains(body, "servermon_forecast_state_load_errors_total 0") {
		t.Errorf("load errors reported:\n%s", grep(body, "state_load"))
	}
}

func TestCorruptStateFileIsMovedAsideAndCounted(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.WriteFile(state, []byte("not a state file"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	addr, stop := runExporter(t, logs, "--forecast.state-file="+state)
	defer stop()
	if body := scrape(t, addr); !strings.Contains(body, "servermon_forecast_state_load_errors_total 1") {
		t.Errorf("load error not counted:\n%s", grep(body, "state_load"))
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || !strings.HasPrefix(names[0], "state.corrupt-") {
		t.Errorf("state directory holds %v, want only state.corrupt-<time>", names)
	}
	if !strings.Contains(logs.String(), "starting fresh") {
		t.Errorf("not logged:\n%s", logs)
	}
}

func grep(body, substr string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return fmt.Sprint(out)
}
