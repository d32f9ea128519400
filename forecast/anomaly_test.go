package forecast

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
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
		f    seriesgen.Func
	}{{"white", seriesgen.White}, {"random_walk", seriesgen.RandomWalk}} {
		t.Run(gen.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 8))
			vs := gen.f(r, 1200, t0, time.Minute)
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

// anomalyFreeGenerators are generators whose bursts, jumps and tails are their normal behaviour: nothing is
// injected into them.
var anomalyFreeGenerators = []struct {
	name string
	f    seriesgen.Func
}{
	{"white", seriesgen.White}, {"random_walk", seriesgen.RandomWalk}, {"bursty_heavy_tailed", seriesgen.BurstyHeavyTailed}, {"spiky", seriesgen.Spiky},
	{"heavy_tailed", seriesgen.HeavyTailed}, {"on_off", seriesgen.OnOff}, {"periodic_jobs", seriesgen.PeriodicJobs},
	{"bursty_zero", seriesgen.BurstyZero}, {"step_constant", seriesgen.StepConstant},
}

// TestAnomalyFlagRatePerGenerator: on series without injected anomalies at most 1 % of the steps are anomalous,
// however bursty the series is, while spikes far beyond the series' own range injected into the same series are
// flagged at the step they happen.
func TestAnomalyFlagRatePerGenerator(t *testing.T) {
	step := 5 * time.Minute
	for _, g := range anomalyFreeGenerators {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			vs := g.f(rand.New(rand.NewPCG(31, 7)), 20*288, t0, step)
			s := mustSeries(t, cfgWith(step, time.Hour))
			flagged, n := 0, 0
			for i, v := range vs {
				s.Push(t0.Add(time.Duration(i)*step), v)
				if _, an, ok := s.Anomaly(); ok {
					n++
					if an {
						flagged++
					}
				}
			}
			rate := float64(flagged) / float64(n)
			t.Logf("%.2f %% of the steps anomalous", 100*rate)
			if rate > 0.01 {
				t.Errorf("%d of %d steps anomalous (%.2f %%), want <= 1 %%", flagged, n, 100*rate)
			}

			lo, hi := vs[0], vs[0]
			for _, v := range vs {
				lo, hi = min(lo, v), max(hi, v)
			}
			s = mustSeries(t, cfgWith(step, time.Hour))
			for i, v := range vs {
				spike := i > 200 && i%701 == 0
				if spike {
					v += 3*(hi-lo) + 1
				}
				s.Push(t0.Add(time.Duration(i)*step), v)
				if score, an, ok := s.Anomaly(); spike && (!ok || !an) {
					t.Errorf("spike at step %d not flagged (score %v)", i, score)
				}
			}
		})
	}
}
