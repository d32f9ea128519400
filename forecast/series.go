package forecast

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Prediction is a point forecast and the bounds of its prediction interval (Config.Coverage).
type Prediction struct{ Point, Lower, Upper float64 }

// Series is one forecast series. Not safe for concurrent use (the caller serialises).
//
// Memory with the default config is about 227 KiB (BenchmarkNewSeries): 45 KiB of float32 history (11520 steps),
// 160 KiB of pending forecasts ((1+5+60+360+1440) rows × 22 float32) and 2 KiB of anomaly errors, plus a 4 KiB
// scratch buffer. BenchmarkPush measures the per-step cost, BenchmarkAnomaly the anomaly score.
type Series struct {
	cfg     Config
	stepNs  int64
	hist    ring
	bank    bank
	combs   []combiner // one per cfg.Horizons entry
	order   []int      // indices into combs by increasing horizon
	maxK    int        // longest horizon in steps
	ref     combiner   // robust one-step combiner: anomaly reference and input cleaning
	anom    anomalyState
	has     bool
	lastIdx int64
	lastV   float64
	steps   int64 // steps (real and filled) since the last reset
	// sinceShift counts steps since the input filter last accepted a level shift (see combiner.postWindow).
	sinceShift int64

	preds   [numModels]float64
	scratch [anomalyWindow]float64
}

// NewSeries returns an empty series for cfg, which must be valid.
func NewSeries(cfg Config) (*Series, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new forecast series: %w", err)
	}
	cfg.Horizons = slices.Clone(cfg.Horizons)
	histSteps := int(cfg.History / cfg.Step)
	s := &Series{
		cfg:    cfg,
		stepNs: int64(cfg.Step),
		hist:   newRing(histSteps),
		bank:   newBank(int64(cfg.Step), histSteps),
		combs:  make([]combiner, len(cfg.Horizons)),
		order:  make([]int, len(cfg.Horizons)),
		ref:    newCombiner(1, true, 1-cfg.Coverage),

		sinceShift: math.MaxInt32,
	}
	for i, h := range cfg.Horizons {
		s.combs[i] = newCombiner(int(h/cfg.Step), false, 1-cfg.Coverage)
		s.order[i] = i
	}
	slices.SortFunc(s.order, func(a, b int) int { return s.combs[a].k - s.combs[b].k })
	s.maxK = s.combs[s.order[len(s.order)-1]].k
	return s, nil
}

// Config returns the series' configuration.
func (s *Series) Config() Config {
	c := s.cfg
	c.Horizons = slices.Clone(c.Horizons)
	return c
}

func (s *Series) reset() {
	s.hist.reset()
	s.bank.reset()
	for i := range s.combs {
		s.combs[i].reset()
	}
	s.ref.reset()
	s.anom.reset()
	s.has, s.lastIdx, s.lastV, s.steps, s.sinceShift = false, 0, 0, 0, math.MaxInt32
}

// Push appends the value of the step starting at t (floored to a multiple of Step since the Unix epoch). It
// returns false, changing nothing, when v is NaN or ±Inf or when t is not after the newest pushed step.
//
// Missing steps between the previous push and t are filled by linear interpolation between the two values; they
// advance the models but are never scored or counted as anomaly errors. A gap of History or more resets the series.
// Cost: O(1) per step (amortised; a gap costs O(gap) at about 0.2 µs per missing step), no allocations.
func (s *Series) Push(t time.Time, v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	idx := stepIndex(t, s.stepNs)
	if s.has {
		if idx <= s.lastIdx {
			return false
		}
		gap := idx - s.lastIdx - 1
		if gap >= int64(len(s.hist.buf)) {
			s.reset()
		} else {
			prevIdx, prevV := s.lastIdx, s.lastV
			for g := int64(1); g <= gap; g++ {
				s.advance(prevIdx+g, prevV+(v-prevV)*float64(g)/float64(gap+1), true, gap-g)
			}
		}
	}
	s.advance(idx, v, false, 0)
	return true
}

// advance moves the series one step. remaining is how many filled steps follow this one before the real value:
// a forecast whose target is still inside the gap would never be scored, so it is not computed (the row is only
// invalidated), which keeps a long gap at a fraction of a microsecond per step.
func (s *Series) advance(idx int64, v float64, filled bool, remaining int64) {
	errs := s.anom.scaleN
	clean, shift := s.anom.process(v, s.ref.cur.Point, s.has, filled)
	if s.anom.scaleN != errs { // a one-step error of the reference was recorded
		ae := math.Abs(s.anom.newest)
		s.ref.observe(ae, s.anom.scaleN)
		for i := range s.combs {
			s.combs[i].observe(ae, s.anom.scaleN)
		}
	}
	if !filled {
		s.ref.score(v)
		for i := range s.combs {
			s.combs[i].score(v)
		}
	}
	s.hist.push(v)
	s.bank.update(idx, v, clean, shift, &s.hist, remaining > int64(s.maxK))
	s.has, s.lastIdx, s.lastV = true, idx, v
	s.steps++
	s.sinceShift = min(s.sinceShift+1, math.MaxInt32)
	if shift {
		s.sinceShift = 0
	}
	s.predictInto(&s.ref, remaining)
	for i := range s.combs {
		s.predictInto(&s.combs[i], remaining)
	}
}

