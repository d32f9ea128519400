package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func mustFill(t testing.TB, cfg FillConfig) *Fill {
	t.Helper()
	f, err := NewFill(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// feedFill pushes vs at one value per step from t0 and calls check after each push (check may be nil).
func feedFill(t testing.TB, f *Fill, from int, vs []float64, check func(i int)) {
	t.Helper()
	for i, v := range vs {
		if !f.Push(t0.Add(time.Duration(from+i)*f.cfg.Step), v) {
			t.Fatalf("push %d refused", from+i)
		}
		if check != nil {
			check(from + i)
		}
	}
}

func eta(t testing.TB, f *Fill, threshold float64) float64 {
	t.Helper()
	e, ok := f.SecondsUntil(threshold)
	if !ok {
		t.Fatal("no ETA")
	}
	return e
}

func TestFillConfigValidate(t *testing.T) {
	for _, step := range []time.Duration{time.Second, time.Minute, 5 * time.Minute, time.Hour, 24 * time.Hour} {
		if err := DefaultFillConfig(step).Validate(); err != nil {
			t.Errorf("DefaultFillConfig(%v): %v", step, err)
		}
	}
	base := DefaultFillConfig(time.Minute)
	for name, mod := range map[string]func(*FillConfig){
		"zero step":         func(c *FillConfig) { c.Step = 0 },
		"short recent":      func(c *FillConfig) { c.RecentWindow = 3 * time.Minute },
		"short window":      func(c *FillConfig) { c.Window = c.RecentWindow },
		"huge window":       func(c *FillConfig) { c.Window = time.Duration(MaxFillSteps+1) * time.Minute },
		"zero max shift":    func(c *FillConfig) { c.MaxShiftDuration = 0 },
		"long max shift":    func(c *FillConfig) { c.MaxShiftDuration = c.RecentWindow },
		"negative shift":    func(c *FillConfig) { c.MinShift = -1 },
		"NaN shift":         func(c *FillConfig) { c.MinShift = math.NaN() },
		"small cycle drop":  func(c *FillConfig) { c.MinCycleDrop = c.MinShift / 2 },
		"infinite min drop": func(c *FillConfig) { c.MinCycleDrop = math.Inf(1) },
	} {
		c := base
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidFillConfig) {
			t.Errorf("%s: %v, want ErrInvalidFillConfig", name, err)
		}
		if _, err := NewFill(c); !errors.Is(err, ErrInvalidFillConfig) {
			t.Errorf("%s: NewFill: %v", name, err)
		}
	}
}

// TestFillLinearGrowthClosedForm: on y = a + b·i the ETA is (threshold − y)/b steps at every step once ready,
// and the rate is b per step.
func TestFillLinearGrowthClosedForm(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	const a, b, thr = 0.2, 0.0002, 0.95
	vs := make([]float64, 1000)
	for i := range vs {
		vs[i] = a + b*float64(i)
	}
	feedFill(t, f, 0, vs, func(i int) {
		e, ok := f.SecondsUntil(thr)
		if i < 59 {
			if ok {
				t.Fatalf("step %d: an ETA before RecentWindow was seen", i)
			}
			return
		}
		want := (thr - vs[i]) / b * 60
		if !ok || math.Abs(e-want) > 1e-4*want {
			t.Fatalf("step %d at %.4f: ETA %v s, want %v", i, vs[i], e, want)
		}
		if r, _ := f.Rate(); math.Abs(r-b/60) > 1e-6*b/60 {
			t.Fatalf("step %d: rate %v per second, want %v", i, r, b/60)
		}
	})
	if e := eta(t, f, 0.3); e != 0 {
		t.Errorf("threshold below the level: ETA %v, want 0", e)
	}
}

func TestFillFlatNoisyIsInfinite(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(1, 2))
	vs := make([]float64, 3*1440)
	for i := range vs {
		vs[i] = 0.5 + 0.002*r.NormFloat64()
	}
	feedFill(t, f, 0, vs, func(i int) {
		if i >= 60 {
			if e := eta(t, f, 0.9); e < 7*86400 {
				t.Fatalf("step %d: flat series at 0.5 with noise 0.002: ETA to 0.9 %v h", i, e/3600)
			}
		}
	})
}

