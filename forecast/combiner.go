package forecast

import (
	"math"
	"slices"
)

// Layout of one pending-forecast row: every model's forecast, then the published point, the interval scale σ at
// the origin and the combination before the naive guard.
const (
	rowPoint = numModels
	rowScale = numModels + 1
	rowRaw   = numModels + 2
	rowQLo   = numModels + 3 // q_lo and q_hi at the origin
	rowQHi   = numModels + 4
	rowPost  = numModels + 5 // 1 when the forecast was made shortly after an accepted level shift
	rowLen   = numModels + 6
)

const (
	// minScored is how many forecasts at a horizon must have been scored against the truth before that horizon's
	// forecasts (and its error ratio) are published; the interval quantiles are initialised from these errors.
	minScored = 32
	// minShifts level shifts must have been seen before the post-shift MAEs choose the weights (one event says
	// little about the next).
	minShifts = 5
	// topModels is how many of the best models (by recent MAE) are averaged, among those whose MAE is within
	// topWithin × the best one (a clearly worse model only adds its noise).
	topModels = 3
	topWithin = 1.25
	// memoryBase and memoryPerStep give memory(k), the effective number of scored forecasts the MAEs average.
	memoryBase    = 100
	memoryPerStep = 1
	// qtWarm: the tracker's rate is η·max(1, √(qtWarm/scored)), faster while few errors have been seen.
	qtWarm = 400
	// qInitScale widens the initial quantiles (estimated from only minScored errors).
	qInitScale = 1.5
	// qtRate is the step of the quantile tracker in units of the interval scale σ (see combiner).
	qtRate = 0.2
)

// combiner turns the model bank into one forecast k steps ahead and a prediction interval, using only the models'
// own out-of-sample errors at that horizon. Nothing in it depends on other horizons.
//
// Scoring: every step each model's forecast for t+k is kept in a ring of k rows (float32); when the value at t+k
// arrives it is scored and each model's MAE is updated as an exponentially weighted mean
// MAE_m ← MAE_m + λ(|e_m| − MAE_m) with λ = 1/min(scored, memory(k)), memory(k) = 100 + k scored forecasts (errors
// at long horizons overlap, so they need a longer memory to be as informative). Forecasts made within
// postWindow(k) = min(2k, 360) steps after the input filter accepted a level shift are also scored into a second
// set of MAEs, MAE^post_m: right after a shift the slow levels are wrong while the naive and "since shift" models
// are right, and the ordinary MAEs only learn that k steps later.
//
// Combination: the topModels = 3 models with the lowest MAE (MAE^post inside a post-shift window, once 16 post-shift
// forecasts have been scored over at least minShifts shifts; naive alone before that), without those more than
// topWithin = 1.25 times worse than the best, are averaged with weights ∝ MAE_m^−2.
//
// Naive guard: point = naive + θ·(combination − naive) with θ = clamp((1 − r)/0.05, 0, 1)·min(1, scored/memory(k)),
// r = MAE(combination)/MAE(naive) over guardMemory·memory(k) scored forecasts (the combination is scored on its
// own column, so the guard does not measure itself). Where nothing beats naive by 5 %, the forecast is naive; this
// bounds the loss against naive on random walks and regime-switching series, and early on.
//
// Interval: with σ = the published forecast's own decayed MAE at this horizon at the forecast origin (floored, see
// scale), the bounds are point + q_lo·σ and point + q_hi·σ. q_lo and q_hi start as 1.5 × the empirical α/2 and
// 1−α/2 quantiles (α = 1 − Coverage) of the first minScored signed errors divided by σ (32 errors make a poor
// estimate of a 2.5 % tail, and a too narrow start costs more than a too wide one), and then follow a quantile
// tracker (online conformal prediction, the P-step of "conformal PID control"): when the truth y of a forecast
// arrives, with z = (y − point)/σ_origin and the q_lo, q_hi published with that forecast (kept in its row),
//
//	q_hi ← max(0, q_hi + η·(1{z > q_hi,origin} − α/2)),   q_lo ← min(0, q_lo − η·(1{z < q_lo,origin} − α/2)),
//	η = qtRate·max(1, √(qtWarm/scored)) = 0.2·max(1, √(400/scored))
//
// (the clamps keep the point inside its interval).
//
// Summing the updates shows that the long-run fraction of misses above (below) equals α/2 up to
// Σ(Δq/η)/T, whatever the error distribution, so coverage tracks the target on heavy-tailed and shifting
// series; the larger rate while few errors are known corrects a poor start quickly. (Scoring against the current q
// instead looks ahead — q has meanwhile seen k more correlated errors — and under-covers badly on autocorrelated
// series.) There is deliberately no anti-wind-up cap: with errors correlated over k steps misses come in clusters,
// and q has to stay above the typical error for a while after each cluster to pay them back; capping q (tried: at a
// decaying maximum of |z|) broke the coverage on random walks. The price is that after a regime change intervals
// at long horizons stay wide for a while (q comes down by η·α/2 per step).
type combiner struct {
	k      int
	robust bool // excludes the models that follow a raw spike (naive, OLS, drift, seasonal naive): the anomaly reference
	alpha  float64

	mae       [numModels]float64
	maeS      [numModels]float64 // MAE of forecasts made shortly after a level shift (see postWindow)
	scoredS   int64
	shifts    int64 // level shifts seen (post-shift windows opened)
	scored    int64
	maeComb   float64
	maeLong   float64 // MAE of the published forecast with scaleMemory × the memory: floor of the interval scale
	maeNaive  float64
	maeRaw    float64 // guard statistics, with a longer memory (guardMemory)
	maeGNaive float64
	qLo, qHi  float64
	qInit     bool
	initErr   [minScored]float64
	rows      []float32
	pos       int
	w         [numModels]float64
	theta     float64 // naive guard of the current forecast
	cur       Prediction
	upWidth   float64 // unclamped upper − point of cur
	hasBounds bool
}

