// Package seriesgen generates the synthetic series the forecasts are measured on: the forecast package's tests
// assert their thresholds on them and bench/forecast prints the accuracy figures of docs/forecasting.md from them,
// so both come from the same series. Every generator is pure: the values depend only on the random source, the
// count, the start time and the step. Times of day come from wall time (start + i·step), so a series started at
// midnight UTC has its daily phase at 0.
package seriesgen

import (
	"math"
	"math/rand/v2"
	"time"
)

// Func generates n values, one per step, the first at start, drawing its randomness from r.
type Func func(r *rand.Rand, n int, start time.Time, step time.Duration) []float64

// Generator is a named Func.
type Generator struct {
	Name string // as bench/forecast prints it and docs/forecasting.md lists it
	Gen  Func   // the generator
}

// All returns every generator, in the order docs/forecasting.md lists them. They are deliberately different in
// character: spiky, cyclic, random walk, heavy-tailed, regime switching, trending, mean reverting, white,
// bursty-near-zero, level shifts, periodic jobs, leaks, quantised, counts.
func All() []Generator {
	return []Generator{
		{"spiky", Spiky},
		{"daily_ar_spikes_shifts", DailyARSpikesShifts},
		{"random_walk", RandomWalk},
		{"heavy_tailed", HeavyTailed},
		{"on_off", OnOff},
		{"trend_cycle", TrendCycle},
		{"ar1", AR1},
		{"white", White},
		{"bursty_zero", BurstyZero},
		{"level_shifts", LevelShifts},
		{"periodic_jobs", PeriodicJobs},
		{"smooth_daily", SmoothDaily},
		{"leak_restart", LeakRestart},
		{"step_constant", StepConstant},
		{"poisson_counts", PoissonCounts},
		{"cron_daily", CronDaily},
		{"trend_cycle_ar_spikes_shifts", TrendCycleARSpikesShifts},
		{"bursty_heavy_tailed", BurstyHeavyTailed},
	}
}

// clock gives the Unix time in seconds of step i.
type clock struct{ start, step float64 }

func newClock(start time.Time, step time.Duration) clock {
	return clock{start: float64(start.Unix()) + float64(start.Nanosecond())/1e9, step: step.Seconds()}
}

func (c clock) at(i int) float64 { return c.start + float64(i)*c.step }

// daily is the daily cycle at Unix time t: 0 at midnight UTC, 1 at 06:00.
func daily(t float64) float64 { return math.Sin(2 * math.Pi * math.Mod(t, 86400) / 86400) }

func nonneg(v float64) float64 { return math.Max(v, 0) }

// Spiky is a low noisy baseline (0.05) with lognormal bursts of 1–3 steps starting at 2 % of the steps.
func Spiky(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
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
		out[i] = nonneg(v)
	}
	return out
}

// DailyARSpikesShifts is a ratio: a level of 0.4 with a daily cycle of ±0.2, AR(1) noise, spikes at 1 % of the
// steps and rare level shifts, clamped to [0, 1].
func DailyARSpikesShifts(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	ar, level := 0.0, 0.4
	for i := range out {
		ar = 0.8*ar + 0.03*r.NormFloat64()
		if r.Float64() < 0.0005 {
			level += 0.15 * r.NormFloat64()
		}
		v := level + 0.2*daily(c.at(i)) + ar
		if r.Float64() < 0.01 {
			v += 0.3 * r.Float64()
		}
		out[i] = math.Min(1, nonneg(v))
	}
	return out
}

// RandomWalk is a Gaussian random walk from 0 with unit steps: nothing forecasts it better than naive.
func RandomWalk(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
	out := make([]float64, n)
	v := 0.0
	for i := range out {
		v += r.NormFloat64()
		out[i] = v
	}
	return out
}

// HeavyTailed is Student-t noise (2 degrees of freedom) of scale 1.5 on a slowly drifting level from 10, not
// below 0.
func HeavyTailed(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
	out := make([]float64, n)
	level := 10.0
	for i := range out {
		level += 0.02 * r.NormFloat64()
		a, b := r.NormFloat64(), r.NormFloat64()
		out[i] = nonneg(level + 1.5*r.NormFloat64()/math.Sqrt((a*a+b*b)/2))
	}
	return out
}

// OnOff switches between two noisy levels (0.1 and 0.7) with probability 1/50 per step.
func OnOff(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
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
		out[i] = nonneg(v + 0.05*r.NormFloat64())
	}
	return out
}

