package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"

	"gonum.org/v1/gonum/stat"
)

// TestOLSMatchesGonum checks the incremental sliding-window line (including its periodic exact recomputation)
// against gonum's stat.LinearRegression on the same window at every step.
func TestOLSMatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 1))
	h := newRing(1000)
	o := olsWindow{w: 30}
	var vals []float64
	v := 1e3
	for i := range 500 {
		v += r.NormFloat64() * 10
		vals = append(vals, float64(float32(v))) // the ring stores float32
		h.push(v)
		o.add(&h)
		n := min(len(vals), o.w)
		if n < 2 {
			continue
		}
		xs := make([]float64, n)
		for j := range xs {
			xs[j] = float64(j - (n - 1))
		}
		alpha, beta := stat.LinearRegression(xs, vals[len(vals)-n:], nil, false)
		a, b := o.line()
		if math.Abs(a-alpha) > 1e-8*math.Abs(alpha) || math.Abs(b-beta) > 1e-8*(1+math.Abs(beta)) {
			t.Fatalf("step %d: line a=%v b=%v, gonum alpha=%v beta=%v", i, a, b, alpha, beta)
		}
	}
}

// TestPredictLinearParity checks that the OLS models give PromQL's predict_linear(v[w·step], h) for the same
// samples: PromQL fits v = a + b·(t − t_eval) over the range and returns a + b·h.
func TestPredictLinearParity(t *testing.T) {
	for _, step := range []time.Duration{time.Second, time.Minute, 5 * time.Minute} {
		r := rand.New(rand.NewPCG(5, uint64(step)))
		s := mustSeries(t, cfgWith(step, step))
		var vals []float64
		for i := range 800 {
			v := 0.3 + 0.001*float64(i) + 0.05*r.NormFloat64()
			s.Push(t0.Add(time.Duration(i)*step), v)
			vals = append(vals, float64(float32(v)))
			for m, w := range olsWindows[:2] {
				if len(vals) < w {
					continue
				}
				// PromQL range (t_eval − w·step, t_eval]: the newest w samples, t_eval = the newest one.
				ts := make([]float64, w)
				for j := range ts {
					ts[j] = float64(j-(w-1)) * step.Seconds()
				}
				for _, hs := range []int{1, 12, 60} {
					want, ok := PredictLinear(ts, vals[len(vals)-w:], 0, float64(hs)*step.Seconds())
					if !ok {
						t.Fatal("PredictLinear not ok")
					}
					s.bank.predict(hs, 0, &s.hist, &s.preds)
					if got := s.preds[mOLSShort+m]; math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
						t.Fatalf("step %v, i=%d, window %d, h=%d: model %v, predict_linear %v", step, i, w, hs, got, want)
					}
				}
			}
		}
	}
}

func TestPredictLinearDefinition(t *testing.T) {
	// Two points: the line through them.
	got, ok := PredictLinear([]float64{-60, 0}, []float64{1, 2}, 0, 120)
	if !ok || math.Abs(got-4) > 1e-12 {
		t.Errorf("two points: %v %v, want 4", got, ok)
	}
	// Evaluation time other than the newest sample: the intercept is at evalT.
	got, _ = PredictLinear([]float64{100, 160}, []float64{1, 2}, 220, 0)
	if math.Abs(got-3) > 1e-12 {
		t.Errorf("evalT after the samples: %v, want 3", got)
	}
	if got, _ := PredictLinear([]float64{0, 1, 2}, []float64{5, 5, 5}, 2, 1e6); got != 5 {
		t.Errorf("constant: %v, want 5", got)
	}
	if _, ok := PredictLinear([]float64{0}, []float64{1}, 0, 1); ok {
		t.Error("one sample accepted")
	}
}