func newCombiner(k int, robust bool, alpha float64) combiner {
	c := combiner{k: k, robust: robust, alpha: alpha, rows: make([]float32, k*rowLen)}
	c.reset()
	return c
}

func (c *combiner) reset() {
	rows, k, robust, alpha := c.rows, c.k, c.robust, c.alpha
	*c = combiner{k: k, robust: robust, alpha: alpha, rows: rows}
	nan := float32(math.NaN())
	for i := range c.rows {
		c.rows[i] = nan
	}
	c.cur = Prediction{math.NaN(), math.NaN(), math.NaN()}
}

func (c *combiner) memory() float64 { return memoryBase + memoryPerStep*float64(c.k) }

func (c *combiner) allowed(m int) bool {
	return !c.robust || (m != mNaive && m != mOLSShort && m != mOLSLong && m != mDrift && m != mSeasNaive)
}

// score compares the forecasts made k steps ago with the newly arrived value v.
func (c *combiner) score(v float64) {
	row := c.rows[c.pos*rowLen : (c.pos+1)*rowLen]
	point := float64(row[rowPoint])
	if math.IsNaN(point) {
		return
	}
	c.scored++
	lambda := 1 / min(float64(c.scored), c.memory())
	for m := range numModels {
		c.mae[m] += lambda * (math.Abs(v-float64(row[m])) - c.mae[m])
	}
	if row[rowPost] == 1 {
		c.scoredS++
		ls := 1 / min(float64(c.scoredS), c.memory())
		for m := range numModels {
			c.maeS[m] += ls * (math.Abs(v-float64(row[m])) - c.maeS[m])
		}
	}
	e := v - point
	c.maeComb += lambda * (math.Abs(e) - c.maeComb)
	c.maeLong += (math.Abs(e) - c.maeLong) / min(float64(c.scored), scaleMemory*c.memory())
	c.maeNaive += lambda * (math.Abs(v-float64(row[mNaive])) - c.maeNaive)
	lg := 1 / min(float64(c.scored), guardMemory*c.memory())
	c.maeRaw += lg * (math.Abs(v-float64(row[rowRaw])) - c.maeRaw)
	c.maeGNaive += lg * (math.Abs(v-float64(row[mNaive])) - c.maeGNaive)
	if c.qInit {
		if sc, ql, qh := float64(row[rowScale]), float64(row[rowQLo]), float64(row[rowQHi]); sc > 0 && !math.IsNaN(ql) {
			z := e / sc
			eta := qtRate * max(1, math.Sqrt(qtWarm/float64(c.scored)))
			// The interval always contains the point: q_hi >= 0 >= q_lo. Without the clamp an exact forecast
			// (constant stretches) walks q_hi below 0, the interval stops containing its own point, and the
			// tracker needs hundreds of misses to come back once the series moves.
			c.qHi = max(0, c.qHi+eta*(b2f(z > qh)-c.alpha/2))
			c.qLo = min(0, c.qLo-eta*(b2f(z < ql)-c.alpha/2))
		}
		return
	}
	if c.scored > minScored { // unreachable for states built by this package; UnmarshalBinary rejects it too
		return
	}
	c.initErr[c.scored-1] = e
	if c.scored == minScored {
		sc := c.scale(point)
		buf := c.initErr
		slices.Sort(buf[:])
		c.qLo = min(0, qInitScale*empiricalQuantile(buf[:], c.alpha/2)/sc)
		c.qHi = max(0, qInitScale*empiricalQuantile(buf[:], 1-c.alpha/2)/sc)
		c.qInit = true
	}
}

