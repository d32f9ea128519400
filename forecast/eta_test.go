package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

func TestSecondsUntil(t *testing.T) {
	step := time.Minute
	cfg := cfgWith(step, 5*time.Minute, time.Hour)
	s := mustSeries(t, cfg)
	if _, ok := s.SecondsUntil(1); ok {
		t.Error("ETA before any data")
	}
	r := rand.New(rand.NewPCG(6, 6))
	// A noisy rising trend: 0.001 per step from 0.2.
	n := 400
	for i := range n {
		s.Push(t0.Add(time.Duration(i)*step), 0.2+0.001*float64(i)+0.002*r.NormFloat64())
	}
	_, last, _ := s.Last()
	eta, ok := s.SecondsUntil(0.62)
	if !ok {
		t.Fatal("no ETA")
	}
	// The point path reaches 0.62 after about (0.62 − 0.6)/0.001 = 20 steps; the upper bound earlier, but not
	// before the first step.
	if !(eta > 0 && eta <= 21*60) {
		t.Errorf("ETA to 0.62 from %v on a rising trend: %v s, want in (0, 1260]", last, eta)
	}
	if eta2, _ := s.SecondsUntil(0.64); !(eta2 > eta) {
		t.Errorf("ETA to a higher threshold %v is not later than %v", eta2, eta)
	}
	// Beyond what the longest horizon supports: +Inf.
	if eta, ok := s.SecondsUntil(10); !ok || !math.IsInf(eta, 1) {
		t.Errorf("ETA to an unreachable threshold: %v %v, want +Inf", eta, ok)
	}
	if eta, ok := s.SecondsUntil(0.1); !ok || eta != 0 {
		t.Errorf("ETA to a threshold already crossed: %v %v, want 0", eta, ok)
	}
}

func TestSecondsUntilFlatSeriesIsInfinite(t *testing.T) {
	s := mustSeries(t, cfgWith(time.Minute, 5*time.Minute, time.Hour))
	r := rand.New(rand.NewPCG(6, 7))
	for i := range 300 {
		s.Push(t0.Add(time.Duration(i)*time.Minute), 0.3+0.01*r.NormFloat64())
	}
	if eta, ok := s.SecondsUntil(0.9); !ok || !math.IsInf(eta, 1) {
		t.Errorf("flat series at 0.3, threshold 0.9: %v %v, want +Inf", eta, ok)
	}
}

// TestSecondsUntilFollowsPublishedForecast checks that the ETA path at a configured horizon is the published
// forecast's upper bound: a threshold just below it is crossed by then, one just above it is not crossed at that
// step (the path is monotone here).
func TestSecondsUntilFollowsPublishedForecast(t *testing.T) {
	step := time.Minute
	s := mustSeries(t, cfgWith(step, 30*time.Minute))
	r := rand.New(rand.NewPCG(2, 3))
	for i := range 600 {
		s.Push(t0.Add(time.Duration(i)*step), 0.1+0.0005*float64(i)+0.001*r.NormFloat64())
	}
	p, ok := s.Forecast(0)
	if !ok {
		t.Fatal("not ready")
	}
	below, _ := s.SecondsUntil(p.Upper - 1e-9)
	if !(below <= 30*60) {
		t.Errorf("threshold just below the 30m upper bound %v: ETA %v s, want <= 1800", p.Upper, below)
	}
	above, _ := s.SecondsUntil(p.Upper + 1e-6)
	if !(above > 29*60) {
		t.Errorf("threshold just above the 30m upper bound %v: ETA %v s, want > 1740", p.Upper, above)
	}
}

// TestWarmupStepsCountsDown pushes a series step by step and checks, at every step, that WarmupSteps predicts
// exactly when Forecast starts to serve each horizon.
func TestWarmupStepsCountsDown(t *testing.T) {
	step := time.Minute
	cfg := cfgWith(step, 5*time.Minute, time.Hour, 6*time.Hour)
	s := mustSeries(t, cfg)
	predicted := make([]int, len(cfg.Horizons)) // the push at which each horizon was predicted to be ready
	for h := range predicted {
		predicted[h] = s.WarmupSteps(h)
	}
	r := rand.New(rand.NewPCG(4, 4))
	vs := seriesgen.TrendCycleARSpikesShifts(r, 500, t0, step)
	for i, v := range vs {
		s.Push(t0.Add(time.Duration(i)*step), v)
		for h := range cfg.Horizons {
			_, ready := s.Forecast(h)
			left := s.WarmupSteps(h)
			if ready != (left == 0) {
				t.Fatalf("push %d horizon %v: ready %v but %d steps left", i+1, cfg.Horizons[h], ready, left)
			}
			if want := predicted[h] - (i + 1); left != max(want, 0) {
				t.Fatalf("push %d horizon %v: %d steps left, predicted %d before the first push", i+1, cfg.Horizons[h], left, want)
			}
		}
	}
	// A fresh series: a horizon of k steps is ready after max(MinHistorySteps, k + minScored) steps.
	for h, d := range cfg.Horizons {
		if k := int(d / step); predicted[h] != max(MinHistorySteps, k+minScored) {
			t.Errorf("horizon %v: ready after %d steps, want %d", d, predicted[h], max(MinHistorySteps, k+minScored))
		}
	}
	if s.WarmupSteps(len(cfg.Horizons)) != -1 {
		t.Error("an unknown horizon has a warm-up")
	}
}

func TestExpectedSecondsUntilFollowsThePoint(t *testing.T) {
	step := time.Minute
	s := mustSeries(t, cfgWith(step, 5*time.Minute, time.Hour))
	for i := range 400 { // a steady climb of 0.1 per step
		s.Push(t0.Add(time.Duration(i)*step), 10+0.1*float64(i))
	}
	expected, ok := s.ExpectedSecondsUntil(54)
	earliest, ok2 := s.SecondsUntil(54)
	if !ok || !ok2 {
		t.Fatal("no ETA")
	}
	// At 49.9 now and 0.1 a step, the point path reaches 54 after 41 steps, within the 1h look-ahead; the upper
	// bound no later.
	if math.Abs(expected-41*60) > 2*60 {
		t.Errorf("expected ETA %v s, want about %v s", expected, 41*60)
	}
	if earliest > expected {
		t.Errorf("upper-bound ETA %v s later than the point's %v s", earliest, expected)
	}
}
