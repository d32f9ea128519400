package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/backfill"
	"github.com/servermon/servermon_exporter/internal/syncbuf"
)

// TestBackfillFlagErrors: a bad backfill flag is refused at start with a message naming it.
func TestBackfillFlagErrors(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(badYAML, []byte("basic_auth: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(dir, "both.yml")
	if err := os.WriteFile(both, []byte("bearer_token: a\nbasic_auth: {username: u, password: p}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ args, want string }{
		{"--forecast.backfill.url=ftp://prom:9090", "--forecast.backfill.url=ftp://prom:9090: must be an http:// or https:// URL"},
		{"--forecast.backfill.url=prom:9090", "--forecast.backfill.url=prom:9090: must be an http"},
		{`--forecast.backfill.selector=instance=web1`, "--forecast.backfill.selector=instance=web1: the value of instance is not a quoted string"},
		{`--forecast.backfill.selector=instance=~"("`, `--forecast.backfill.selector=instance=~"(": the regexp of instance`},
		{"--forecast.backfill.config=/nonexistent/http.yml", "--forecast.backfill.config=/nonexistent/http.yml: open /nonexistent/http.yml"},
		{"--forecast.backfill.config=" + badYAML, "--forecast.backfill.config=" + badYAML + ": yaml"},
		{"--forecast.backfill.config=" + both, "--forecast.backfill.config=" + both + ": at most one of basic_auth"},
		{"--forecast.backfill.timeout=0s", "--forecast.backfill.timeout=0s: must be positive"},
	} {
		cfg, err := parseFlags(strings.Fields(tc.args), &bytes.Buffer{})
		if err == nil || cfg != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}

// TestBackfillFlagDefaults: the selector defaults to this host's name when the backfill is on, the HTTP settings
// come from the file with paths relative to it, and the state file defaults to $STATE_DIRECTORY only when set.
func TestBackfillFlagDefaults(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", "")
	cfg := mustParseFlags(t)
	if cfg.forecast.backfill.URL != "" || cfg.forecast.backfill.Selector != "" || cfg.forecast.stateFile != "" {
		t.Errorf("backfill or state on by default: %+v, state %q", cfg.forecast.backfill, cfg.forecast.stateFile)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	httpCfg := filepath.Join(dir, "http.yml")
	if err := os.WriteFile(httpCfg, []byte("authorization: {credentials_file: token}\ntls_config: {ca_file: ca.pem}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = mustParseFlags(t, "--forecast.backfill.url=http://prom:9090", "--forecast.backfill.config="+httpCfg)
	if got, want := cfg.forecast.backfill.Selector, backfill.DefaultSelector(host); got != want {
		t.Errorf("default selector %s, want %s", got, want)
	}
	if got := cfg.forecast.backfill.HTTP.Authorization.CredentialsFile; got != filepath.Join(dir, "token") {
		t.Errorf("credentials file %q, want it relative to the configuration file", got)
	}
	if got := cfg.forecast.backfill.HTTP.TLSConfig.CAFile; got != filepath.Join(dir, "ca.pem") {
		t.Errorf("CA file %q", got)
	}

	t.Setenv("STATE_DIRECTORY", "/var/lib/servermon_exporter:/var/lib/other")
	if cfg := mustParseFlags(t); cfg.forecast.stateFile != "/var/lib/servermon_exporter/forecast.state" {
		t.Errorf("state file %q with $STATE_DIRECTORY set", cfg.forecast.stateFile)
	}
	if cfg := mustParseFlags(t, "--forecast.state-file="); cfg.forecast.stateFile != "" {
		t.Errorf("an explicitly empty --forecast.state-file gave %q", cfg.forecast.stateFile)
	}
}

// TestStateUnwritableReportedAtStartAndExitStatus: a state file that cannot be written is reported at start, not
// first at the save, and the failed final save gives exit status 1. Without a state file the log says how to keep
// the history.
func TestStateUnwritableReportedAtStartAndExitStatus(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notadir"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	_, stop := runExporter(t, logs, "--forecast.state-file="+filepath.Join(dir, "notadir", "state"), "--forecast.state-interval=1h")
	if !strings.Contains(logs.String(), "the forecast state cannot be saved") {
		t.Errorf("unwritable state not reported at start:\n%s", logs)
	}
	if status := stop(); status != 1 {
		t.Errorf("exit status %d after a failed final save, want 1\n%s", status, logs)
	}

	logs = &syncbuf.Buffer{}
	t.Setenv("STATE_DIRECTORY", "")
	_, stop = runExporter(t, logs)
	if status := stop(); status != 0 {
		t.Errorf("exit status %d", status)
	}
	if n := strings.Count(logs.String(), "forecast history is lost at every restart"); n != 1 {
		t.Errorf("the hint to keep history is logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "component=backfill") {
		t.Errorf("backfill ran without --forecast.backfill.url:\n%s", logs)
	}
}

// TestFailedBackfillKeepsLiveForecasts: with Prometheus unreachable, the exporter serves at once, gives up the
// backfill by its deadline, says so in its metrics, and forecasts from live samples with none of them lost while
// the forecasts were held.
func TestFailedBackfillKeepsLiveForecasts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	logs := &syncbuf.Buffer{}
	start := time.Now()
	addr, stop := runExporter(t, logs, "--sample.interval=100ms", "--sample.window=1s", "--collector.timeout=100ms",
		"--forecast.step=100ms", "--forecast.history=1d", "--forecast.horizon=1s",
		"--forecast.backfill.url=http://"+closed, "--forecast.backfill.timeout=1500ms")
	defer func() {
		if status := stop(); status != 0 {
			t.Errorf("exit status %d", status)
		}
	}()
	if body := scrape(t, addr); !strings.Contains(body, "servermon_memory_usage_ratio ") || !strings.Contains(body, "servermon_forecast_backfill_running 1") {
		t.Errorf("not serving the observed gauges while the backfill runs:\n%s", grep(body, "backfill_running"))
	}
	time.Sleep(9 * time.Second)
	body := scrape(t, addr)
	for _, want := range []string{"servermon_forecast_backfill_success 0", "servermon_forecast_backfill_running 0",
		`servermon_forecast_ready{target="memory_usage_ratio",horizon="1s"} 1`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no %s:\n%s", want, grep(body, "backfill"))
		}
	}
	lint(t, []byte(body))
	if v, _ := metricValue(body, `servermon_forecast_backfill_errors_total{cause="unreachable"}`); v < 1 {
		t.Errorf("unreachable not counted: %v", v)
	}
	// The steps held during the backfill were pushed when it gave up: the history covers the whole run.
	elapsed := time.Since(start).Seconds()
	if v, _ := metricValue(body, `servermon_forecast_history_seconds{target="memory_usage_ratio"}`); v < elapsed-1.5 {
		t.Errorf("%v s of history after %.1f s: live steps lost while the backfill held them", v, elapsed)
	}
	if !strings.Contains(logs.String(), "forecast history not loaded from Prometheus") {
		t.Errorf("failure not logged:\n%s", logs)
	}
}