// scale is σ of the interval: the decayed MAE of the combination, floored by the same MAE with a 10× longer memory
// (see scaleMemory) and by 10⁻⁹·|point| so a constant series gets a finite (tiny) width.
func (c *combiner) scale(point float64) float64 {
	return max(c.maeComb, c.maeLong, 1e-9*max(1, math.Abs(point)))
}

// predict combines the model forecasts preds (k steps ahead) into c.cur and records the row for later scoring.
func (c *combiner) predict(preds *[numModels]float64, lo, hi float64, sinceShift int64) {
	post := sinceShift < c.postWindow()
	if sinceShift == 0 {
		c.shifts++
	}
	c.weights(post)
	p := 0.0
	for m, w := range c.w {
		if w != 0 {
			p += w * preds[m]
		}
	}
	raw := p
	c.theta = 1
	if c.scored > 0 && !c.robust {
		c.theta = c.guard()
		p = preds[mNaive] + c.theta*(p-preds[mNaive])
	}
	p = clamp(p, lo, hi)
	sc := c.scale(p)
	c.upWidth = math.NaN()
	lower, upper := math.NaN(), math.NaN()
	c.hasBounds = c.qInit
	if c.qInit {
		ql, qh := c.qLo, c.qHi
		lower, upper = clamp(p+ql*sc, lo, hi), clamp(p+qh*sc, lo, hi)
		c.upWidth = qh * sc
	}
	c.cur = Prediction{Point: p, Lower: lower, Upper: upper}
	row := c.rows[c.pos*rowLen : (c.pos+1)*rowLen]
	for m := range numModels {
		row[m] = float32(preds[m])
	}
	row[rowPoint] = float32(p)
	row[rowScale] = float32(sc)
	if c.qInit {
		row[rowQLo], row[rowQHi] = float32(c.qLo), float32(c.qHi)
	} else {
		row[rowQLo], row[rowQHi] = float32(math.NaN()), float32(math.NaN())
	}
	row[rowRaw] = float32(raw)
	row[rowPost] = float32(b2f(post))
	c.pos++
	if c.pos == c.k {
		c.pos = 0
	}
}

