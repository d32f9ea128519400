package forecast

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

func warmSeries(b *testing.B, cfg Config, n int) (*Series, int) {
	s := mustSeries(b, cfg)
	r := rand.New(rand.NewPCG(1, 2))
	vs := seriesgen.TrendCycleARSpikesShifts(r, n, t0, cfg.Step)
	for i, v := range vs {
		s.Push(t0.Add(time.Duration(i)*cfg.Step), v)
	}
	return s, n
}

// benchmarkPushes pushes one noisy step per iteration into a default-config series (4 horizons, 8d history)
// warmed up with two days of data, and calls after with the series after every push.
func benchmarkPushes(b *testing.B, after func(*Series)) {
	cfg := DefaultConfig()
	s, i := warmSeries(b, cfg, 2*1440)
	r := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Push(t0.Add(time.Duration(i)*cfg.Step), 50+r.NormFloat64())
		after(s)
		i++
	}
}

// BenchmarkPush is the per-step cost of one series with the default config: go test -run=^$ -bench=. -benchmem
// ./forecast/
func BenchmarkPush(b *testing.B) { benchmarkPushes(b, func(*Series) {}) }

// BenchmarkSecondsUntil is the ETA over the full 24h path of the default config (the worst case: not crossed).
func BenchmarkSecondsUntil(b *testing.B) {
	s, _ := warmSeries(b, DefaultConfig(), 2*1440)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.SecondsUntil(1e9)
	}
}

// BenchmarkMarshal also reports the size of a full default-config state (8 days of history).
func BenchmarkMarshal(b *testing.B) {
	s, _ := warmSeries(b, DefaultConfig(), 8*1440)
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for range b.N {
		state, err := s.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		n = len(state)
	}
	b.ReportMetric(float64(n), "bytes/state")
}

func BenchmarkUnmarshal(b *testing.B) {
	s, _ := warmSeries(b, DefaultConfig(), 8*1440)
	state, _ := s.MarshalBinary()
	b.SetBytes(int64(len(state)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.UnmarshalBinary(state); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewSeries reports, as B/op, the memory of one series with the default config (all buffers are allocated
// up front, so this is the steady-state footprint apart from the struct itself).
func BenchmarkNewSeries(b *testing.B) {
	cfg := DefaultConfig()
	b.ReportAllocs()
	for range b.N {
		if _, err := NewSeries(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLongGap is the cost of a push after six days without data at a 1 s step (518 400 filled steps).
func BenchmarkLongGap(b *testing.B) {
	cfg := cfgWith(time.Second, 10*time.Second, time.Minute)
	s := mustSeries(b, cfg)
	tm := t0
	for i := range 200 {
		s.Push(tm.Add(time.Duration(i)*time.Second), float64(i%7))
	}
	tm = tm.Add(200 * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		tm = tm.Add(6 * 24 * time.Hour)
		s.Push(tm, 1)
	}
}

// BenchmarkAnomaly is the cost of the anomaly score of a new value: a push and the first Anomaly call after it
// (later calls for the same value are cached).
func BenchmarkAnomaly(b *testing.B) { benchmarkPushes(b, func(s *Series) { s.Anomaly() }) }
