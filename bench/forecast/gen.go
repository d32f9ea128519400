package main

import (
	"math"
	"math/rand/v2"
)

// generator produces n values at the given step (seconds) starting at Unix time t0.
type generator struct {
	name string
	gen  func(r *rand.Rand, n int, stepSec, t0 float64) []float64
}

func daily(t float64) float64 { return math.Sin(2 * math.Pi * math.Mod(t, 86400) / 86400) }

func nonneg(v float64) float64 { return math.Max(v, 0) }

// generators are deliberately different in character: spiky, cyclic, random walk, heavy-tailed, regime switching,
// trending, mean reverting, white, bursty-near-zero, level shifts.
var generators = []generator{
	{"spiky", func(r *rand.Rand, n int, _, _ float64) []float64 {
		out := make([]float64, n)
		burst := 0
		h := 0.0
		for i := range out {
			v := 0.05 + 0.01*r.NormFloat64()
			if burst == 0 && r.Float64() < 0.02 {
				burst = 1 + r.IntN(3)
				h = math.Exp(r.NormFloat64()) * 0.2
			}
			if burst > 0 {
				v += h
				burst--
			}
			out[i] = nonneg(v)
		}
		return out
	}},
	{"daily_ar_spikes_shifts", func(r *rand.Rand, n int, step, t0 float64) []float64 {
		out := make([]float64, n)
		ar, level := 0.0, 0.4
		for i := range out {
			t := t0 + float64(i)*step
			ar = 0.8*ar + 0.03*r.NormFloat64()
			if r.Float64() < 0.0005 {
				level += 0.15 * r.NormFloat64()
			}
			v := level + 0.2*daily(t) + ar
			if r.Float64() < 0.01 {
				v += 0.3 * r.Float64()
			}
			out[i] = math.Min(1, nonneg(v))
		}
		return out
	}},
	{"random_walk", func(r *rand.Rand, n int, _, _ float64) []float64 {
		out := make([]float64, n)
		v := 100.0
		for i := range out {
			v += r.NormFloat64()
			out[i] = v
		}
		return out
	}},
	{"heavy_tailed", func(r *rand.Rand, n int, _, _ float64) []float64 {
		out := make([]float64, n)
		level := 10.0
		for i := range out {
			level += 0.02 * r.NormFloat64()
			// Student-t with 2 degrees of freedom
			t := r.NormFloat64() / math.Sqrt((sq(r.NormFloat64())+sq(r.NormFloat64()))/2)
			out[i] = nonneg(level + 1.5*t)
		}
		return out
	}},
	{"on_off", func(r *rand.Rand, n int, _, _ float64) []float64 {
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
	}},
	{"trend_cycle", func(r *rand.Rand, n int, step, t0 float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			t := t0 + float64(i)*step
			out[i] = 1e9 + 2e4*float64(i) + 3e7*daily(t) + 1e7*r.NormFloat64()
		}
		return out
	}},
	{"ar1", func(r *rand.Rand, n int, _, _ float64) []float64 {
		out := make([]float64, n)
		x := 0.0
		for i := range out {
			x = 0.9*x + r.NormFloat64()
			out[i] = 50 + 5*x
		}
		return out
	}},
	{"white", func(r *rand.Rand, n int, _, _ float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = 0.3 + 0.05*r.NormFloat64()
		}
		return out
	}},
	{"bursty_zero", func(r *rand.Rand, n int, step, t0 float64) []float64 {
		out := make([]float64, n)
		burst := 0
		h := 0.0
		for i := range out {
			t := t0 + float64(i)*step
			p := 0.01 * (1.5 + daily(t))
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
	}},
	{"level_shifts", func(r *rand.Rand, n int, _, _ float64) []float64 {
		out := make([]float64, n)
		level := 0.5
		for i := range out {
			if r.Float64() < 1.0/500 {
				level = 0.1 + 0.8*r.Float64()
			}
			out[i] = level + 0.03*r.NormFloat64()
		}
		return out
	}},
	{"periodic_jobs", func(r *rand.Rand, n int, step, t0 float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			t := t0 + float64(i)*step
			v := 0.1 + 0.02*r.NormFloat64()
			if math.Mod(t, 7200) < 1200 {
				v += 0.6 + 0.05*r.NormFloat64()
			}
			out[i] = math.Min(1, nonneg(v))
		}
		return out
	}},
	{"smooth_daily", func(r *rand.Rand, n int, step, t0 float64) []float64 {
		out := make([]float64, n)
		ar := 0.0
		for i := range out {
			t := t0 + float64(i)*step
			ar = 0.95*ar + 0.01*r.NormFloat64()
			out[i] = math.Min(1, nonneg(0.45+0.3*daily(t)+0.1*daily(2*t+3000)+ar))
		}
		return out
	}},
	{"leak_restart", func(r *rand.Rand, n int, _, _ float64) []float64 {
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
	}},
	{"step_constant", func(r *rand.Rand, n int, _, _ float64) []float64 {
		out := make([]float64, n)
		v := 4e9
		for i := range out {
			if r.Float64() < 0.003 {
				v += 1e8 * math.Round(4*r.NormFloat64())
			}
			out[i] = v
		}
		return out
	}},
	{"poisson_counts", func(r *rand.Rand, n int, step, t0 float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			t := t0 + float64(i)*step
			lambda := 3 * (1.2 + daily(t))
			k, p, l := 0.0, 1.0, math.Exp(-lambda)
			for p *= r.Float64(); p > l; p *= r.Float64() {
				k++
			}
			out[i] = k
		}
		return out
	}},
}

func sq(x float64) float64 { return x * x }

func init() {
	generators = append(generators, generator{"cron_daily", func(r *rand.Rand, n int, step, t0 float64) []float64 {
		// A nightly batch job (01:00–01:40 UTC) and a business-hours plateau, with noise: shapes three harmonics
		// cannot draw.
		out := make([]float64, n)
		for i := range out {
			tod := math.Mod(t0+float64(i)*step, 86400)
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
	}})
}