// scaleMemory multiplies memory(k) for the slow MAE that floors the interval scale. Without the floor, a series
// that is constant for long stretches (quantised gauges) shrinks σ towards 0 between its jumps, the normalised
// error of the next jump is unbounded and the quantile tracker cannot keep the coverage.
const scaleMemory = 10

// guardMargin is how much better than naive (relative MAE) the combination must have been to be used in full.
const guardMargin = 0.05

// guardMemory multiplies memory(k) for the guard's MAEs: a stable comparison matters more than a fast one.
const guardMemory = 3

// guardRamp: θ is scaled by min(1, scored/(guardRamp·memory(k))), so while few forecasts have been scored the
// published point leans towards naive (a comparison over a handful of errors is noise).
const guardRamp = 1

// guard is θ in point = naive + θ·(combination − naive): with r = MAE(combination)/MAE(naive) over the recent
// scored forecasts, θ = clamp((1 − r)/guardMargin, 0, 1). The combination is scored on its own column, so the guard
// does not feed back into what it measures. It bounds the loss against naive on series where nothing beats it.
func (c *combiner) guard() float64 {
	if c.maeGNaive == 0 {
		if c.maeRaw == 0 {
			return 1
		}
		return 0
	}
	return clamp((1-c.maeRaw/c.maeGNaive)/guardMargin, 0, 1) * min(1, float64(c.scored)/(guardRamp*c.memory()))
}

// skip advances the ring without a forecast (the row will not be scored).
func (c *combiner) skip() {
	c.rows[c.pos*rowLen+rowPoint] = float32(math.NaN())
	c.pos++
	if c.pos == c.k {
		c.pos = 0
	}
}

// weights sets c.w: inverse squared MAE over the topModels best allowed models; before any score the naive model
// (the cleaned last value for the robust combiner) gets all the weight.
func (c *combiner) weights(post bool) {
	mae := &c.mae
	postLearnt := c.scoredS >= minScored/2 && c.shifts >= minShifts
	if post && postLearnt {
		mae = &c.maeS
	}
	c.w = [numModels]float64{}
	if c.scored == 0 || post && !postLearnt {
		if c.robust {
			c.w[mCleanLast] = 1
		} else {
			c.w[mNaive] = 1
		}
		return
	}
	var best [topModels]int
	nb := 0
	for m := range numModels {
		if !c.allowed(m) || math.IsNaN(mae[m]) {
			continue
		}
		// insertion into the sorted top list
		i := nb
		if nb < topModels {
			nb++
		} else if !(mae[m] < mae[best[topModels-1]]) {
			continue
		} else {
			i = topModels - 1
		}
		for i > 0 && mae[m] < mae[best[i-1]] {
			best[i] = best[i-1]
			i--
		}
		best[i] = m
	}
	if nb == 0 {
		c.w[mCleanLast] = 1
		return
	}
	if mae[best[0]] == 0 {
		c.w[best[0]] = 1
		return
	}
	sum := 0.0
	for nb > 1 && mae[best[nb-1]] > topWithin*mae[best[0]] {
		nb--
	}
	for _, m := range best[:nb] {
		w := 1 / (mae[m] * mae[m])
		c.w[m] = w
		sum += w
	}
	for _, m := range best[:nb] {
		c.w[m] /= sum
	}
}

// postWindow is how many steps after an accepted level shift count as "post-shift": min(2k, 360).
func (c *combiner) postWindow() int64 { return int64(min(2*c.k, 360)) }

// errorRatio is the decayed MAE of the combination over that of the naive forecast.
func (c *combiner) errorRatio() (float64, bool) {
	if c.scored < minScored {
		return 0, false
	}
	if c.maeNaive == 0 {
		if c.maeComb == 0 {
			return 1, true
		}
		return math.Inf(1), true
	}
	return c.maeComb / c.maeNaive, true
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

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
