package forecast

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAccuracyAndCoverage runs fixed-seed Monte-Carlo backtests on different generators and checks the 95 %
// interval coverage and the MAE against the naive forecast.
func TestAccuracyAndCoverage(t *testing.T) {
	step := 5 * time.Minute
	cases := []struct {
		name     string
		gen      func(*rand.Rand, int, time.Duration) []float64
		maxRatio float64
	}{
		{"trend_cycle_ar_spikes_shifts", genTrendCycleAR, 0.9},
		{"bursty_heavy_tailed", genBursty, 0.9},
		{"random_walk", genRandomWalk, 1.05},
		{"white", genWhite, 0.8},
	}
	for _, tc := range cases {
		for seed := range uint64(2) {
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(seed, 99))
				vs := tc.gen(r, 12*288, step)
				ratio, cov, n := backtestStats(t, cfgWith(step, time.Hour), vs)
				t.Logf("MAE/naive %.3f coverage %.3f over %d", ratio, cov, n)
				if ratio > tc.maxRatio {
					t.Errorf("MAE ratio vs naive %.3f > %.2f", ratio, tc.maxRatio)
				}
				if cov < 0.93 || cov > 0.97 {
					t.Errorf("coverage %.3f outside [0.93, 0.97]", cov)
				}
			})
		}
	}
}
