package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func mustParseFlags(t *testing.T, args ...string) *config {
	t.Helper()
	var out bytes.Buffer
	cfg, err := parseFlags(args, &out)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v\n%s", args, err, out.String())
	}
	return cfg
}

// testExporter runs an exporter over a scenario with a fake clock, one sample per call to step.
type testExporter struct {
	*exporter
	scenario *scenario
	clock    *clock.Fake
	server   *httptest.Server
}

func newTestExporter(t *testing.T, extra ...string) *testExporter {
	t.Helper()
	return newTestExporterWith(t, slog.New(slog.DiscardHandler), extra...)
}

// newTestExporterWith is newTestExporter logging to logger.
func newTestExporterWith(t *testing.T, logger *slog.Logger, extra ...string) *testExporter {
	t.Helper()
	sc := newScenario(t, 10)
	args := append([]string{"--path.procfs=" + sc.dir, "--sample.interval=10s", "--sample.window=1m", "--collector.timeout=1s",
		"--forecast.step=10s", "--forecast.history=1d", "--forecast.horizon=1m", "--forecast.horizon=5m"}, extra...)
	return serveScenario(t, sc, clock.NewFake(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)), logger, args...)
}

// serveScenario runs an exporter with the flags args over the scenario sc (its statfs answering for the mounts)
// on clock fake, its mux behind a test server.
func serveScenario(t *testing.T, sc *scenario, fake *clock.Fake, logger *slog.Logger, args ...string) *testExporter {
	t.Helper()
	cfg := mustParseFlags(t, args...)
	cfg.collector.Filesystem.Statfs = sc.statfs.Call
	exp, err := newExporter(cfg, logger, fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.close)
	mux, err := newMux(cfg, exp)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testExporter{exporter: exp, scenario: sc, clock: fake, server: srv}
}

// run takes n samples, advancing the scenario and the clock by one interval after each.
func (e *testExporter) run(t *testing.T, n int) {
	t.Helper()
	for range n {
		e.sampler.Sample()
		e.scenario.advance(t)
		e.clock.Advance(10 * time.Second)
	}
}

func (e *testExporter) get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return fetch(t, e.server.Client(), e.server.URL+path, header...)
}

// getOK is get of a page that must answer 200; it returns the body.
func (e *testExporter) getOK(t *testing.T, path string, header ...string) []byte {
	t.Helper()
	resp, body := e.get(t, path, header...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%s", path, resp.StatusCode, body)
	}
	return body
}

// fetch GETs url through client with the given header name and value pairs, and returns the response and its body.
func fetch(t *testing.T, client *http.Client, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// withoutRuntime drops the go_ and process_ families, whose values change from run to run.
func withoutRuntime(body []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(body), "\n") {
		name := line
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			name = line[len("# HELP "):]
		}
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		out.WriteString(line)
	}
	return out.Bytes()
}

// TestGoldenMetrics compares the whole /metrics output after 150 samples of the scenario with
// testdata/e2e.metrics (regenerate with go test -run TestGoldenMetrics -update).
func TestGoldenMetrics(t *testing.T) {
	e := newTestExporter(t, "--collector.cpu.per-cpu")
	e.run(t, 150)
	resp, body := e.get(t, "/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != exposition.ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	for _, family := range []string{"go_goroutines", "process_resident_memory_bytes", "servermon_build_info"} {
		if !bytes.Contains(body, []byte("\n"+family)) {
			t.Errorf("%s missing", family)
		}
	}
	got := withoutRuntime(body)
	golden := filepath.Join("testdata", "e2e.metrics")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/metrics differs from %s (run with -update after checking the change):\n%s", golden, firstDifference(got, want))
	}
	lint(t, body)
}

func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

// lint parses an exposition strictly and runs promlint over it, as promtool check metrics does.
func lint(t *testing.T, body []byte) {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	var list []*dto.MetricFamily
	for _, mf := range mfs {
		list = append(list, mf)
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
