package backfill

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/backfill/backfilltest"
)

func mustRegexp(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// syntheticPrometheus starts a real Prometheus serving the history that write produces, made into blocks by
// promtool, and returns its URL.
func syntheticPrometheus(t *testing.T, from, to time.Time, write func(io.Writer) error) string {
	t.Helper()
	promtool := backfilltest.Require(t, "promtool")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	backfilltest.WriteHistory(ctx, t, promtool, dir, data, from, to, write)
	_, url := backfilltest.Prometheus(ctx, t, dir, data, "global: {}\n", "--storage.tsdb.retention.time=30d")
	return url
}

const testSelector = `instance=~"testhost(:[0-9]+)?"`

// TestNodeExpressionsGiveTheKnownAnswers loads six hours of synthetic node_exporter history, scraped every 15 s
// with a reboot (counter reset) in the middle, from a real Prometheus, and checks every step of every target
// against the exporter's definition applied to the model's scrapes (backfilltest.NodeValue): CPU busy of all CPUs
// (whose CPUs differ), memory, swap, load, and sda's utilisation and bytes, without the partition and the loop
// device that the filter drops.
func TestNodeExpressionsGiveTheKnownAnswers(t *testing.T) {
	const step, interval, span = time.Minute, 15 * time.Second, 6 * time.Hour
	end := time.Now().Truncate(step)
	m := backfilltest.Model{End: end, Step: step, Host: "testhost"}
	reset := end.Add(-2*time.Hour - 20*time.Second)
	url := syntheticPrometheus(t, end.Add(-span-time.Hour), end, func(w io.Writer) error {
		return backfilltest.WriteNodeExporter(w, m, end.Add(-span-time.Hour), end, interval, reset)
	})
	var logs strings.Builder
	b := newTestBackfiller(t, url, testSelector, step, span, &logs)
	f := newFakeForecaster(end, step, hostHoldings(true)...)
	if err := runWithin(t, b, f, time.Minute); err != nil {
		t.Fatalf("backfill: %v\n%s", err, logs.String())
	}
	if f.released != 1 {
		t.Errorf("released %d times", f.released)
	}
	checkKnown(t, f, end.Add(-span), end, func(target string, s time.Time) (float64, bool) {
		// The step whose window holds the reboot: rate() takes the drop to 0 as a reset, but its extrapolation
		// sees the restarted counter differently.
		if reset.After(s.Add(-interval-interval/4)) && reset.Before(s.Add(step)) {
			return 0, false
		}
		return m.NodeValue(target, s, interval), true
	})
	if got := metric(b, `servermon_forecast_backfill_success`); got != 1 {
		t.Errorf("success %v", got)
	}
	if got, want := metric(b, `servermon_forecast_backfill_samples_total{source="node_exporter"}`), float64(len(collector.Targets()))*float64(span/step); got != want {
		t.Errorf("%v node_exporter samples loaded, want %v", got, want)
	}
	if got := metric(b, `servermon_forecast_backfill_samples_total{source="servermon"}`); got != 0 {
		t.Errorf("%v servermon samples without servermon series", got)
	}
	t.Logf("%v queries, %v bytes", metric(b, `servermon_forecast_backfill_queries_total{source="node_exporter"}`),
		metric(b, `servermon_forecast_backfill_response_bytes_total`))
}

// TestOwnExpressionsGiveTheKnownAnswers does the same with the exporter's own series, scraped every 15 s, each
// scrape a mean over the minute before it: a step's value is the mean of the scrapes whose windows are centred in
// it, and nothing is read from scrapes after the first live step.
func TestOwnExpressionsGiveTheKnownAnswers(t *testing.T) {
	const span = 3 * time.Hour
	b := testOwnExpressions(t, span, span)
	windowMeans := 0
	for _, tg := range collector.Targets() {
		if !backfilltest.Latest(tg.Name) {
			windowMeans++
		}
	}
	if got, want := metric(b, `servermon_forecast_backfill_samples_total{source="servermon"}`), float64(len(collector.Targets()))*float64(span/time.Minute)-float64(windowMeans); got != want {
		t.Errorf("%v servermon samples loaded, want %v", got, want)
	}
}

// TestLessHistoryThanAsked: Prometheus holds 3 hours of the exporter's own series where the backfill asks for 8
// days (--forecast.history; an exporter installed hours ago). The scrape interval must still be the scrapes' (the
// last hour's density), not the 8 days over the samples there are (36 min), whose windows would have loaded every
// step as a mean of 45 minutes.
func TestLessHistoryThanAsked(t *testing.T) {
	testOwnExpressions(t, 3*time.Hour, 8*24*time.Hour)
}

// testOwnExpressions loads span of the exporter's own series (and an hour before it) with a backfill that asks for
// history, and checks every step of span against the known answers.
func testOwnExpressions(t *testing.T, span, history time.Duration) *Backfiller {
	t.Helper()
	const step, interval, window = time.Minute, 15 * time.Second, time.Minute
	end := time.Now().Truncate(step)
	m := backfilltest.Model{End: end, Step: step, Host: "testhost"}
	url := syntheticPrometheus(t, end.Add(-span-time.Hour), end, func(w io.Writer) error {
		return backfilltest.WriteServermon(w, m, end.Add(-span-time.Hour), end, interval, window)
	})
	var logs strings.Builder
	b := newTestBackfiller(t, url, testSelector, step, history, &logs)
	b.cfg.Window = window
	f := newFakeForecaster(end, step, hostHoldings(true)...)
	if err := runWithin(t, b, f, time.Minute); err != nil {
		t.Fatalf("backfill: %v\n%s", err, logs.String())
	}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	if history > span { // the hour before span is there too: check it, but its first steps' windows reach before it
		for key, got := range f.got {
			for s := range got {
				if s.Before(end.Add(-span)) {
					delete(got, s)
				}
			}
			f.got[key] = got
		}
	}
	checkKnown(t, f, end.Add(-span), end, func(target string, s time.Time) (float64, bool) {
		// The last step of a window mean would be read from scrapes after the first live step: not loaded.
		if !backfilltest.Latest(target) && !s.Add(step).Before(end) {
			return 0, false
		}
		return m.OwnValue(target, s, interval, window), true
	})
	for key, got := range f.got {
		if _, ok := got[end.Add(-step)]; ok && !backfilltest.Latest(key[:strings.Index(key, "{")]) {
			t.Errorf("%s: the last step loaded from window means that reach into the live steps", key)
		}
	}
	return b
}

// checkKnown compares every step of [from, to) of every target with the known answer.
func checkKnown(t *testing.T, f *fakeForecaster, from, to time.Time, want func(target string, s time.Time) (float64, bool)) {
	t.Helper()
	for _, tg := range collector.Targets() {
		_, values := backfilltest.SeriesLabels(tg)
		key := recordKey(tg, values)
		got := f.got[key]
		if len(got) == 0 {
			t.Errorf("%s: nothing loaded; loaded: %v", key, keys(f.got))
			continue
		}
		worst, worstAt, missing, checked := 0.0, time.Time{}, 0, 0
		for s := from; s.Before(to); s = s.Add(f.step) {
			w, ok := want(tg.Name, s)
			if !ok {
				continue
			}
			g, ok := got[s]
			if !ok {
				missing++
				continue
			}
			checked++
			if d := math.Abs(g-w) / max(1, math.Abs(w)); d > worst {
				worst, worstAt = d, s
			}
		}
		if missing > 0 || worst > 1e-6 {
			t.Errorf("%s: %d steps checked, %d missing, worst relative error %.3g at %s (got %v, want %v)", key, checked, missing,
				worst, worstAt.Format(time.TimeOnly), got[worstAt], func() float64 { v, _ := want(tg.Name, worstAt); return v }())
		}
		for s := range got {
			if s.Before(from) || !s.Before(to) {
				t.Errorf("%s: step %s outside [%s, %s)", key, s, from, to)
				break
			}
		}
	}
	for k := range f.got {
		if strings.Contains(k, "sda1") || strings.Contains(k, "loop0") || strings.Contains(k, "squashfs") {
			t.Errorf("%s loaded: the device or filesystem filter was not applied", k)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
