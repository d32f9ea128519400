package forecast

import (
	"math"
	"slices"
)

// Prediction intervals: normalised online conformal prediction.
//
// With σ_t the interval scale at the forecast origin t (see scale) and q_lo ≤ 0 ≤ q_hi the current quantiles of
// the normalised errors at this horizon, the bounds are
//
//	lower = point + q_lo·σ_t,   upper = point + q_hi·σ_t.
//
// q_lo and q_hi start as qInitScale = 1.5 × the empirical α/2 and 1−α/2 quantiles (α = 1 − Coverage) of the first
// minScored signed errors divided by σ (32 errors make a poor estimate of a 2.5 % tail, and a too narrow start costs
// more than a too wide one), and then follow a quantile tracker (online conformal prediction, the P-step of
// "conformal PID control"): when the truth y of a forecast arrives, with z = (y − point)/σ_origin and the q_lo,
// q_hi published with that forecast (kept in its row),
//
//	q_hi ← max(0, q_hi + η·(1{z > q_hi,origin} − α/2)),   q_lo ← min(0, q_lo − η·(1{z < q_lo,origin} − α/2)),
//	η = qtRate·max(1, √(qtWarm/scored))·min(1, √(qtOverlap/k)) = 0.2·max(1, √(3000/scored))·min(1, √(60/k))
//
// (the clamps keep the point inside its interval). Summing the updates shows that the long-run fraction of misses
// above (below) equals α/2 up to Σ(Δq/η)/T, whatever the error distribution and whatever σ is, so coverage tracks
// the target on heavy-tailed and shifting series; the larger rate while few errors are known corrects a poor start.
// The rate is divided by √(k/60) beyond 60 steps because forecasts whose horizons overlap have correlated errors:
// one surprise makes up to k consecutive misses, which would wind q up for days.
//
// The scale is local: σ_t = max(1.2533·m_t, 0.5·MAE_long, 10⁻⁹·max(1, |point|)), where m_t is the mean absolute
// one-step error of the anomaly reference over the last memory(k) = 100 + k steps (1.2533·m_t is about the standard
// deviation of one-step errors) and MAE_long is the published forecast's MAE at this horizon over
// scaleMemory·memory(k) scored forecasts. The one-step error level is known at once, without the k-step lag of the
// horizon's own errors, and a disturbance that is predictable one step ahead does not raise it: after a memory leak
// (a smooth ramp) is fixed, m_t is at the calm noise level again and the interval shrinks within hours. Bursts do
// raise it, so bursty series keep wide intervals for memory(k) steps after a burst. The floor of 0.5·MAE_long keeps
// the normalised errors of series whose k-step errors are large compared with their one-step errors (bursts after
// quiet stretches) in a range the tracker can follow, and σ above 0 on series that are constant between rare
// jumps. docs/forecasting.md ("Prediction intervals") gives the measurements behind the factors and the variants
// that were tried and rejected.
const (
	// qtWarm: the tracker's rate is η·max(1, √(qtWarm/scored)), faster while few errors have been seen.
	qtWarm = 3000
	// qInitScale widens the initial quantiles (estimated from only minScored errors).
	qInitScale = 1.5
	// qtRate is the step of the quantile tracker in units of the interval scale σ.
	qtRate = 0.2
	// qtOverlap: beyond this horizon (in steps) the rate is divided by √(k/qtOverlap).
	qtOverlap = 60
	// scaleLongFloor × MAE_long floors the local interval scale.
	scaleLongFloor = 0.5
	// scaleMemory multiplies memory(k) for MAE_long.
	scaleMemory = 10
)

// scale is σ of the interval for a forecast at point, given the series' local scale s_t (see the comment above).
func (c *combiner) scale(point float64) float64 {
	return max(1.2533*c.oneStep, scaleLongFloor*c.maeLong, 1e-9*max(1, math.Abs(point)))
}

// observe feeds the absolute one-step error ae of the anomaly reference, the n-th one, into the local scale.
func (c *combiner) observe(ae float64, n int64) {
	c.oneStep += (ae - c.oneStep) / min(float64(n), c.memory())
}

// rate is η of the tracker.
func (c *combiner) rate() float64 {
	return qtRate * max(1, math.Sqrt(qtWarm/float64(c.scored))) * min(1, math.Sqrt(qtOverlap/float64(c.k)))
}

// track updates the quantiles with the error e of a forecast published with scale sc and quantiles ql, qh.
func (c *combiner) track(e, sc, ql, qh float64) {
	if !(sc > 0) || math.IsNaN(ql) || math.IsNaN(qh) {
		return
	}
	z := e / sc
	eta := c.rate()
	// The interval always contains the point: q_hi >= 0 >= q_lo. Without the clamp an exact forecast (constant
	// stretches) walks q_hi below 0, the interval stops containing its own point, and the tracker needs hundreds
	// of misses to come back once the series moves.
	c.qHi = max(0, c.qHi+eta*(b2f(z > qh)-c.alpha/2))
	c.qLo = min(0, c.qLo-eta*(b2f(z < ql)-c.alpha/2))
}

// initQuantiles sets q_lo and q_hi from the first minScored errors, normalised by the scale sc now.
func (c *combiner) initQuantiles(sc float64) {
	buf := c.initErr
	slices.Sort(buf[:])
	c.qLo = min(0, qInitScale*empiricalQuantile(buf[:], c.alpha/2)/sc)
	c.qHi = max(0, qInitScale*empiricalQuantile(buf[:], 1-c.alpha/2)/sc)
	c.qInit = true
}

// empiricalQuantile is the type-7 (linear interpolation) quantile of the sorted x.
func empiricalQuantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := q * float64(n-1)
	i := int(math.Floor(h))
	if i >= n-1 {
		return sorted[n-1]
	}
	if i < 0 {
		return sorted[0]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}
