package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

// TestRescaleIsEquivariant feeds one series y and, after rescaling it by c, c·y; another is fed c·y throughout.
// With c a power of two every operation is exact, so the two must agree bit for bit from the rescale on: forecasts
// and bounds at every horizon, error ratios, anomaly scores and the ETA.
func TestRescaleIsEquivariant(t *testing.T) {
	step := 5 * time.Minute
	cfg := cfgWith(step, 5*time.Minute, time.Hour, 6*time.Hour)
	r := rand.New(rand.NewPCG(8, 13))
	vs := seriesgen.TrendCycleARSpikesShifts(r, 3000, t0, step)
	for _, c := range []float64{0.5, 0.25, 2} {
		a, b := mustSeries(t, cfg), mustSeries(t, cfg)
		for i, v := range vs {
			tm := t0.Add(time.Duration(i) * step)
			if i == 2000 && !a.Rescale(c) {
				t.Fatal("Rescale refused a valid factor")
			}
			if i < 2000 {
				a.Push(tm, v)
			} else {
				a.Push(tm, c*v)
			}
			b.Push(tm, c*v)
			if i < 2000 {
				continue
			}
			for h := range cfg.Horizons {
				pa, oka := a.Forecast(h)
				pb, okb := b.Forecast(h)
				ea, _ := a.ErrorRatio(h)
				eb, _ := b.ErrorRatio(h)
				if pa != pb || oka != okb || ea != eb {
					t.Fatalf("c=%v step %d horizon %d: rescaled %v %v ratio %v, fed scaled %v %v ratio %v", c, i, h, pa, oka, ea, pb, okb, eb)
				}
			}
			sa, _, _ := a.Anomaly()
			sb, _, _ := b.Anomaly()
			ta, _ := a.SecondsUntil(c * 80)
			tb, _ := b.SecondsUntil(c * 80)
			if sa != sb || ta != tb {
				t.Fatalf("c=%v step %d: anomaly %v vs %v, ETA %v vs %v", c, i, sa, sb, ta, tb)
			}
		}
	}
}

// TestRescaleKeepsTrustThroughResize is the case Rescale is for: a filesystem at a steady usage is resized to
// twice its size. Fed the halved ratio without Rescale, the series takes it for a level shift and its error ratio
// (the alerts' trust gate) leaves "< 1" for hours; rescaled, the gate stays as it was.
func TestRescaleKeepsTrustThroughResize(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Min, cfg.Max = 0, 1
	r := rand.New(rand.NewPCG(3, 4))
	n, at := 2*1440, 1440
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = 0.6 + 0.0001*float64(i)/60 + 0.003*r.NormFloat64()
	}
	closed := func(rescale bool) int {
		s := mustSeries(t, cfg)
		steps := 0
		for i, v := range vs {
			if i >= at {
				v /= 2
				if i == at && rescale && !s.Rescale(0.5) {
					t.Fatal("Rescale refused 0.5")
				}
			}
			s.Push(t0.Add(time.Duration(i)*time.Minute), v)
			if er, ok := s.ErrorRatio(1); i >= at && !(ok && er < 1) {
				steps++
			}
		}
		return steps
	}
	plain, rescaled := closed(false), closed(true)
	t.Logf("steps with the gate closed after the resize: %d without Rescale, %d with", plain, rescaled)
	if plain < 120 {
		t.Errorf("without Rescale the gate was closed for only %d steps after the resize; the test no longer shows the problem", plain)
	}
	if rescaled > plain/10 {
		t.Errorf("with Rescale the gate was closed for %d steps after the resize (without: %d)", rescaled, plain)
	}
}

func TestRescaleRejectsInvalidFactors(t *testing.T) {
	s := mustSeries(t, cfgWith(time.Minute, time.Hour))
	for i := range 100 {
		s.Push(t0.Add(time.Duration(i)*time.Minute), float64(i))
	}
	_, before, _ := s.Last()
	res := NewResampler(time.Minute)
	for _, c := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if s.Rescale(c) || res.Rescale(c) {
			t.Errorf("Rescale(%v) accepted", c)
		}
	}
	if _, after, _ := s.Last(); after != before {
		t.Errorf("a refused Rescale changed the last value from %v to %v", before, after)
	}
}

// TestResamplerRescale: a step in which a resize happens averages the samples in the new units when the resampler
// is rescaled with them.
func TestResamplerRescale(t *testing.T) {
	res := NewResampler(time.Minute)
	res.Add(t0, 0.8)
	res.Add(t0.Add(20*time.Second), 0.8)
	res.Rescale(0.5)
	res.Add(t0.Add(40*time.Second), 0.4)
	_, mean, done := res.Add(t0.Add(time.Minute), 0.4)
	if !done || math.Abs(mean-0.4) > 1e-15 {
		t.Errorf("step mean %v (done %v), want 0.4", mean, done)
	}
}
