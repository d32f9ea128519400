package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/forecastpage/pagetest"
	"github.com/servermon/servermon_exporter/internal/syncbuf"
)

// TestTelemetryPathOnAPage: a --web.telemetry-path that one of the pages has is refused at start, not a panic.
func TestTelemetryPathOnAPage(t *testing.T) {
	for _, path := range []string{"/forecast", "/api/v1/forecast"} {
		logs := &syncbuf.Buffer{}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		status := run(ctx, []string{"--web.listen-address=" + freeAddress(t), "--web.telemetry-path=" + path}, logs)
		cancel()
		if status != 1 || !strings.Contains(logs.String(), "already served") {
			t.Errorf("--web.telemetry-path=%s: status %d\n%s", path, status, logs)
		}
	}
}

// TestLandingPage: the real mux's landing page links to every page, each link answering 200 where it points,
// the Documentation link is an absolute URL (exporter-toolkit's rendered /https://github.com/…, a 404), and the
// warm-up status is the forecaster's.
func TestLandingPage(t *testing.T) {
	e := newTestExporter(t, "--web.enable-pprof")
	e.run(t, 8)
	body := e.getOK(t, "/")
	doc, err := html.Parse(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" && n.FirstChild != nil {
			links[n.FirstChild.Data] = pagetest.Attr(n, "href")
		}
	}
	base, _ := url.Parse(e.server.URL + "/")
	for _, text := range []string{"Metrics", "Forecasts", "Forecasts as JSON", "Documentation", "Profiling", "heap"} {
		href, ok := links[text]
		if !ok {
			t.Errorf("no %q link: %v", text, links)
			continue
		}
		u, err := url.Parse(href)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if u.IsAbs() {
			if text != "Documentation" || u.Scheme != "https" || u.Host != "github.com" {
				t.Errorf("%s links to %q", text, href)
			}
			continue
		}
		if text == "Documentation" {
			t.Errorf("Documentation links to %q, not an absolute URL", href)
		}
		if r, _ := e.get(t, base.ResolveReference(u).RequestURI()); r.StatusCode != http.StatusOK {
			t.Errorf("%s: %q answers %d", text, href, r.StatusCode)
		}
	}
	if !strings.Contains(string(body), "Version: (version=") {
		t.Error("no version line")
	}
	// 8 samples of 10 s are not one 1m step: every horizon is warming up.
	want := fmt.Sprintf("<td class=\"num\">0 of %d</td>", e.forecasts.SeriesCount())
	if e.forecasts.SeriesCount() == 0 || strings.Count(string(body), want) != 2 {
		t.Errorf("warm-up table does not show 0 of %d served at both horizons:\n%s", e.forecasts.SeriesCount(), body)
	}
	// It names the first five series still warming up, host-wide first, and counts the others.
	names := fmt.Sprintf("CPU usage, Memory usage, Swap usage, Load average (1m), Disk utilisation — vda and %d more: all within",
		e.forecasts.SeriesCount()-5)
	if !strings.Contains(string(body), names) {
		t.Errorf("warm-up table does not name the series warming up (%q):\n%s", names, body)
	}
}

