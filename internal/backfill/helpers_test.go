package backfill

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/backfill/backfilltest"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// fakeForecaster records what a backfill hands it, and takes everything in [from, live) as the forecaster does.
type fakeForecaster struct {
	mu       sync.Mutex
	holdings []forecaster.Holding
	live     time.Time
	step     time.Duration
	got      map[string]map[time.Time]float64 // by target{labels}, by step start
	released int
	calls    int
}

func newFakeForecaster(live time.Time, step time.Duration, holdings ...forecaster.Holding) *fakeForecaster {
	return &fakeForecaster{holdings: holdings, live: live, step: step, got: map[string]map[time.Time]float64{}}
}

// hostHoldings are the host-wide series with nothing held, and, with devices, the model's disk and filesystem
// (backfilltest.SeriesLabels).
func hostHoldings(devices bool) []forecaster.Holding {
	var hs []forecaster.Holding
	for _, t := range collector.Targets() {
		if t.PerDevice() && !devices {
			continue
		}
		names, values := backfilltest.SeriesLabels(t)
		hs = append(hs, forecaster.Holding{Target: t, LabelNames: names, LabelValues: values})
	}
	return hs
}

// recordKey is the key of the fake forecaster's record of a series: target{label values}.
func recordKey(t *collector.Target, values []string) string {
	return t.Name + "{" + strings.Join(values, ",") + "}"
}

func (f *fakeForecaster) Holdings() ([]forecaster.Holding, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holdings, f.live
}

func (f *fakeForecaster) Backfill(t *collector.Target, names, values []string, start time.Time, steps []float64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.released > 0 {
		return 0, fmt.Errorf("backfill after release")
	}
	if len(names) != len(values) {
		return 0, fmt.Errorf("labels %q=%q", names, values)
	}
	key := recordKey(t, values)
	m := f.got[key]
	if m == nil {
		m = map[time.Time]float64{}
		f.got[key] = m
	}
	n := 0
	for i, v := range steps {
		at := start.Add(time.Duration(i) * f.step)
		if math.IsNaN(v) || !at.Before(f.live) {
			continue
		}
		if _, dup := m[at]; dup {
			return n, fmt.Errorf("%s: step %s handed twice", key, at)
		}
		m[at] = v
		n++
	}
	return n, nil
}

func (f *fakeForecaster) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released++
}

// newTestBackfiller returns a backfiller of url with the test's defaults.
func newTestBackfiller(t *testing.T, url, selector string, step, history time.Duration, logs *strings.Builder) *Backfiller {
	t.Helper()
	cfg := Config{URL: url, Selector: selector, Step: step, History: history, Timeout: 20 * time.Second}
	cfg.HTTP, _ = LoadHTTPConfig("")
	cfg.Disk.Exclude = mustRegexp(collector.DefaultDiskExclude)
	cfg.Filesystem.MountPointsExclude = mustRegexp(collector.DefaultMountPointsExclude)
	cfg.Filesystem.FSTypesExclude = mustRegexp(collector.DefaultFSTypesExclude)
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{b: logs}, nil))
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// metric returns the value of one series (`name{labels}`) in the backfill's metrics.
func metric(b *Backfiller, series string) float64 {
	for _, line := range strings.Split(string(b.AppendMetrics(nil)), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return math.NaN()
}

func runWithin(t *testing.T, b *Backfiller, f Forecaster, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return b.Run(ctx, f)
}

// feedOneSample gives f one sample of the repository's fake /proc, which anchors its time axis: the first live
// step is the current one.
func feedOneSample(t *testing.T, f *forecaster.Forecaster) {
	t.Helper()
	proc, err := collector.NewProcFS("../../testdata/proc/t0")
	if err != nil {
		t.Fatal(err)
	}
	sources := collector.NewSources(proc, collector.Config{}, func(string) bool { return true })
	s, err := collector.NewSampler(collector.SamplerConfig{Interval: time.Second, Window: time.Minute, Timeout: time.Second}, sources, f)
	if err != nil {
		t.Fatal(err)
	}
	s.Sample()
	s.Close()
}
