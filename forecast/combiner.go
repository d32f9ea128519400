package forecast

import (
	"math"
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
// Naive guard (guard.go): point = naive + θ·(combination − naive), θ ∈ [0, 1], so that where nothing beats naive
// the forecast is naive.
//
// Interval (interval.go): point + q_lo·σ and point + q_hi·σ with σ a local scale and q_lo, q_hi following an
// online quantile tracker of the normalised errors.
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
	maeLong   float64 // MAE of the published forecast with scaleMemory × the memory: a floor of the interval scale
	maeNaive  float64
	oneStep   float64 // mean |one-step error| of the anomaly reference over memory(k) steps: the interval's local scale
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
	lg := 1 / min(float64(c.scored), c.guardMemory())
	c.maeRaw += lg * (math.Abs(v-float64(row[rowRaw])) - c.maeRaw)
	c.maeGNaive += lg * (math.Abs(v-float64(row[mNaive])) - c.maeGNaive)
	if c.qInit {
		c.track(e, float64(row[rowScale]), float64(row[rowQLo]), float64(row[rowQHi]))
		return
	}
	if c.scored > minScored { // unreachable for states built by this package; UnmarshalBinary rejects it too
		return
	}
	c.initErr[c.scored-1] = e
	if c.scored == minScored {
		c.initQuantiles(c.scale(point))
	}
}

// predict combines the model forecasts preds (k steps ahead) into c.cur and records the row for later scoring.
func (c *combiner) predict(preds *[numModels]float64, lo, hi float64, sinceShift int64) {
	post := sinceShift < c.postWindow()
	if sinceShift == 0 {
		c.shifts++
	}
	mae := c.weights(post)
	p := 0.0
	for m, w := range c.w {
		if w != 0 {
			p += w * preds[m]
		}
	}
	raw := p
	c.theta = 1
	if c.scored > 0 && !c.robust {
		c.theta = c.guard(c.currentRatio(mae))
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

// skip advances the ring without a forecast (the row will not be scored).
func (c *combiner) skip() {
	c.rows[c.pos*rowLen+rowPoint] = float32(math.NaN())
	c.pos++
	if c.pos == c.k {
		c.pos = 0
	}
}

// weights sets c.w: inverse squared MAE over the topModels best allowed models; before any score the naive model
// (the cleaned last value for the robust combiner) gets all the weight. It returns the MAE table the weights were
// chosen from.
func (c *combiner) weights(post bool) *[numModels]float64 {
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
		return mae
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
		return mae
	}
	if mae[best[0]] == 0 {
		c.w[best[0]] = 1
		return mae
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
	return mae
}

// postWindow is how many steps after an accepted level shift count as "post-shift": min(2k, 360).
func (c *combiner) postWindow() int64 { return int64(min(2*c.k, 360)) }

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
