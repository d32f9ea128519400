package seriesgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var start = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// TestGeneratorsDiffer guards the evaluation itself: every generator yields finite values, the same ones for the
// same seed, and no two generators are copies of one another.
func TestGeneratorsDiffer(t *testing.T) {
	seen := map[float64]string{}
	names := map[string]bool{}
	for _, g := range All() {
		if names[g.Name] {
			t.Errorf("two generators named %s", g.Name)
		}
		names[g.Name] = true
		vs := g.Gen(rand.New(rand.NewPCG(1, 42)), 500, start, 5*time.Minute)
		if len(vs) != 500 {
			t.Fatalf("%s: %d values, want 500", g.Name, len(vs))
		}
		sum := 0.0
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: non-finite value", g.Name)
			}
			sum += v
		}
		if other, dup := seen[sum]; dup {
			t.Errorf("%s and %s generate the same series", g.Name, other)
		}
		seen[sum] = g.Name
		if again := g.Gen(rand.New(rand.NewPCG(1, 42)), 500, start, 5*time.Minute); !slices.Equal(vs, again) {
			t.Errorf("%s: not reproducible from its seed", g.Name)
		}
	}
}

// TestDailyPhaseFromWallTime: the daily shapes follow the time of day of start + i·step, not the index.
func TestDailyPhaseFromWallTime(t *testing.T) {
	at := func(start time.Time, step time.Duration) []float64 {
		return CronDaily(rand.New(rand.NewPCG(3, 3)), 1, start, step)
	}
	if v := at(start.Add(3600*time.Second+time.Minute), time.Minute)[0]; v < 0.6 {
		t.Errorf("01:01 UTC: %v, want the nightly job (≥ 0.6)", v)
	}
	if v := at(start.Add(3*time.Hour), time.Minute)[0]; v > 0.3 {
		t.Errorf("03:00 UTC: %v, want the baseline", v)
	}
}
