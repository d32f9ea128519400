package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

// TestAccuracyAndCoverage runs fixed-seed Monte-Carlo backtests on different generators and checks the 95 %
// interval coverage and the MAE against the naive forecast.
func TestAccuracyAndCoverage(t *testing.T) {
	step := 5 * time.Minute
	cases := []struct {
		name     string
		gen      seriesgen.Func
		maxRatio float64
		maxCov   float64
	}{
		{"trend_cycle_ar_spikes_shifts", seriesgen.TrendCycleARSpikesShifts, 0.9, 0.97},
		{"bursty_heavy_tailed", seriesgen.BurstyHeavyTailed, 0.9, 0.97},
		{"random_walk", seriesgen.RandomWalk, 1.05, 0.97},
		{"white", seriesgen.White, 0.8, 0.97},
		{"level_shifts", seriesgen.LevelShifts, 0.95, 0.97},
		// Exact between rare jumps: every forecast whose horizon holds no jump is exact and covered, so the coverage
		// cannot fall to 95 % when fewer than 5 % of the horizons hold a jump.
		{"step_constant", seriesgen.StepConstant, 1.01, 1},
		{"leak_restart", seriesgen.LeakRestart, 1.05, 0.97},
	}
	for _, tc := range cases {
		for seed := range uint64(2) {
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(seed, 99))
				vs := tc.gen(r, 12*288, t0, step)
				ratio, cov, n := backtestStats(t, cfgWith(step, time.Hour), vs)
				t.Logf("MAE/naive %.3f coverage %.3f over %d", ratio, cov, n)
				if math.IsNaN(ratio) {
					t.Fatal("MAE ratio is NaN")
				}
				if ratio > tc.maxRatio {
					t.Errorf("MAE ratio vs naive %.3f > %.2f", ratio, tc.maxRatio)
				}
				if cov < 0.93 || cov > tc.maxCov {
					t.Errorf("coverage %.3f outside [0.93, %.2f]", cov, tc.maxCov)
				}
			})
		}
	}
}

func TestErrorRatio(t *testing.T) {
	step := 5 * time.Minute
	for _, tc := range []struct {
		name   string
		gen    seriesgen.Func
		lo, hi float64
	}{
		{"white", seriesgen.White, 0.6, 0.85},             // the mean beats naive by about 1/√2
		{"random_walk", seriesgen.RandomWalk, 0.95, 1.08}, // nothing beats naive
	} {
		s := mustSeries(t, cfgWith(step, time.Hour))
		if _, ok := s.ErrorRatio(0); ok {
			t.Fatal("error ratio before any data")
		}
		vs := tc.gen(rand.New(rand.NewPCG(5, 5)), 5000, t0, step)
		for i, v := range vs {
			s.Push(t0.Add(time.Duration(i)*step), v)
		}
		r, ok := s.ErrorRatio(0)
		if !ok || r < tc.lo || r > tc.hi {
			t.Errorf("%s: ErrorRatio = %v, %v; want in [%v, %v]", tc.name, r, ok, tc.lo, tc.hi)
		}
		if _, ok := s.ErrorRatio(1); ok {
			t.Error("error ratio for a horizon that does not exist")
		}
	}
}

// TestErrorRatioTrustGate checks ErrorRatio as the alerts' trust gate (< 1) uses it: on a random walk, where
// nothing beats naive, it must not open the gate now and then (the measured ratio hovers around 1, so it is 1 while
// the guard falls back to naive), while on series the models do beat it stays open.
func TestErrorRatioTrustGate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		step     time.Duration
		gen      seriesgen.Func
		min, max float64 // bounds of the share of steps with ErrorRatio < 1
	}{
		{"random_walk_5m", 5 * time.Minute, seriesgen.RandomWalk, 0, 0.01},
		{"random_walk_1m", time.Minute, seriesgen.RandomWalk, 0, 0.05},
		{"white_5m", 5 * time.Minute, seriesgen.White, 0.99, 1},
		{"white_1m", time.Minute, seriesgen.White, 0.99, 1},
		{"trend_cycle_ar_spikes_shifts_5m", 5 * time.Minute, seriesgen.TrendCycleARSpikesShifts, 0.9, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := mustSeries(t, cfgWith(tc.step, time.Hour))
			below, n := 0, 0
			for i, v := range tc.gen(rand.New(rand.NewPCG(3, 42)), 8000, t0, tc.step) {
				s.Push(t0.Add(time.Duration(i)*tc.step), v)
				r, ok := s.ErrorRatio(0)
				if !ok || i < 1500 {
					continue
				}
				if th := s.combs[0].theta; th == 0 && r != 1 || th < 1 && r < 1 {
					t.Fatalf("step %d: guard θ = %v, ErrorRatio %v", i, th, r)
				}
				n++
				if r < 1 {
					below++
				}
			}
			share := float64(below) / float64(n)
			t.Logf("ErrorRatio < 1 at %.3f of the steps", share)
			if share < tc.min || share > tc.max {
				t.Errorf("ErrorRatio < 1 at %.3f of the steps, want in [%v, %v]", share, tc.min, tc.max)
			}
		})
	}
}