// TestFillStepIsNotATrend: a file of 10 % written within 3 minutes on a growing series changes the level, not the
// trend: from the step on the ETA is again (threshold − y)/b.
func TestFillStepIsNotATrend(t *testing.T) {
	for _, size := range []float64{0.1, -0.1} {
		f := mustFill(t, DefaultFillConfig(time.Minute))
		const b, thr = 0.0001, 0.95
		vs := make([]float64, 900)
		for i := range vs {
			vs[i] = 0.4 + b*float64(i)
			if i >= 600 {
				vs[i] += size * min(1, float64(i-599)/3)
			}
		}
		feedFill(t, f, 0, vs, func(i int) {
			if i < 360 {
				return
			}
			e, ok := f.SecondsUntil(thr)
			switch want := (thr - vs[i]) / b * 60; {
			case i >= 600 && i < 610 && size < 0:
				// a deletion in progress: no trend
			case !ok || math.Abs(e-want) > 0.01*want:
				t.Fatalf("step of %+v, step %d: ETA %.2f h, want %.2f h", size, i, e/3600, want/3600)
			}
		})
	}
}

// TestFillBurstIsIgnored: a temporary file of 25 % written in 20 minutes, kept 2 hours, deleted, on a flat series:
// no finite ETA at any time.
func TestFillBurstIsIgnored(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(3, 3))
	vs := make([]float64, 1440)
	for i := range vs {
		vs[i] = 0.5 + 0.0003*r.NormFloat64()
		switch j := i - 800; {
		case j >= 0 && j < 20:
			vs[i] += 0.25 * float64(j+1) / 20
		case j >= 20 && j < 140:
			vs[i] += 0.25
		}
	}
	feedFill(t, f, 0, vs, func(i int) {
		if i >= 60 {
			if e := eta(t, f, 0.95); !math.IsInf(e, 1) && e < 30*86400 {
				t.Fatalf("step %d (%.3f): ETA %.1f h during or after a burst", i, vs[i], e/3600)
			}
		}
	})
}

// TestFillFastFillAndStop: a fill at 0.3 % a step (abrupt against the noise) is a trend once it has lasted
// MaxShiftDuration: from then on the ETA is within 5 % of the truth; after it stops the ETA is beyond 24 h within
// RecentWindow.
func TestFillFastFillAndStop(t *testing.T) {
	cfg := DefaultFillConfig(time.Minute)
	f := mustFill(t, cfg)
	r := rand.New(rand.NewPCG(4, 4))
	const start, stop, rate, thr = 1000, 1150, 0.003, 0.95
	vs := make([]float64, 1500)
	for i := range vs {
		vs[i] = 0.2 + rate*float64(min(max(i-start, 0), stop-start)) + 0.0002*r.NormFloat64()
	}
	maxRun := int(cfg.MaxShiftDuration / cfg.Step)
	feedFill(t, f, 0, vs, func(i int) {
		if i <= 60 {
			return
		}
		e := eta(t, f, thr)
		switch {
		case i > 60 && i < start:
			if e < 30*86400 {
				t.Fatalf("step %d before the fill: ETA %.1f h", i, e/3600)
			}
		case i > start+maxRun+1 && i < stop:
			truth := (thr - vs[i]) / rate * 60
			if math.Abs(e-truth) > 0.05*truth {
				t.Fatalf("step %d, %d steps into the fill: ETA %.2f h, truth %.2f h", i, i-start, e/3600, truth/3600)
			}
		case i >= stop+60:
			if e < 86400 {
				t.Fatalf("step %d, %d steps after the fill stopped: ETA %.2f h", i, i-stop, e/3600)
			}
		}
	})
}

// TestFillGradualStop: a fill too slow for its increments to be abrupt against the noise (4.8 %/h, noise 0.002 a
// step) ends without a run; the recent window ends the ETA: beyond 24 h from 90 minutes after the stop, where the
// 6 h window alone would keep it below 24 h for about 3.7 h. Once with a day of flat history before the fill, once
// on a new node, where the fill starts with the series and the slopes' noise is measured during it.
func TestFillGradualStop(t *testing.T) {
	for _, start := range []int{1440, 10} {
		testFillGradualStop(t, start)
	}
}

