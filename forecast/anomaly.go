package forecast

import "math"

const (
	// anomalyWindow is how many recent one-step errors the MAD of the anomaly score is taken over.
	anomalyWindow = 128
	// minAnomalyErrors one-step errors are needed before Anomaly reports a score.
	minAnomalyErrors = 32
	// cleanK: an innovation beyond cleanK·σ_c (σ_c = 1.2533·clipped mean |e|, ≈ the standard deviation for
	// Gaussian errors) is an outlier for the cleaning filter.
	cleanK = 3.5
	// maxStrikes consecutive outliers on the same side are taken as a level shift and accepted.
	maxStrikes = 3
	// madToSigma turns a median absolute deviation into a Gaussian standard deviation.
	madToSigma = 1.4826
)

// anomalyState scores each new value against the one-step forecast of the robust combiner and cleans the input of
// the level models.
//
// Score of the newest value v with one-step forecast f:
//
//	score = |v − f| / max(1.4826·MAD(e), 0.2·mean|e − median(e)|, 10⁻⁶·|f|, 10⁻¹²)
//
// over the previous anomalyWindow one-step errors e (the newest is excluded). The extra floors keep the score
// finite on a flat series (MAD = 0) and on series that are mostly constant with rare bursts.
//
// Cleaning (a Huber-type "3-strike" filter): when |v − f| > cleanK·σ_c the level models are fed f instead of v, so
// a lone spike leaves them untouched and the hour after a spike is not flagged; after maxStrikes consecutive
// outliers on the same side the value is accepted as a level shift, so a shift is flagged for a few steps only.
// σ_c is a clipped running mean of |e| (λ = 1/min(n, 50)) that grows geometrically when errors stay large.
type anomalyState struct {
	errs       [anomalyWindow]float32
	n, pos     int
	newest     float64
	newestRef  float64
	hasNewest  bool
	scale      float64
	scaleN     int64
	strikes    int
	strikeSign int
}

func (a *anomalyState) reset() { *a = anomalyState{} }

// process handles the value v whose one-step forecast was ref (hasRef false for the very first value) and returns
// the cleaned value and whether a level shift has just been accepted. Filled (gap-interpolated) values do not enter
// the error statistics.
func (a *anomalyState) process(v, ref float64, hasRef, filled bool) (clean float64, shift bool) {
	if !hasRef || math.IsNaN(ref) {
		return v, false
	}
	e := v - ref
	ae := math.Abs(e)
	sigma := 1.2533 * a.scale
	clean = v
	if filled {
		return clean, false
	}
	if a.scaleN >= 8 && ae > cleanK*sigma {
		sign := 1
		if e < 0 {
			sign = -1
		}
		if sign == a.strikeSign {
			a.strikes++
		} else {
			a.strikes, a.strikeSign = 1, sign
		}
		if a.strikes < maxStrikes {
			clean = ref
		} else {
			a.strikes, a.strikeSign, shift = 0, 0, true
		}
		ae = cleanK * sigma
	} else {
		a.strikes, a.strikeSign = 0, 0
	}
	a.scaleN++
	a.scale += (ae - a.scale) / float64(min(a.scaleN, 50))
	if a.hasNewest {
		a.errs[a.pos] = float32(a.newest)
		a.pos = (a.pos + 1) % anomalyWindow
		a.n = min(a.n+1, anomalyWindow)
	}
	a.newest, a.newestRef, a.hasNewest = e, ref, true
	return clean, shift
}

// score computes the anomaly score of the newest value using scratch (len >= anomalyWindow).
func (a *anomalyState) score(scratch []float64) (float64, bool) {
	if !a.hasNewest || a.n < minAnomalyErrors {
		return 0, false
	}
	x := scratch[:a.n]
	for i := range x {
		x[i] = float64(a.errs[i])
	}
	med := median(x)
	mean := 0.0
	for i, e := range x {
		d := math.Abs(e - med)
		x[i] = d
		mean += d
	}
	mean /= float64(len(x))
	mad := median(x)
	den := max(madToSigma*mad, 0.2*mean, 1e-6*math.Abs(a.newestRef), 1e-12)
	return math.Abs(a.newest) / den, true
}