// TestHarmonicRecoversSinusoid fits a pure daily cycle with two harmonics and checks the coefficients and the
// forecast of the harmonic models half a day ahead.
func TestHarmonicRecoversSinusoid(t *testing.T) {
	step := 5 * time.Minute
	stepNs := int64(step)
	h := newHarmonic(stepNs, int(DefaultHistory/step))
	f := func(idx int64) float64 {
		ph := 2 * math.Pi * float64(idx*stepNs%(86400e9)) / 86400e9
		return 7 + 3*math.Cos(ph) - 2*math.Sin(ph) + 0.5*math.Sin(3*ph)
	}
	start := t0.UnixNano()/stepNs + 17 // not at midnight
	n := int64(3 * 288)
	for i := range n {
		h.update(start+i, f(start+i))
	}
	h.refit()
	want := []float64{7, 3, -2, 0, 0, 0, 0.5}
	for i, w := range want {
		if math.Abs(h.coef[i]-w) > 1e-4 {
			t.Errorf("coefficient %d = %v, want %v", i, h.coef[i], w)
		}
	}
	for _, j := range []int64{1, 100, 288} {
		idx := start + n - 1 + j
		if got := 7 + h.seasonal(idx); math.Abs(got-f(idx)) > 1e-3 {
			t.Errorf("seasonal %d steps ahead: %v, want %v", j, got, f(idx))
		}
	}

	// Through the whole series: the combination learns to use the harmonic models for a 6h horizon.
	s := mustSeries(t, cfgWith(step, 6*time.Hour))
	for i := range 4 * 288 {
		s.Push(t0.Add(time.Duration(i)*step), f(t0.UnixNano()/stepNs+int64(i)))
	}
	p, ok := s.Forecast(0)
	target := t0.UnixNano()/stepNs + 4*288 - 1 + 72
	if !ok || math.Abs(p.Point-f(target)) > 0.05 {
		t.Errorf("6h forecast of a pure cycle: %+v %v, want %v", p, ok, f(target))
	}
}

func TestQuickselectMedian(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 9))
	for n := 1; n < 70; n++ {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Round(r.NormFloat64() * 3) // ties
		}
		sorted := slices.Clone(x)
		slices.Sort(sorted)
		for k := range n {
			y := slices.Clone(x)
			if got := quickselect(y, k); got != sorted[k] {
				t.Fatalf("n=%d k=%d: %v, want %v", n, k, got, sorted[k])
			}
		}
	}
}

// TestQuickselectPartitions checks what the anomaly score relies on: after quickselect(x, k), x[:k] <= x[k] <=
// x[k+1:], also with many ties (mostly-zero errors of quantised series).
func TestQuickselectPartitions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 3))
	for range 5000 {
		x := make([]float64, 1+r.IntN(600))
		for i := range x {
			switch r.IntN(3) {
			case 0:
			case 1:
				x[i] = float64(r.IntN(4))
			default:
				x[i] = r.NormFloat64()
			}
		}
		k := r.IntN(len(x))
		v := quickselect(x, k)
		if slices.ContainsFunc(x[:k], func(y float64) bool { return y > v }) ||
			slices.ContainsFunc(x[k+1:], func(y float64) bool { return y < v }) {
			t.Fatalf("n=%d k=%d: not partitioned around %v", len(x), k, v)
		}
	}
}

func TestEmpiricalQuantile(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	for _, tc := range []struct{ q, want float64 }{{0, 1}, {1, 5}, {0.5, 3}, {0.125, 1.5}} {
		if got := empiricalQuantile(x, tc.q); got != tc.want {
			t.Errorf("q=%v: %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestPredictWeightedMatchesPredict(t *testing.T) {
	s := mustSeries(t, cfgWith(5*time.Minute, time.Hour))
	r := rand.New(rand.NewPCG(9, 9))
	for i, v := range seriesgen.TrendCycleARSpikesShifts(r, 2000, t0, 5*time.Minute) {
		s.Push(t0.Add(time.Duration(i)*5*time.Minute), v)
	}
	var it seasonIter
	it.start(&s.bank.harm, s.bank.idx+1)
	if !it.active {
		t.Fatal("harmonic not active after 2000 steps")
	}
	for j := 1; j <= 300; j++ {
		if got, want := it.value(), s.bank.seasonalAt(j); math.Abs(got-want) > 1e-9 {
			t.Fatalf("seasonal iterator at %d: %v, want %v", j, got, want)
		}
		it.next()
	}
	for _, j := range []int{1, 7, 300} {
		var all [numModels]float64
		s.bank.predict(j, s.bank.seasonalAt(j), &s.hist, &all)
		for m := range numModels {
			var w [numModels]float64
			w[m] = 1
			if got := s.bank.predictWeighted(j, &w, s.bank.seasonalAt(j), math.Pow(holtPhi, float64(j)), &s.hist); math.Abs(got-all[m]) > 1e-12*(1+math.Abs(all[m])) {
				t.Errorf("j=%d model %s: weighted %v, predict %v", j, modelNames[m], got, all[m])
			}
		}
	}
}