func testFillGradualStop(t *testing.T, start int) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(11, 11))
	const rate = 0.0008
	stop := start + 360
	vs := make([]float64, 2400)
	for i := range vs {
		vs[i] = 0.3 + rate*float64(min(max(i-start, 0), stop-start)) + 0.002*r.NormFloat64()
	}
	below := 0
	feedFill(t, f, 0, vs, func(i int) {
		if i < max(start, 60) {
			return
		}
		switch e := eta(t, f, 0.95); {
		case i >= stop-60 && i < stop && e < 86400:
			below++
		case i >= stop+90 && e < 86400:
			t.Fatalf("fill from step %d: %d steps after it stopped: ETA %.1f h", start, i-stop, e/3600)
		}
	})
	if below < 50 {
		t.Errorf("fill from step %d: in its last hour the ETA was below 24 h at only %d of 60 steps", start, below)
	}
}

// sawtooth returns days of a daily sawtooth: from base it grows by amp over the first 20 h of each day, stays, and
// is cleaned up to base + rise·day at hour 22; noise is Gaussian.
func sawtooth(r *rand.Rand, days int, base, amp, rise, noise float64) []float64 {
	vs := make([]float64, days*1440)
	for i := range vs {
		d, m := i/1440, i%1440
		v := base + rise*float64(d)
		if m >= 22*60 {
			v += rise // cleaned up to the next day's base
		} else {
			v += amp * float64(min(m, 20*60)) / (20 * 60)
		}
		vs[i] = v + noise*r.NormFloat64()
	}
	return vs
}

// TestFillDailySawtooth: a sawtooth that peaks at 0.85 has no ETA to 0.9 once one cycle has been seen (two
// cleanups), although its daily growth (25 % in 20 h) would reach 0.9 in 4 h from its peaks.
func TestFillDailySawtooth(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(5, 5))
	vs := sawtooth(r, 8, 0.6, 0.25, 0, 0.0005)
	feedFill(t, f, 0, vs, func(i int) {
		if i > 2*1440 {
			if e := eta(t, f, 0.9); e < 7*86400 {
				t.Fatalf("day %.2f (%.3f): ETA %.1f h on a sawtooth peaking at 0.85", float64(i)/1440, vs[i], e/3600)
			}
		}
	})
}

// TestFillRisingSawtooth: when each cleanup leaves 2 % more, the peaks rise 2 % a day and the ETA is the time for
// them to reach the threshold, (threshold − P)/ν with P the coming peak.
func TestFillRisingSawtooth(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(6, 6))
	const rise = 0.02
	vs := sawtooth(r, 6, 0.4, 0.2, rise, 0.0003)
	feedFill(t, f, 0, vs, nil)
	// Day 5 at hour 23 (after the cleanup): the coming peak is at 0.4 + 6·0.02 + 0.2 = 0.72, 22 % below 0.94.
	peak := 0.4 + 6*rise + 0.2
	want := (0.94 - peak) / rise * 86400
	if e := eta(t, f, 0.94); math.Abs(e-want) > 0.1*want {
		t.Errorf("ETA %.1f h, want about %.1f h (peaks rising %.0f %% a day to 0.94)", e/3600, want/3600, 100*rise)
	}
}

// TestFillCleanupStops: a sawtooth whose cleanup stops is a fill: once the cycle has grown by more than 1.25 times
// the usual amplitude (plus MinShift), the ETA follows the growth again: (threshold − y)/rate.
func TestFillCleanupStops(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(7, 7))
	vs := sawtooth(r, 5, 0.4, 0.2, 0, 0.0003)
	// Day 3's cleanup does not come: from hour 20 the growth goes on at the same 1 % an hour.
	from := 3*1440 + 20*60
	for i := from; i < len(vs); i++ {
		vs[i] = 0.6 + 0.01*float64(i-from)/60 + 0.0003*r.NormFloat64()
	}
	feedFill(t, f, 0, vs, func(i int) {
		// The cycle usually grows by 0.2 from 0.4; it is overdue at 0.4 + 1.25·0.2 + 0.005 = 0.655, 5.5 h after
		// hour 20, and the ETA then is the growth's.
		if i < from+6*60 {
			if i > 2*1440 && i < from+5*60 && eta(t, f, 0.95) < 7*86400 {
				t.Fatalf("day %.2f: ETA %.1f h before the cycle is overdue", float64(i)/1440, eta(t, f, 0.95)/3600)
			}
			return
		}
		want := (0.95 - vs[i]) / 0.01 * 3600
		if e := eta(t, f, 0.95); math.Abs(e-want) > 0.1*want+600 {
			t.Fatalf("%.1f h after the missed cleanup, at %.3f: ETA %.1f h, want %.1f h", float64(i-from)/60, vs[i], e/3600, want/3600)
		}
	})
}

