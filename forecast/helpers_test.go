package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// t0 is a Monday midnight UTC, so daily phases in tests are easy to reason about.
var t0 = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

func mustSeries(t testing.TB, cfg Config) *Series {
	t.Helper()
	s, err := NewSeries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cfgWith(step time.Duration, horizons ...time.Duration) Config {
	c := DefaultConfig()
	c.Step = step
	c.Horizons = horizons
	return c
}

// genTrendCycleAR is a trend + daily cycle + AR(1) noise + spikes + level shifts, at step.
func genTrendCycleAR(r *rand.Rand, n int, step time.Duration) []float64 {
	out := make([]float64, n)
	ar, level := 0.0, 50.0
	for i := range out {
		sec := float64(i) * step.Seconds()
		ar = 0.7*ar + r.NormFloat64()
		if r.Float64() < 0.001 {
			level += 10 * r.NormFloat64()
		}
		v := level + 0.001*float64(i) + 8*math.Sin(2*math.Pi*sec/86400) + 2*ar
		if r.Float64() < 0.01 {
			v += 30 * r.Float64()
		}
		out[i] = v
	}
	return out
}

// genBursty is heavy-tailed and bursty: mostly near zero, bursts of lognormal height lasting a few steps.
func genBursty(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	burst, h := 0, 0.0
	for i := range out {
		if burst == 0 && r.Float64() < 0.03 {
			burst = 1 + r.IntN(5)
			h = math.Exp(1.5 * r.NormFloat64())
		}
		v := 0.01 * r.ExpFloat64()
		if burst > 0 {
			v += h * (0.5 + r.Float64())
			burst--
		}
		out[i] = v
	}
	return out
}

func genRandomWalk(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	v := 0.0
	for i := range out {
		v += r.NormFloat64()
		out[i] = v
	}
	return out
}

func genWhite(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 10 + r.NormFloat64()
	}
	return out
}

// backtestStats runs one series over vs like the backtest CLI and returns MAE(ours)/MAE(naive), interval coverage
// and the number of scored forecasts for horizon index 0.
func backtestStats(t testing.TB, cfg Config, vs []float64) (ratio, coverage float64, scored int) {
	t.Helper()
	s := mustSeries(t, cfg)
	k := int(cfg.Horizons[0] / cfg.Step)
	type pend struct {
		p     Prediction
		naive float64
		ok    bool
	}
	pending := make([]pend, len(vs))
	var mae, naive float64
	covered := 0
	for i, v := range vs {
		s.Push(t0.Add(time.Duration(i)*cfg.Step), v)
		if j := i - k; j >= 0 && pending[j].ok {
			p := pending[j]
			scored++
			mae += math.Abs(v - p.p.Point)
			naive += math.Abs(v - p.naive)
			if v >= p.p.Lower && v <= p.p.Upper {
				covered++
			}
		}
		if p, ok := s.Forecast(0); ok {
			pending[i] = pend{p, v, true}
		}
	}
	if scored == 0 {
		t.Fatal("nothing scored")
	}
	return mae / naive, float64(covered) / float64(scored), scored
}
