package forecast

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAnomalyGaussianFalsePositives(t *testing.T) {
	s := mustSeries(t, cfgWith(time.Minute, 5*time.Minute))
	r := rand.New(rand.NewPCG(4, 4))
	flagged, n := 0, 0
	for i := range 30000 {
		s.Push(t0.Add(time.Duration(i)*time.Minute), 5+r.NormFloat64())
		if _, an, ok := s.Anomaly(); ok {
			n++
			if an {
				flagged++
			}
		}
	}
	if rate := float64(flagged) / float64(n); rate >= 0.001 {
		t.Errorf("%d of %d clean Gaussian steps flagged (%.4f), want < 0.1 %%", flagged, n, rate)
	}
}

func TestAnomalySpikeAndLevelShift(t *testing.T) {
	for _, gen := range []struct {
		name string
		f    func(*rand.Rand, int, time.Duration) []float64
	}{{"white", genWhite}, {"random_walk", genRandomWalk}} {
		t.Run(gen.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 8))
			vs := gen.f(r, 1200, time.Minute)
			vs[500] += 30 // a single spike
			for i := 900; i < len(vs); i++ {
				vs[i] += 30 // a level shift
			}
			s := mustSeries(t, cfgWith(time.Minute, 5*time.Minute))
			var flagged []int
			for i, v := range vs {
				s.Push(t0.Add(time.Duration(i)*time.Minute), v)
				score, an, ok := s.Anomaly()
				if ok && an {
					flagged = append(flagged, i)
				}
				if i == 500 && (!an || score < 10) {
					t.Errorf("spike: score %v anomalous %v", score, an)
				}
				if i == 900 && !an {
					t.Errorf("level shift not flagged (score %v)", score)
				}
			}
			for _, i := range flagged {
				if i > 500 && i <= 560 {
					t.Errorf("step %d, %d after the spike, flagged", i, i-500)
				}
				if i >= 930 {
					t.Errorf("step %d, %d after the level shift, still flagged", i, i-900)
				}
			}
		})
	}
}