// TestFillRescaleIsEquivariant: rescaled by c and fed c·y, the estimator gives exactly the ETAs of one fed c·y from
// the start (c a power of two, so every operation is exact).
func TestFillRescaleIsEquivariant(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	vs := sawtooth(r, 4, 0.3, 0.15, 0.01, 0.0005)
	for i := 3 * 1440; i < len(vs); i++ {
		vs[i] += 0.0003 * float64(i-3*1440)
	}
	const c = 0.5
	a, b := mustFill(t, DefaultFillConfig(time.Minute)), mustFill(t, DefaultFillConfig(time.Minute))
	for i, v := range vs {
		tm := t0.Add(time.Duration(i) * time.Minute)
		if i == 2*1440+100 && !a.Rescale(c) {
			t.Fatal("Rescale refused 0.5")
		}
		if i < 2*1440+100 {
			a.Push(tm, v)
		} else {
			a.Push(tm, c*v)
		}
		b.Push(tm, c*v)
		if i >= 2*1440+100 {
			ea, _ := a.SecondsUntil(c * 0.9)
			eb, _ := b.SecondsUntil(c * 0.9)
			if ea != eb {
				t.Fatalf("step %d: rescaled ETA %v, fed scaled %v", i, ea, eb)
			}
		}
	}
	if a.Rescale(0) || a.Rescale(math.NaN()) || a.Rescale(math.Inf(1)) {
		t.Error("Rescale accepted an invalid factor")
	}
}

func TestFillPushContractAndGaps(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	if _, ok := f.SecondsUntil(1); ok {
		t.Error("ETA before any push")
	}
	const b = 0.0005
	vs := make([]float64, 200)
	for i := range vs {
		vs[i] = 0.1 + b*float64(i)
	}
	feedFill(t, f, 0, vs, nil)
	last := t0.Add(199 * time.Minute)
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if f.Push(last.Add(time.Minute), v) {
			t.Errorf("Push accepted %v", v)
		}
	}
	if f.Push(last, 0.5) || f.Push(last.Add(-time.Hour), 0.5) {
		t.Error("Push accepted a step that is not after the newest")
	}
	// A gap of 30 steps on the same line: the ETA goes on.
	if !f.Push(last.Add(31*time.Minute), 0.1+b*230) {
		t.Fatal("push after a gap refused")
	}
	if e, want := eta(t, f, 0.9), (0.9-0.1-b*230)/b*60; math.Abs(e-want) > 0.01*want {
		t.Errorf("after a gap: ETA %v, want %v", e, want)
	}
	// A gap of a whole Window restarts the trend: no ETA until RecentWindow has been seen again.
	if !f.Push(last.Add(7*time.Hour), 0.3) {
		t.Fatal("push after a long gap refused")
	}
	if _, ok := f.SecondsUntil(0.9); ok {
		t.Error("an ETA right after a gap of a whole window")
	}
}

func TestFillAllocs(t *testing.T) {
	f := mustFill(t, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(9, 9))
	vs := sawtooth(r, 3, 0.4, 0.2, 0.01, 0.001)
	feedFill(t, f, 0, vs[:2*1440], nil)
	i := 2 * 1440
	allocs := testing.AllocsPerRun(500, func() {
		f.Push(t0.Add(time.Duration(i)*time.Minute), vs[i])
		f.SecondsUntil(0.9)
		i++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Push and SecondsUntil, want 0", allocs)
	}
}

func BenchmarkFillPush(b *testing.B) {
	f := mustFill(b, DefaultFillConfig(time.Minute))
	r := rand.New(rand.NewPCG(10, 10))
	vs := sawtooth(r, 8, 0.4, 0.2, 0.01, 0.001)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		f.Push(t0.Add(time.Duration(i)*time.Minute), vs[i%len(vs)]+0.2*float64(i/len(vs)))
		f.SecondsUntil(0.9)
	}
}
