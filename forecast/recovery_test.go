package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// leakSeries is memory usage at a 1 m step: flat at 0.40 (plus Gaussian noise of sd noise) for two days, a leak
// rising 6 %/h (0.001 per step) for 4.5 h up to 0.67, then fixed: flat at 0.40 again for after steps. It returns the
// series and the steps at which the leak starts and ends.
func leakSeries(noise float64, seed uint64, after int) (vs []float64, start, end int) {
	r := rand.New(rand.NewPCG(seed, 77))
	start, end = 2*1440, 2*1440+270
	vs = make([]float64, end+after)
	for i := range vs {
		v := 0.40
		if i >= start && i < end {
			v += 0.001 * float64(i-start+1)
		}
		vs[i] = v + noise*r.NormFloat64()
	}
	return vs, start, end
}

// TestLeakRecovery is the end-to-end scenario of a memory leak that is fixed, with the exporter's configuration of a
// ratio (default config, bounds 0..1) and the shipped alerts' threshold 0.95:
//   - during the leak, the 1h forecast beats naive (ErrorRatio < 1, the alerts' trust gate) from 3 h in, and the
//     ETA at 0.64 is of the order of the true 5.2 h, not minutes;
//   - after the fix, with memory flat again, the ETA is beyond 2 h within 1 h and beyond 24 h within 6 h, and the
//     24 h upper bound is below the threshold within 6 h.
func TestLeakRecovery(t *testing.T) {
	const threshold = 0.95
	for _, noise := range []float64{0.002, 0.005} {
		t.Run(fmt.Sprint(noise), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Min, cfg.Max = 0, 1
			s := mustSeries(t, cfg)
			vs, start, end := leakSeries(noise, 1, 8*60)
			const h1, h24 = 1, 3 // indices of 1h and 24h in the default horizons
			for i, v := range vs {
				s.Push(t0.Add(time.Duration(i)*time.Minute), v)
				since := time.Duration(i-start) * time.Minute
				switch {
				case i >= start+180 && i < end:
					if r, ok := s.ErrorRatio(h1); !ok || !(r < 1) {
						t.Fatalf("leak +%v: ErrorRatio(1h) = %v, %v; want < 1", since, r, ok)
					}
					if i == start+240 {
						eta, _ := s.SecondsUntil(threshold)
						if !(eta >= 1.5*3600 && eta <= 6*3600) {
							t.Errorf("leak +%v at %.3f rising 0.06/h: ETA to %v %.2f h, want 1.5–6 h (true 5.2 h)",
								since, v, threshold, eta/3600)
						}
					}
				case i >= end:
					fixed := time.Duration(i-end) * time.Minute
					eta, _ := s.SecondsUntil(threshold)
					if fixed >= time.Hour && eta < 2*3600 {
						t.Fatalf("%v after the fix: ETA %.2f h < 2 h", fixed, eta/3600)
					}
					if fixed >= 6*time.Hour {
						if eta < 24*3600 {
							t.Fatalf("%v after the fix: ETA %.2f h < 24 h", fixed, eta/3600)
						}
						if p, _ := s.Forecast(h24); !(p.Upper < threshold) {
							t.Fatalf("%v after the fix: 24h upper bound %v", fixed, p.Upper)
						}
					}
				}
			}
		})
	}
}

// TestLeakQuietBefore checks that the ETA machinery is quiet on the flat stretch before the leak: no finite
// ETA, and a trusted forecast (ErrorRatio(1h) < 1: the robust levels beat naive on noise).
func TestLeakQuietBefore(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Min, cfg.Max = 0, 1
	s := mustSeries(t, cfg)
	vs, start, _ := leakSeries(0.005, 2, 0)
	for i, v := range vs[:start] {
		s.Push(t0.Add(time.Duration(i)*time.Minute), v)
		if i < 1440 || i%60 != 0 {
			continue
		}
		if eta, _ := s.SecondsUntil(0.95); !math.IsInf(eta, 1) {
			t.Fatalf("flat at 0.40, step %d: ETA %v s", i, eta)
		}
		if r, ok := s.ErrorRatio(1); !ok || !(r < 1) {
			t.Fatalf("flat noisy series, step %d: ErrorRatio(1h) = %v, %v", i, r, ok)
		}
	}
}
