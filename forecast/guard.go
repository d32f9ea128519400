package forecast

import "math"

// The naive guard: point = naive + θ·(combination − naive) with
//
//	θ = clamp((1 − r)/guardMargin, 0, 1)·min(1, scored/memory(k)),   r = min(r_raw, r_cur + guardCurrentMargin)
//
// r_raw = MAE(combination)/MAE(naive) over guardMemory(k) = 3·(100 + 3k) scored forecasts: the combination before
// the guard is scored on its own column, so the guard does not measure itself. Where nothing beats naive by
// guardMargin = 5 %, the forecast is naive; this bounds the loss against naive on random walks, regime-switching and
// quantised series, and early in a series' life. The memory grows by 3k per step of horizon because errors overlap
// over k steps and a stable comparison needs many independent horizons.
//
// r_cur = Σ_m w_m·MAE_m / MAE_naive is the same comparison for the models the weights have just chosen, over their
// own (shorter, memory(k)) MAEs. r_raw is slow to notice that the combination has changed: when a memory leak
// starts, the slow levels that were best on the flat series lag the ramp more than naive does, r_raw climbs above 1
// and stays there for 3·(100 + 3k) forecasts after the weights have moved to the trend models. r_cur sees the
// switch at once but is biased low (the best of many noisy MAEs), so it counts only when it beats naive by
// guardCurrentMargin = 0.3 more than r_raw has to. With a margin of 0.2 a random walk at a 1 m step passed the
// alerts' trust gate (ErrorRatio < 1 at 1 h) at 7.6 % of its steps, with 0.3 at 2.2 % (12 % before r_cur and the
// errorRatio rule below; TestErrorRatioTrustGate); in the leak scenario both trust the forecast 2.5–2.7 h into the
// leak (go run ./bench/forecast -scenario=leak).
const (
	// guardMargin is how much better than naive (relative MAE) the combination must have been to be used in full.
	guardMargin = 0.05
	// guardMemoryFactor and guardMemoryPerStep give guardMemory(k) = 3·(100 + 3k).
	guardMemoryFactor  = 3
	guardMemoryPerStep = 3
	// guardCurrentMargin is added to r_cur before it can override r_raw.
	guardCurrentMargin = 0.3
	// guardRamp: θ is scaled by min(1, scored/(guardRamp·memory(k))), so while few forecasts have been scored the
	// published point leans towards naive (a comparison over a handful of errors is noise).
	guardRamp = 1
)

func (c *combiner) guardMemory() float64 {
	return guardMemoryFactor * (memoryBase + guardMemoryPerStep*float64(c.k))
}

// guard is θ (see above); cur is r_cur of the weights just chosen.
func (c *combiner) guard(cur float64) float64 {
	if c.maeGNaive == 0 {
		if c.maeRaw == 0 {
			return 1
		}
		return 0
	}
	r := min(c.maeRaw/c.maeGNaive, cur+guardCurrentMargin)
	return clamp((1-r)/guardMargin, 0, 1) * min(1, float64(c.scored)/(guardRamp*c.memory()))
}

// currentRatio is r_cur: the weighted MAE of the models in c.w over that of naive, from the MAE table mae the
// weights were chosen with; +Inf when it cannot be computed.
func (c *combiner) currentRatio(mae *[numModels]float64) float64 {
	if !(mae[mNaive] > 0) {
		return math.Inf(1)
	}
	r := 0.0
	for m, w := range c.w {
		if w != 0 {
			r += w * mae[m]
		}
	}
	return r / mae[mNaive]
}

// errorRatio is the decayed MAE of the published forecast over that of the naive forecast, as it serves the trust
// gate of the alerts ("below 1: the forecast beats naive"): exactly 1 while the guard has fallen back to naive
// (θ = 0, the published forecast is the naive one), and at least 1 while the guard only partly trusts the
// combination (0 < θ < 1). A value below 1 therefore also means that the combination has beaten naive by the guard's
// margin over the guard's long memory, which keeps a random walk (where nothing beats naive and the measured ratio
// hovers around 1) from opening the gate now and then. 1 when both errors are 0, +Inf when only naive is exact.
func (c *combiner) errorRatio() (float64, bool) {
	if c.scored < minScored {
		return 0, false
	}
	if c.theta == 0 {
		return 1, true
	}
	r := 1.0
	switch {
	case c.maeNaive > 0:
		r = c.maeComb / c.maeNaive
	case c.maeComb > 0:
		r = math.Inf(1)
	}
	if c.theta < 1 {
		r = max(r, 1)
	}
	return r, true
}
