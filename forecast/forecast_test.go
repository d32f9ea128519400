package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"zero step", func(c *Config) { c.Step = 0 }, "step"},
		{"negative step", func(c *Config) { c.Step = -time.Second }, "step"},
		{"short history", func(c *Config) { c.History = 23 * time.Hour }, "history"},
		{"too few steps", func(c *Config) {
			c.Step, c.History, c.Horizons = 30*time.Minute, 24*time.Hour, []time.Duration{time.Hour}
		}, "at least 60"},
		{"no horizons", func(c *Config) { c.Horizons = nil }, "no horizons"},
		{"horizon not multiple", func(c *Config) { c.Horizons = []time.Duration{90 * time.Second} }, "not a multiple"},
		{"negative horizon", func(c *Config) { c.Horizons = []time.Duration{-time.Minute} }, "positive"},
		{"horizon beyond history", func(c *Config) { c.Horizons = []time.Duration{9 * 24 * time.Hour} }, "longer than history"},
		{"duplicate horizon", func(c *Config) { c.Horizons = []time.Duration{time.Hour, time.Hour} }, "twice"},
		{"coverage 1", func(c *Config) { c.Coverage = 1 }, "coverage"},
		{"coverage NaN", func(c *Config) { c.Coverage = math.NaN() }, "coverage"},
		{"threshold 0", func(c *Config) { c.AnomalyThreshold = 0 }, "threshold"},
		{"min >= max", func(c *Config) { c.Min, c.Max = 1, 1 }, "min < max"},
		{"NaN min", func(c *Config) { c.Min = math.NaN() }, "min < max"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want error containing %q wrapping ErrInvalidConfig", err, tc.want)
			}
			if _, err := NewSeries(c); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewSeries() = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestConstantSeries(t *testing.T) {
	cfg := cfgWith(time.Minute, 5*time.Minute, time.Hour)
	s := mustSeries(t, cfg)
	for i := range 200 {
		s.Push(t0.Add(time.Duration(i)*time.Minute), 0.25)
	}
	for h := range cfg.Horizons {
		p, ok := s.Forecast(h)
		if !ok {
			t.Fatalf("horizon %d not ready after 200 steps", h)
		}
		if p.Point != 0.25 || math.Abs(p.Lower-0.25) > 1e-6 || math.Abs(p.Upper-0.25) > 1e-6 {
			t.Errorf("horizon %d: %+v, want 0.25 with a degenerate interval", h, p)
		}
		if r, ok := s.ErrorRatio(h); !ok || r != 1 {
			t.Errorf("ErrorRatio(%d) = %v, %v; want 1 (both errors zero)", h, r, ok)
		}
	}
	score, anomalous, ok := s.Anomaly()
	if !ok || score != 0 || anomalous {
		t.Errorf("Anomaly() = %v, %v, %v; want 0, false, true", score, anomalous, ok)
	}
	// A deviation on a flat series gets a finite, large score.
	s.Push(t0.Add(200*time.Minute), 0.3)
	score, anomalous, ok = s.Anomaly()
	if !ok || !anomalous || math.IsInf(score, 0) || math.IsNaN(score) {
		t.Errorf("after a step on a flat series Anomaly() = %v, %v, %v; want finite, true, true", score, anomalous, ok)
	}
}

func TestLinearTrendIsExtrapolated(t *testing.T) {
	cfg := cfgWith(time.Minute, time.Hour)
	s := mustSeries(t, cfg)
	n := 600
	for i := range n {
		s.Push(t0.Add(time.Duration(i)*time.Minute), 3+0.5*float64(i))
	}
	p, ok := s.Forecast(0)
	if !ok {
		t.Fatal("not ready")
	}
	want := 3 + 0.5*float64(n-1+60)
	if math.Abs(p.Point-want) > 1e-6*want {
		t.Errorf("point %v, want %v (exact trend)", p.Point, want)
	}
	if !(p.Lower <= want+1e-6 && p.Upper >= want-1e-6) {
		t.Errorf("interval [%v, %v] misses %v", p.Lower, p.Upper, want)
	}
}

func TestWarmUpIsCountedInSteps(t *testing.T) {
	cfg := cfgWith(time.Second, 10*time.Second, time.Minute)
	s := mustSeries(t, cfg)
	r := rand.New(rand.NewPCG(1, 2))
	first := [2]int{-1, -1}
	for i := range 300 {
		s.Push(t0.Add(time.Duration(i)*time.Second), r.NormFloat64())
		for h := range first {
			if _, ok := s.Forecast(h); ok && first[h] < 0 {
				first[h] = i + 1
			}
		}
	}
	// max(MinHistorySteps, k + minScored) steps
	want := [2]int{max(MinHistorySteps, 10+minScored), max(MinHistorySteps, 60+minScored)}
	if first != want {
		t.Errorf("first forecast after %v steps, want %v", first, want)
	}
	if want[1] > 120 {
		t.Errorf("a 1m horizon at 1s steps needs %d s, more than 2 minutes", want[1])
	}
}