func (s *Series) predictInto(c *combiner, remaining int64) {
	if remaining >= int64(c.k) {
		c.skip()
		return
	}
	s.bank.predict(c.k, s.bank.seasonalAt(c.k), &s.hist, &s.preds)
	c.predict(&s.preds, s.cfg.Min, s.cfg.Max, s.sinceShift)
}

func (s *Series) ready(c *combiner) bool {
	return s.steps >= MinHistorySteps && c.scored >= minScored && c.hasBounds
}

// Forecast returns the forecast for cfg.Horizons[h] made after the newest push. It is false for an unknown h and
// while warming up: a horizon of k steps needs max(MinHistorySteps, k + minScored) steps since the start (or the
// last reset) so that minScored of its forecasts have been scored and its interval is calibrated.
func (s *Series) Forecast(h int) (Prediction, bool) {
	if h < 0 || h >= len(s.combs) || !s.ready(&s.combs[h]) {
		return Prediction{}, false
	}
	return s.combs[h].cur, true
}

// WarmupSteps returns how many more steps cfg.Horizons[h] needs, pushed one after the other, before Forecast serves
// it: 0 once it does, and -1 for an unknown h. A horizon of k steps is ready once the series has seen
// MinHistorySteps steps and minScored of its forecasts have been scored; the pending forecast at ring offset j
// from the next to be scored is scored by the (j+1)-th next push, and a forecast made by the m-th next push by
// push m + k.
func (s *Series) WarmupSteps(h int) int {
	if h < 0 || h >= len(s.combs) {
		return -1
	}
	c := &s.combs[h]
	if s.ready(c) {
		return 0
	}
	history := int(max(0, MinHistorySteps-s.steps))
	need := minScored - int(c.scored)
	if need <= 0 {
		return max(history, 1) // bounds are set by the next push
	}
	found := 0
	for j := range c.k {
		if !math.IsNaN(float64(c.rows[((c.pos+j)%c.k)*rowLen+rowPoint])) {
			if found++; found == need {
				return max(history, j+1)
			}
		}
	}
	return max(history, c.k+need-found)
}

// ErrorRatio returns the rolling MAE of the published forecasts at cfg.Horizons[h] divided by that of the naive
// forecast (the value at the origin), both exponentially weighted over about 100 + k scored forecasts; below 1 the
// forecast beats naive. It is exactly 1 while the naive guard has fallen back to the naive forecast, and at least 1
// while the guard only partly trusts the model combination (see combiner.errorRatio), so that "< 1" is a stable
// trust gate. It is withheld until minScored forecasts have been scored.
func (s *Series) ErrorRatio(h int) (float64, bool) {
	if h < 0 || h >= len(s.combs) {
		return 0, false
	}
	return s.combs[h].errorRatio()
}

// Anomaly returns the anomaly score of the newest pushed value (see anomalyState), whether it exceeds
// Config.AnomalyThreshold, and false until minAnomalyErrors one-step errors have been seen. The score is computed on
// the first call after a push (O(512), about 8 µs) and cached.
func (s *Series) Anomaly() (score float64, anomalous bool, ok bool) {
	score, ok = s.anom.score(s.scratch[:])
	if !ok {
		return 0, false, false
	}
	return score, score > s.cfg.AnomalyThreshold, true
}

// HistorySeconds is the span of history held, in seconds (steps held × Step).
func (s *Series) HistorySeconds() float64 {
	return float64(s.hist.n) * s.cfg.Step.Seconds()
}

// History appends to dst the values of the newest n steps held (fewer when the series holds fewer), oldest first;
// the last one is the step Last returns. Gap-filled steps are included as filled.
func (s *Series) History(dst []float64, n int) []float64 {
	n = min(n, s.hist.n)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, s.hist.back(i))
	}
	return dst
}

// Last returns the start of the newest pushed step and its value.
func (s *Series) Last() (t time.Time, v float64, ok bool) {
	if !s.has {
		return time.Time{}, 0, false
	}
	return indexTime(s.lastIdx, s.stepNs), s.lastV, true
}

// ModelWeights returns, for diagnostics, the weight of each candidate model in the current forecast at
// cfg.Horizons[h] (models without weight are omitted). It allocates; do not call it on the hot path.
func (s *Series) ModelWeights(h int) (map[string]float64, bool) {
	if h < 0 || h >= len(s.combs) || !s.has {
		return nil, false
	}
	out := make(map[string]float64)
	for m, w := range s.combs[h].w {
		if w != 0 {
			out[modelNames[m]] = w
		}
	}
	return out, true
}
