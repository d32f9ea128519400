package forecaster

import (
	"math"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/clock"
)

// TestBackfillGoesBeforeTheLiveSteps: while held, the live steps wait; a backfill of older history goes in first,
// the live steps after it on Release, and nothing of the backfill at or after the first live step is taken.
func TestBackfillGoesBeforeTheLiveSteps(t *testing.T) {
	cfg := testConfig()
	f := newForecaster(t, cfg)
	f.Hold()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	src := newGaugeSource("sda")
	s := testSampler(t, src, f, fake, 10*time.Second)
	for range 5 { // 4 live steps finish
		s.Sample()
		fake.Advance(10 * time.Second)
	}
	if v := f.Views(0); len(v) != 2 || v[0].HasLast {
		t.Fatalf("live steps pushed while held: %+v", v)
	}
	cpu := collector.TargetByName("cpu_usage_ratio")
	// 200 steps of history ending 10 steps after the first live one: those 10 must be dropped.
	from := start.Add(-190 * cfg.Step)
	values := make([]float64, 200)
	for i := range values {
		values[i] = 0.2 + 0.1*math.Sin(float64(i)/8)
	}
	values[7] = math.NaN() // a missing step
	n, err := f.Backfill(cpu, nil, nil, from, values)
	if err != nil {
		t.Fatal(err)
	}
	if n != 189 {
		t.Errorf("%d steps backfilled, want 190 before the first live step less the missing one", n)
	}
	// A device that only Prometheus knows gets a series too.
	if _, err := f.Backfill(collector.TargetByName("disk_utilization_ratio"), []string{"device"}, []string{"sdz"}, from, values); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Backfill(cpu, nil, nil, from.Add(time.Second), values); err == nil {
		t.Error("a start off the step grid was accepted")
	}
	f.Release()
	v := f.Views(300)[0]
	if len(v.Observed) != 194 || !v.LastStep.Equal(start.Add(3*cfg.Step)) {
		t.Fatalf("%d steps held, newest %v; want 190 backfilled and 4 live up to %v", len(v.Observed), v.LastStep, start.Add(3*cfg.Step))
	}
	if got := v.Observed[len(v.Observed)-1]; got != 0.5 {
		t.Errorf("newest step %v, want the live value 0.5", got)
	}
	if !v.Horizons[0].Ready {
		t.Error("no forecast right after a backfill of 190 steps")
	}
	if _, err := f.Backfill(cpu, nil, nil, from, values); err == nil {
		t.Error("backfill accepted after Release")
	}
	s.Sample() // live steps flow again
	fake.Advance(10 * time.Second)
	s.Sample()
	if v := f.Views(0)[0]; !v.LastStep.Equal(start.Add(5 * cfg.Step)) {
		t.Errorf("newest step %v after Release and two samples", v.LastStep)
	}
}

// TestHeldTooLongReleasesItself: a backfill that never ends does not hold the forecasts for more than
// maxHeldSteps steps.
func TestHeldTooLongReleasesItself(t *testing.T) {
	cfg := testConfig()
	cfg.Step = time.Second
	f := newForecaster(t, cfg)
	f.Hold()
	fake := clock.NewFake(time.Unix(1.7e9, 0))
	s := testSampler(t, newGaugeSource(), f, fake, time.Second)
	for range maxHeldSteps + 2 {
		s.Sample()
		fake.Advance(time.Second)
	}
	if v := f.Views(0)[0]; !v.HasLast || v.HistorySeconds < maxHeldSteps {
		t.Errorf("still held after %d steps: %+v", maxHeldSteps+1, v)
	}
}
