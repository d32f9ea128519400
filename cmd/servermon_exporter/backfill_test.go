package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/backfill/backfilltest"
	"github.com/servermon/servermon_exporter/internal/syncbuf"
)

// backfillDeadline is how soon after its start the exporter must serve trusted forecasts from 8 days of history
// in Prometheus (issue 10).
const backfillDeadline = 30 * time.Second

// TestBackfillFromNodeExporter: a real Prometheus holds 8 days of node_exporter history of the host (a daily CPU
// cycle, a memory leak, one disk), made into blocks by promtool. Started with --forecast.backfill.url, the exporter
// must within 30 s serve forecasts at every horizon for every target with about 8 days of history, ready at once,
// beat the naive forecast on the daily cycle (the rules' trust gate) and give a memory ETA within what the leak's
// slope implies.
func TestBackfillFromNodeExporter(t *testing.T) {
	testBackfillStack(t, "node_exporter", func(w io.Writer, m backfilltest.Model, from time.Time) error {
		return backfilltest.WriteNodeExporter(w, m, from, m.End, time.Minute, m.End.Add(-3*24*time.Hour))
	})
}

// TestBackfillFromOwnSeries is the same with a Prometheus that scraped the exporter itself before: its
// servermon_* gauges, window means over 1m, scraped every 30 s.
func TestBackfillFromOwnSeries(t *testing.T) {
	testBackfillStack(t, "servermon", func(w io.Writer, m backfilltest.Model, from time.Time) error {
		return backfilltest.WriteServermon(w, m, from, m.End, 30*time.Second, time.Minute)
	})
}

