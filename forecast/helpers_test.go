package forecast

import (
	"math"
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
