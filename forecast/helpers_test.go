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
			if !(p.Lower <= p.Point && p.Point <= p.Upper) {
				t.Fatalf("step %d: point %v outside its interval [%v, %v]", i, p.Point, p.Lower, p.Upper)
			}
			pending[i] = pend{p, v, true}
		}
	}
	if scored == 0 {
		t.Fatal("nothing scored")
	}
	return mae / naive, float64(covered) / float64(scored), scored
}

// genLevelShifts is white noise around a level that jumps to a new random value every ~500 steps.
func genLevelShifts(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	level := 0.5
	for i := range out {
		if r.Float64() < 1.0/500 {
			level = 0.1 + 0.8*r.Float64()
		}
		out[i] = level + 0.03*r.NormFloat64()
	}
	return out
}

// genQuantised is exactly constant for long stretches with rare jumps of whole units (a quantised gauge).
func genQuantised(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	v := 4e9
	for i := range out {
		if r.Float64() < 0.003 {
			v += 1e8 * math.Round(4*r.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// genLeakRestart is a drifting random walk (a memory leak) that drops back at restarts.
func genLeakRestart(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	v := 0.2
	for i := range out {
		v += 0.0002 + 0.001*r.NormFloat64()
		if v > 0.9 || r.Float64() < 0.0005 {
			v = 0.2
		}
		out[i] = v + 0.002*r.NormFloat64()
	}
	return out
}

// genSpiky is a low noisy baseline with lognormal bursts of 1–3 steps starting at 2 % of the steps.
func genSpiky(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	burst, h := 0, 0.0
	for i := range out {
		v := 0.05 + 0.01*r.NormFloat64()
		if burst == 0 && r.Float64() < 0.02 {
			burst = 1 + r.IntN(3)
			h = 0.2 * math.Exp(r.NormFloat64())
		}
		if burst > 0 {
			v += h
			burst--
		}
		out[i] = max(v, 0)
	}
	return out
}

// genHeavyTailed is Student-t (2 degrees of freedom) noise on a slowly drifting level.
func genHeavyTailed(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	level := 10.0
	for i := range out {
		level += 0.02 * r.NormFloat64()
		a, b := r.NormFloat64(), r.NormFloat64()
		out[i] = max(0, level+1.5*r.NormFloat64()/math.Sqrt((a*a+b*b)/2))
	}
	return out
}

// genOnOff switches between two noisy levels with probability 1/50 per step.
func genOnOff(r *rand.Rand, n int, _ time.Duration) []float64 {
	out := make([]float64, n)
	on := false
	for i := range out {
		if r.Float64() < 1.0/50 {
			on = !on
		}
		v := 0.1
		if on {
			v = 0.7
		}
		out[i] = max(0, v+0.05*r.NormFloat64())
	}
	return out
}

// genPeriodicJobs is a 20-minute job every 2 hours (wall time from t0) on a noisy baseline.
func genPeriodicJobs(r *rand.Rand, n int, step time.Duration) []float64 {
	out := make([]float64, n)
	for i := range out {
		v := 0.1 + 0.02*r.NormFloat64()
		if (time.Duration(i)*step)%(2*time.Hour) < 20*time.Minute {
			v += 0.6 + 0.05*r.NormFloat64()
		}
		out[i] = min(1, max(0, v))
	}
	return out
}

// genBurstyZero is mostly exactly 0 or small, with lognormal bursts of 1–12 steps whose rate follows the time of day.
func genBurstyZero(r *rand.Rand, n int, step time.Duration) []float64 {
	out := make([]float64, n)
	burst, h := 0, 0.0
	for i := range out {
		p := 0.01 * (1.5 + math.Sin(2*math.Pi*(time.Duration(i)*step).Hours()/24))
		if burst == 0 && r.Float64() < p {
			burst = 1 + r.IntN(12)
			h = 1e6 * math.Exp(1.5*r.NormFloat64())
		}
		v := 0.0
		if burst > 0 {
			v = h * (0.5 + r.Float64())
			burst--
		} else if r.Float64() < 0.3 {
			v = 1e3 * r.ExpFloat64()
		}
		out[i] = v
	}
	return out
}
