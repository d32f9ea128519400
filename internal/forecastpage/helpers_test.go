package forecastpage

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// testEnd is the start of the newest step of the test histories.
var testEnd = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var defaultHorizons = []time.Duration{5 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

// leakingHost returns a forecaster holding steps of history ending at testEnd, at the default step and horizons:
// memory leaking from 35 % towards 95 %, CPU and disk on a daily cycle, flat swap, and the given disks.
func leakingHost(tb testing.TB, steps int, disks ...string) *forecaster.Forecaster {
	tb.Helper()
	f, err := forecaster.New(forecaster.Config{Step: time.Minute, History: 8 * 24 * time.Hour, Horizons: defaultHorizons,
		AnomalyThreshold: 4})
	if err != nil {
		tb.Fatal(err)
	}
	f.Hold()
	start := testEnd.Add(-time.Duration(steps-1) * time.Minute)
	rng := rand.New(rand.NewPCG(1, 2))
	series := func(fn func(i int, day float64) float64) []float64 {
		v := make([]float64, steps)
		for i := range v {
			day := 2 * math.Pi * float64(start.Add(time.Duration(i)*time.Minute).Unix()%86400) / 86400
			v[i] = fn(i, day)
		}
		return v
	}
	fill := func(name string, names, values []string, v []float64) {
		tb.Helper()
		if _, err := f.Backfill(collector.TargetByName(name), names, values, start, v); err != nil {
			tb.Fatal(err)
		}
	}
	fill("cpu_usage_ratio", nil, nil, series(func(i int, day float64) float64 {
		return 0.35 - 0.2*math.Cos(day) + 0.03*rng.NormFloat64()
	}))
	fill("memory_usage_ratio", nil, nil, series(func(i int, day float64) float64 {
		return 0.35 + 0.5*float64(i)/float64(steps) + 0.004*rng.NormFloat64()
	}))
	fill("swap_usage_ratio", nil, nil, series(func(int, float64) float64 { return 0.1 + 0.002*rng.NormFloat64() }))
	fill("load1", nil, nil, series(func(i int, day float64) float64 {
		return math.Max(0, 1.2-0.8*math.Cos(day)+0.2*rng.NormFloat64())
	}))
	for _, d := range disks {
		dev := []string{d}
		fill("disk_utilization_ratio", []string{"device"}, dev, series(func(i int, day float64) float64 {
			return math.Max(0, 0.3-0.2*math.Cos(day)+0.05*rng.NormFloat64())
		}))
		fill("disk_read_bytes_per_second", []string{"device"}, dev, series(func(i int, day float64) float64 {
			return math.Max(0, 6e6-4e6*math.Cos(day)+1e6*rng.NormFloat64())
		}))
		fill("disk_write_bytes_per_second", []string{"device"}, dev, series(func(i int, day float64) float64 {
			return math.Max(0, 3e6-2e6*math.Cos(day)+5e5*rng.NormFloat64())
		}))
	}
	f.Release()
	return f
}

// testPages returns pages over src at the default step and horizons, the clock at the newest step.
func testPages(tb testing.TB, src Source, mutate ...func(*Config)) *Pages {
	tb.Helper()
	cfg := Config{Source: src, Step: time.Minute, Horizons: defaultHorizons, TelemetryPath: "/metrics", Version: "test",
		Location: time.UTC, Now: func() time.Time { return testEnd.Add(30 * time.Second) }}
	for _, m := range mutate {
		m(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