func testBackfillStack(t *testing.T, source string, write func(io.Writer, backfilltest.Model, time.Time) error) {
	promtool := backfilltest.Require(t, "promtool")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	const history = 8 * 24 * time.Hour
	m := backfilltest.Model{End: time.Now().Truncate(time.Minute), Step: time.Minute, Host: "testhost"}
	data := filepath.Join(dir, "data")
	genStart := time.Now()
	from := m.End.Add(-history - time.Hour)
	backfilltest.WriteHistory(ctx, t, promtool, dir, data, from, m.End, func(w io.Writer) error { return write(w, m, from) })
	t.Logf("8 days of %s history written and made into blocks in %v", source, time.Since(genStart).Round(time.Millisecond))
	prom, url := backfilltest.Prometheus(ctx, t, dir, data, "global: {}\n", "--storage.tsdb.retention.time=30d")
	proc := filepath.Join(dir, "proc")
	if err := os.Mkdir(proc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := backfilltest.WriteProc(proc, m); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "root") // where the model's filesystem is statfs'ed: a directory of this machine's
	if err := os.MkdirAll(filepath.Join(rootfs, backfilltest.FSMountpoint), 0o755); err != nil {
		t.Fatal(err)
	}

	promCPU := promSelf(t, url, "process_cpu_seconds_total")
	logs := &syncbuf.Buffer{}
	start := time.Now()
	addr, stop := runExporter(t, logs, "--path.procfs="+proc, "--path.rootfs="+rootfs, "--no-collector.pressure",
		"--forecast.backfill.url="+url, `--forecast.backfill.selector=instance=~"testhost(:[0-9]+)?"`)
	defer func() {
		if status := stop(); status != 0 {
			t.Errorf("exit status %d", status)
		}
		if t.Failed() {
			t.Logf("exporter log:\n%s\nPrometheus log:\n%s", logs, prom.LogTail(20))
		}
	}()
	if body := scrape(t, addr); !strings.Contains(body, "servermon_memory_usage_ratio ") {
		t.Errorf("observed gauges not served at once:\n%s", grep(body, "servermon_memory"))
	}
	// The leak's slope puts the point forecast at the threshold this long after now; the upper bound reaches it
	// earlier, by as much as the interval is wide.
	pointETA := (0.95 - backfilltest.MemoryNow) / backfilltest.MemoryLeakPerDay * 86400
	var problems []string
	for {
		body := scrape(t, addr)
		problems = checkBackfilled(body, source, history, pointETA)
		if len(problems) == 0 {
			break
		}
		if time.Since(start) > backfillDeadline {
			t.Fatalf("%v after the start the exporter still lacks:\n%s\nbackfill metrics:\n%s", time.Since(start).Round(time.Millisecond),
				strings.Join(problems, "\n"), grep(body, "backfill"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	body := scrape(t, addr)
	lint(t, []byte(body)) // the backfill's families too
	eta, _ := metricValue(body, `servermon_forecast_seconds_until_threshold{target="memory_usage_ratio",threshold="0.95"}`)
	er, _ := metricValue(body, `servermon_forecast_error_ratio{target="cpu_usage_ratio",horizon="1h"}`)
	took, _ := metricValue(body, "servermon_forecast_backfill_duration_seconds")
	bytes, _ := metricValue(body, "servermon_forecast_backfill_response_bytes_total")
	queries := 0.0
	for _, src := range []string{"discovery", "servermon", "node_exporter"} {
		q, _ := metricValue(body, `servermon_forecast_backfill_queries_total{source="`+src+`"}`)
		queries += q
	}
	t.Logf("trusted forecasts %v after the start (backfill %.2f s, %d queries, %.1f MB, %.2f s of Prometheus CPU): cpu error ratio at 1h %.3f, memory ETA %.1f h (the leak's point ETA %.1f h)",
		time.Since(start).Round(time.Millisecond), took, int(queries), bytes/1e6, promSelf(t, url, "process_cpu_seconds_total")-promCPU,
		er, eta/3600, pointETA/3600)
}

// promSelf returns one of Prometheus' own metrics.
func promSelf(t *testing.T, url, series string) float64 {
	t.Helper()
	_, b := fetch(t, http.DefaultClient, url+"/metrics")
	v, _ := metricValue(string(b), series)
	return v
}

// checkBackfilled lists what the body lacks of a backfilled exporter.
func checkBackfilled(body, source string, history time.Duration, pointETA float64) []string {
	var problems []string
	horizons := []string{"5m", "1h", "6h", "24h"}
	for _, tg := range collector.Targets() {
		labels, perTarget := "", `target="`+tg.Name+`"`
		names, values := backfilltest.SeriesLabels(tg)
		for i, n := range names {
			labels += n + "=" + strconv.Quote(values[i]) + ","
			perTarget += "," + n + "=" + strconv.Quote(values[i])
		}
		for _, h := range horizons {
			if _, ok := metricValue(body, "servermon_forecast_"+tg.Name+"{"+labels+`horizon="`+h+`",bound="point"}`); !ok {
				problems = append(problems, "no forecast of "+tg.Name+" at "+h)
			}
			if v, _ := metricValue(body, "servermon_forecast_ready{"+perTarget+`,horizon="`+h+`"}`); v != 1 {
				problems = append(problems, tg.Name+" not ready at "+h)
			}
			if v, ok := metricValue(body, "servermon_forecast_warmup_seconds{"+perTarget+`,horizon="`+h+`"}`); !ok || v != 0 {
				problems = append(problems, tg.Name+" still warming up at "+h)
			}
		}
		if v, _ := metricValue(body, "servermon_forecast_history_seconds{"+perTarget+"}"); v < (history - 15*time.Minute).Seconds() {
			problems = append(problems, tg.Name+" holds "+time.Duration(v*float64(time.Second)).String()+" of history")
		}
	}
	if v, ok := metricValue(body, `servermon_forecast_error_ratio{target="cpu_usage_ratio",horizon="1h"}`); !ok || !(v < 1) {
		problems = append(problems, "the cpu forecast does not beat naive at 1h (the trust gate)")
	}
	eta, ok := metricValue(body, `servermon_forecast_seconds_until_threshold{target="memory_usage_ratio",threshold="0.95"}`)
	if !ok || math.IsInf(eta, 0) || eta < 0.3*pointETA || eta > 1.1*pointETA {
		problems = append(problems, "memory ETA not within [0.3, 1.1] of the leak's: "+time.Duration(eta*float64(time.Second)).String())
	}
	if v, _ := metricValue(body, "servermon_forecast_backfill_success"); v != 1 {
		problems = append(problems, "backfill not successful")
	}
	if v, _ := metricValue(body, `servermon_forecast_backfill_samples_total{source="`+source+`"}`); v < 7*(history-time.Hour).Minutes() {
		problems = append(problems, "too few samples from "+source)
	}
	return problems
}