func TestHorizonIndependence(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	vs := seriesgen.TrendCycleARSpikesShifts(r, 3000, t0, 5*time.Minute)
	one := mustSeries(t, cfgWith(5*time.Minute, time.Hour))
	four := mustSeries(t, cfgWith(5*time.Minute, 5*time.Minute, 6*time.Hour, time.Hour, 24*time.Hour))
	for i, v := range vs {
		if i%500 > 480 || i%777 > 700 { // gaps of 19 and 76 steps, shorter and longer than some horizons
			continue
		}
		tm := t0.Add(time.Duration(i) * 5 * time.Minute)
		one.Push(tm, v)
		four.Push(tm, v)
		p1, ok1 := one.Forecast(0)
		p4, ok4 := four.Forecast(2)
		if p1 != p4 || ok1 != ok4 {
			t.Fatalf("step %d: one horizon %v %v, four horizons %v %v", i, p1, ok1, p4, ok4)
		}
		r1, ok1 := one.ErrorRatio(0)
		r4, ok4 := four.ErrorRatio(2)
		if r1 != r4 || ok1 != ok4 {
			t.Fatalf("step %d: error ratio %v %v vs %v %v", i, r1, ok1, r4, ok4)
		}
		a1, b1, c1 := one.Anomaly()
		a4, b4, c4 := four.Anomaly()
		if a1 != a4 || b1 != b4 || c1 != c4 {
			t.Fatalf("step %d: anomaly differs", i)
		}
	}
}

func TestPushOrderingNaNAndAlignment(t *testing.T) {
	s := mustSeries(t, cfgWith(time.Minute, 5*time.Minute))
	if !s.Push(t0.Add(30*time.Second), 1) {
		t.Fatal("first push rejected")
	}
	if tm, v, ok := s.Last(); !ok || !tm.Equal(t0) || v != 1 {
		t.Fatalf("Last() = %v %v %v; want the step start %v", tm, v, ok, t0)
	}
	before, _ := s.MarshalBinary()
	for _, tc := range []struct {
		t time.Time
		v float64
	}{
		{t0, 2},                       // same step
		{t0.Add(59 * time.Second), 2}, // same step, unaligned
		{t0.Add(-time.Minute), 2},     // earlier
		{t0.Add(time.Minute), math.NaN()},
		{t0.Add(time.Minute), math.Inf(1)},
	} {
		if s.Push(tc.t, tc.v) {
			t.Errorf("Push(%v, %v) accepted", tc.t, tc.v)
		}
	}
	after, _ := s.MarshalBinary()
	if string(before) != string(after) {
		t.Error("rejected pushes changed the state")
	}
	if !s.Push(t0.Add(time.Minute), 2) {
		t.Error("next step rejected")
	}
}

func TestGapsAreFilledAndLongGapsReset(t *testing.T) {
	cfg := cfgWith(time.Minute, 5*time.Minute)
	cfg.History = 24 * time.Hour
	s := mustSeries(t, cfg)
	for i := range 100 {
		s.Push(t0.Add(time.Duration(i)*time.Minute), float64(i))
	}
	s.Push(t0.Add(110*time.Minute), 110) // 10 missing steps
	if got := s.HistorySeconds(); got != 111*60 {
		t.Errorf("history after a 10-step gap: %v s, want %v", got, 111*60)
	}
	if got := s.hist.back(5); got != 105 {
		t.Errorf("gap not interpolated: value 5 steps back is %v, want 105", got)
	}
	if _, ok := s.Forecast(0); !ok {
		t.Error("a short gap withdrew the forecast")
	}
	s.Push(t0.Add(110*time.Minute+25*time.Hour), 1) // gap longer than History
	if got := s.HistorySeconds(); got != 60 {
		t.Errorf("history after a gap longer than History: %v s, want one step", got)
	}
	if _, ok := s.Forecast(0); ok {
		t.Error("forecast still published after a reset")
	}
}

func TestPushDoesNotAllocate(t *testing.T) {
	s := mustSeries(t, DefaultConfig())
	r := rand.New(rand.NewPCG(3, 3))
	i := 0
	for ; i < 2000; i++ {
		s.Push(t0.Add(time.Duration(i)*time.Minute), r.Float64())
	}
	allocs := testing.AllocsPerRun(500, func() {
		s.Push(t0.Add(time.Duration(i)*time.Minute), r.Float64())
		s.Forecast(0)
		s.Anomaly()
		i++
	})
	if allocs != 0 {
		t.Errorf("Push+Forecast+Anomaly allocate %v times per step", allocs)
	}
}

func TestResampler(t *testing.T) {
	r := NewResampler(time.Minute)
	base := t0.Add(7 * time.Second)
	for i := range 60 { // 60 samples at 1 s, spanning two minutes: 53 in the first, 7 in the second
		st, mean, done := r.Add(base.Add(time.Duration(i)*time.Second), float64(i))
		if i < 53 && done {
			t.Fatalf("sample %d finished a step", i)
		}
		if i == 53 {
			if !done || !st.Equal(t0) || mean != 26 {
				t.Fatalf("finished %v %v %v; want %v, 26 (mean of 0..52), true", st, mean, done, t0)
			}
		}
	}
	if _, _, done := r.Add(t0, 1000); done { // late sample
		t.Error("late sample finished a step")
	}
	if _, _, done := r.Add(t0.Add(3*time.Minute), math.NaN()); done {
		t.Error("NaN sample finished a step")
	}
	st, mean, done := r.Add(t0.Add(5*time.Minute), 0)
	if !done || !st.Equal(t0.Add(time.Minute)) || mean != 56 {
		t.Errorf("second step %v %v %v; want %v, 56 (mean of 53..59), true", st, mean, done, t0.Add(time.Minute))
	}
	// Alignment is to the Unix epoch, not to the first sample.
	r = NewResampler(7 * time.Minute)
	st, _, _ = r.Add(time.Unix(7*60*3+5, 0), 1)
	st2, _, done := r.Add(time.Unix(7*60*5, 0), 1)
	if st != (time.Time{}) || !done || st2.Unix() != 7*60*3 {
		t.Errorf("7m step started at %v, want Unix %d", st2, 7*60*3)
	}
}