// TrendCycle is a linear trend and a daily cycle with Gaussian noise on a 1e9 scale (a byte count).
func TrendCycle(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	for i := range out {
		out[i] = 1e9 + 2e4*float64(i) + 3e7*daily(c.at(i)) + 1e7*r.NormFloat64()
	}
	return out
}

// AR1 is a mean-reverting AR(1) process (coefficient 0.9) around 50.
func AR1(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
	out := make([]float64, n)
	x := 0.0
	for i := range out {
		x = 0.9*x + r.NormFloat64()
		out[i] = 50 + 5*x
	}
	return out
}

// White is Gaussian white noise of unit variance around 10: the mean beats naive by about 1/√2.
func White(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 10 + r.NormFloat64()
	}
	return out
}

// BurstyZero is mostly exactly 0 or small, with lognormal bursts of 1–12 steps around 1e6 whose rate follows the
// time of day.
func BurstyZero(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	burst, h := 0, 0.0
	for i := range out {
		p := 0.01 * (1.5 + daily(c.at(i)))
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

// LevelShifts is white noise around a level that jumps to a new random value in [0.1, 0.9] every ~500 steps.
func LevelShifts(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
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

// PeriodicJobs is a 20-minute job every 2 hours of wall time (from midnight UTC) on a noisy baseline, in [0, 1].
func PeriodicJobs(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	for i := range out {
		v := 0.1 + 0.02*r.NormFloat64()
		if math.Mod(c.at(i), 7200) < 1200 {
			v += 0.6 + 0.05*r.NormFloat64()
		}
		out[i] = math.Min(1, nonneg(v))
	}
	return out
}

// SmoothDaily is a smooth daily shape of two harmonics with slow AR(1) noise, in [0, 1].
func SmoothDaily(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	ar := 0.0
	for i := range out {
		t := c.at(i)
		ar = 0.95*ar + 0.01*r.NormFloat64()
		out[i] = math.Min(1, nonneg(0.45+0.3*daily(t)+0.1*daily(2*t+3000)+ar))
	}
	return out
}

// LeakRestart is a drifting random walk from 0.2 (a memory leak) that drops back to 0.2 at restarts: at 0.9 or at
// random, 1 in 2000 steps.
func LeakRestart(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
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

// StepConstant is quantised: exactly constant (from 4e9) for long stretches, with jumps of whole multiples of 1e8
// at 0.3 % of the steps.
func StepConstant(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
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

// PoissonCounts are Poisson counts whose rate (0.6–6.6) follows the time of day.
func PoissonCounts(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	for i := range out {
		lambda := 3 * (1.2 + daily(c.at(i)))
		k, p, l := 0.0, 1.0, math.Exp(-lambda)
		for p *= r.Float64(); p > l; p *= r.Float64() {
			k++
		}
		out[i] = k
	}
	return out
}

// CronDaily is a nightly batch job (01:00–01:40 UTC) and a business-hours plateau (09:00–17:00) on a noisy
// baseline, in [0, 1]: shapes three harmonics cannot draw.
func CronDaily(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	for i := range out {
		tod := math.Mod(c.at(i), 86400)
		v := 0.1 + 0.02*r.NormFloat64()
		if tod >= 3600 && tod < 6000 {
			v += 0.7
		}
		if tod >= 9*3600 && tod < 17*3600 {
			v += 0.25
		}
		out[i] = math.Min(1, nonneg(v))
	}
	return out
}

// TrendCycleARSpikesShifts is a level of 50 with a slow trend (0.001 per step), a daily cycle of ±8, AR(1) noise,
// positive spikes at 1 % of the steps and level shifts at 0.1 %: unbounded, unlike DailyARSpikesShifts.
func TrendCycleARSpikesShifts(r *rand.Rand, n int, start time.Time, step time.Duration) []float64 {
	c := newClock(start, step)
	out := make([]float64, n)
	ar, level := 0.0, 50.0
	for i := range out {
		ar = 0.7*ar + r.NormFloat64()
		if r.Float64() < 0.001 {
			level += 10 * r.NormFloat64()
		}
		v := level + 0.001*float64(i) + 8*daily(c.at(i)) + 2*ar
		if r.Float64() < 0.01 {
			v += 30 * r.Float64()
		}
		out[i] = v
	}
	return out
}

// BurstyHeavyTailed is heavy-tailed and bursty: mostly near zero (exponential, mean 0.01), with bursts of 1–5
// steps of lognormal height starting at 3 % of the steps.
func BurstyHeavyTailed(r *rand.Rand, n int, _ time.Time, _ time.Duration) []float64 {
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