// TestForecastOffPages: with --no-forecast the pages say so, and the API says forecasting is off.
func TestForecastOffPages(t *testing.T) {
	e := newTestExporter(t, "--no-forecast")
	e.run(t, 3)
	if _, body := e.get(t, "/forecast"); !strings.Contains(string(body), "Forecasting is off") {
		t.Errorf("forecast page:\n%s", body)
	}
	_, body := e.get(t, "/api/v1/forecast")
	var doc struct {
		Forecasting bool              `json:"forecasting"`
		Series      []json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Forecasting || len(doc.Series) != 0 {
		t.Errorf("API with --no-forecast: %v %s", err, body)
	}
}

// The backfilled memory: steady at leakBase until leakHours before the first live sample, then leaking leakSlope
// an hour, as after a deployment that brought a leak.
const (
	leakBase     = 0.30
	leakSlope    = 0.015
	leakHours    = 36
	historyHours = 4 * 24
)

// newLeakExporter runs the scenario with 1m steps and the default horizons, holds the forecaster, backfills 4 days
// of history ending at the first live step — memory leaking for the last 36 h, CPU, load and disk on a daily cycle
// around the levels the scenario shows live, swap flat — releases it and samples 6 more minutes with /proc's memory
// still leaking.
func newLeakExporter(t *testing.T) *testExporter {
	t.Helper()
	levels := liveLevels(t)
	sc := newScenario(t, 10)
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	e := serveScenario(t, sc, clock.NewFake(t0), slog.New(slog.DiscardHandler), "--path.procfs="+sc.dir, "--sample.interval=10s",
		"--sample.window=1m", "--collector.timeout=1s", "--forecast.step=1m", "--forecast.history=8d")
	exp := e.exporter
	from := t0.Add(-historyHours * time.Hour)
	memory := func(at time.Time) float64 {
		return leakBase + leakSlope*max(0, at.Sub(t0.Add(-leakHours*time.Hour)).Hours())
	}
	writeMemory := func(at time.Time) {
		const total = 16000000
		content := fmt.Sprintf("MemTotal: %d kB\nMemFree: 1000000 kB\nMemAvailable: %.0f kB\nBuffers: 0 kB\nCached: 0 kB\nSwapTotal: 1000000 kB\nSwapFree: 900000 kB\n",
			total, total*(1-memory(at)))
		if err := os.WriteFile(filepath.Join(sc.dir, "meminfo"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp.forecasts.Hold()
	writeMemory(t0)
	exp.sampler.Sample() // anchors the forecasts' time axis at t0
	steps := historyHours * 60
	holdings, _ := exp.forecasts.Holdings() // every series the first sample found: host, vda and the mounts
	for _, h := range holdings {
		tg := h.Target
		level, ok := levels[seriesName(tg.Name, h.LabelValues)]
		if !ok {
			continue
		}
		names, values := h.LabelNames, h.LabelValues
		v := make([]float64, steps)
		for i := range v {
			at := from.Add(time.Duration(i) * time.Minute)
			// A daily cycle that meets the live level at t0, and a little deterministic noise.
			day := 2 * math.Pi * at.Sub(t0).Hours() / 24
			switch tg.Name {
			case "memory_usage_ratio":
				v[i] = memory(at) + 0.003*math.Sin(float64(i)*1.3)
			case "swap_usage_ratio":
				v[i] = level
			default:
				v[i] = level * (1 + 0.35*math.Sin(day) + 0.04*math.Sin(float64(i)*1.7))
			}
		}
		if _, err := exp.forecasts.Backfill(tg, names, values, from, v); err != nil {
			t.Fatal(err)
		}
	}
	exp.forecasts.Release()
	for range 36 {
		e.scenario.advance(t)
		e.clock.Advance(10 * time.Second)
		writeMemory(e.clock.Now().Wall)
		e.sampler.Sample()
	}
	return e
}

// seriesName names a series by its target and label values, for liveLevels.
func seriesName(target string, labelValues []string) string {
	return strings.Join(append([]string{target}, labelValues...), "/")
}

// liveLevels runs the scenario alone for 20 minutes and returns the mean of each forecast target's steps, for the
// backfill to continue.
func liveLevels(t *testing.T) map[string]float64 {
	t.Helper()
	e := newTestExporter(t)
	e.run(t, 120)
	levels := map[string]float64{}
	for _, v := range e.forecasts.Views(100) {
		sum := 0.0
		for _, x := range v.Observed {
			sum += x
		}
		if len(v.Observed) > 0 {
			levels[seriesName(v.Target.Name, v.LabelValues)] = sum / float64(len(v.Observed))
		}
	}
	if n := len(e.forecasts.Views(0)); len(levels) != n || n < len(collector.Targets()) {
		t.Fatalf("live levels of %d series, %d forecast: %v", len(levels), n, levels)
	}
	return levels
}

// TestPagesWhileSampling requests the pages from several clients while the program samples and forecasts every
// 50 ms, for the race detector: the pages read the forecaster only through Views.
func TestPagesWhileSampling(t *testing.T) {
	logs := &syncbuf.Buffer{}
	addr, stop := runExporter(t, logs, "--sample.interval=50ms", "--sample.window=1s", "--collector.timeout=50ms",
		"--forecast.step=100ms", "--forecast.history=1d", "--forecast.horizon=1s")
	defer func() {
		if status := stop(); status != 0 {
			t.Errorf("exit status %d\n%s", status, logs)
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			for i := range 15 {
				path := []string{"/forecast", "/api/v1/forecast", "/"}[i%3]
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("%s: %d", path, resp.StatusCode)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
