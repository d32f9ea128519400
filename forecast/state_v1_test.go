package forecast

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// v1Series regenerates the series whose version 1 state (written by the release before the local interval scale)
// is in testdata/state_v1.bin: 700 steps of 5 m, a daily cycle plus AR(1) noise, horizons 5m and 1h, 2 days of
// history.
func v1Series() (Config, []float64) {
	cfg := DefaultConfig()
	cfg.Step = 5 * time.Minute
	cfg.History = 2 * 24 * time.Hour
	cfg.Horizons = []time.Duration{5 * time.Minute, time.Hour}
	r := rand.New(rand.NewPCG(11, 12))
	ar := 0.0
	vs := make([]float64, 900)
	for i := range vs {
		ar = 0.7*ar + r.NormFloat64()
		vs[i] = 50 + 8*math.Sin(2*math.Pi*float64(i)/288) + 2*ar
	}
	return cfg, vs
}

func TestUnmarshalVersion1(t *testing.T) {
	b, err := os.ReadFile("testdata/state_v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	cfg, vs := v1Series()
	s := mustSeries(t, cfg)
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatalf("version 1 state: %v", err)
	}
	if last, v, ok := s.Last(); !ok || !last.Equal(t0.Add(699*cfg.Step)) || v != vs[699] {
		t.Fatalf("Last() = %v %v %v, want step 699 = %v", last, v, ok, vs[699])
	}
	if _, _, ok := s.Anomaly(); !ok {
		t.Error("the anomaly errors of the version 1 state were not kept")
	}
	var width [2]float64
	for h := range cfg.Horizons {
		p, ok := s.Forecast(h)
		if !ok {
			t.Fatalf("horizon %d not ready after loading", h)
		}
		width[h] = p.Upper - p.Lower
	}
	// The quantiles are converted to the new scale: the interval published after the next step is about as wide as
	// the one saved (without the conversion, 30 % narrower at 1h).
	s.Push(t0.Add(700*cfg.Step), vs[700])
	for h := range cfg.Horizons {
		p, _ := s.Forecast(h)
		if w := p.Upper - p.Lower; !(w > 0.9*width[h] && w < 1.1*width[h]) {
			t.Errorf("horizon %d: width %v after one step, %v when saved", h, w, width[h])
		}
	}
	// And the series carries on: the intervals cover the rest of the series about as often as they should.
	covered, n := 0, 0
	pend := map[int]Prediction{}
	for i := 701; i < len(vs); i++ {
		if p, ok := pend[i-12]; ok {
			n++
			if vs[i] >= p.Lower && vs[i] <= p.Upper {
				covered++
			}
		}
		s.Push(t0.Add(time.Duration(i)*cfg.Step), vs[i])
		p, _ := s.Forecast(1)
		pend[i] = p
	}
	if c := float64(covered) / float64(n); c < 0.85 {
		t.Errorf("1h coverage after loading a version 1 state: %.3f over %d", c, n)
	}
}

// TestUnmarshalVersion2 loads testdata/state_v2.bin, the state of v1Series after 700 steps as the release before
// version 3 wrote it (with its own checksum), and checks that it is the same series: same newest step, forecasts
// ready at once, and the same bytes again once re-encoded and decoded in the current version.
func TestUnmarshalVersion2(t *testing.T) {
	b, err := os.ReadFile("testdata/state_v2.bin")
	if err != nil {
		t.Fatal(err)
	}
	cfg, vs := v1Series()
	s := mustSeries(t, cfg)
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatalf("version 2 state: %v", err)
	}
	if last, v, ok := s.Last(); !ok || !last.Equal(t0.Add(699*cfg.Step)) || v != vs[699] {
		t.Fatalf("Last() = %v %v %v, want step 699 = %v", last, v, ok, vs[699])
	}
	if h := s.HistorySeconds(); h != cfg.History.Seconds() {
		t.Errorf("history %v s, want the full %v s", h, cfg.History.Seconds())
	}
	v3, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(v3) != len(b)-4 {
		t.Errorf("version 3 holds %d bytes, version 2 %d: they differ by more than the checksum", len(v3), len(b))
	}
	again := mustSeries(t, cfg)
	if err := again.UnmarshalBinary(v3); err != nil {
		t.Fatal(err)
	}
	for h := range cfg.Horizons {
		p, ok := s.Forecast(h)
		q, ok2 := again.Forecast(h)
		if !ok || !ok2 || p != q {
			t.Errorf("horizon %d: %v %v from version 2, %v %v re-encoded", h, p, ok, q, ok2)
		}
	}
}
