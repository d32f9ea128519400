package forecast

import "math"

const (
	// anomalyWindow is how many recent one-step errors the scale of the anomaly score is taken over.
	anomalyWindow = 512
	// anomalyQuantile is the quantile of |e − median(e)| over the window that floors the scale, and
	// anomalyQuantileZ the same quantile of |N(0, 1)|, so that the floor is about σ for Gaussian errors.
	anomalyQuantile  = 0.99
	anomalyQuantileZ = 2.576
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
//	score = |v − f| / max(1.4826·MAD(e), Q₀.₉₉(|e − median(e)|)/2.576, 10⁻⁶·|f|, 10⁻¹²)
//
// over the previous anomalyWindow = 512 one-step errors e (the newest is excluded). 1.4826·MAD is the robust
// standard deviation; Q₀.₉₉/2.576 is the same for Gaussian errors, and larger for heavy-tailed and bursty ones,
// where the MAD only sees the quiet steps and every burst would score far above any threshold. With the default
// threshold 4 a value is anomalous when its error exceeds both 4 robust standard deviations and 1.55 × the 99th
// percentile of the recent errors: a series that bursts regularly is not anomalous at its ordinary bursts, while a
// spike beyond anything in the last 512 steps still is (docs/forecasting.md has the flag rates). A level shift puts
// maxStrikes large errors into the window, fewer than the 5 the quantile ignores, so later shifts still score.
// The last two floors keep the score finite on a flat series.
//
// Cleaning (a Huber-type "3-strike" filter): when |v − f| > cleanK·σ_c the level models are fed f instead of v, so
// a lone spike leaves them untouched and the hour after a spike is not flagged; after maxStrikes consecutive
// outliers on the same side the value is accepted as a level shift, so a shift is flagged for a few steps only.
// σ_c is a clipped running mean of |e| (λ = 1/min(n, 50)) that grows geometrically when errors stay large, floored
// by 10⁻⁹·|f| so that rounding errors on an exactly constant series are not outliers.
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

	// The score of the newest value, computed on first use after each push (not part of the state).
	scored    bool
	lastScore float64
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
	sigma := max(a.sigma(), 1e-9*math.Abs(ref))
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
	a.scored = false
	return clean, shift
}

// score returns the anomaly score of the newest value, using scratch (len >= anomalyWindow) the first time after
// a push. O(anomalyWindow) then, O(1) after.
func (a *anomalyState) score(scratch []float64) (float64, bool) {
	if !a.hasNewest || a.n < minAnomalyErrors {
		return 0, false
	}
	if a.scored {
		return a.lastScore, true
	}
	x := scratch[:a.n]
	for i := range x {
		x[i] = float64(a.errs[i])
	}
	med := median(x)
	for i, e := range x {
		x[i] = math.Abs(e - med)
	}
	mad := median(x)
	// median left x partitioned at len(x)/2 (TestQuickselectPartitions) and the quantile's rank is above it.
	h := len(x) / 2
	q := quickselect(x[h:], min(len(x)-1, int(math.Ceil(anomalyQuantile*float64(len(x)-1))))-h)
	den := max(madToSigma*mad, q/anomalyQuantileZ, 1e-6*math.Abs(a.newestRef), 1e-12)
	a.lastScore, a.scored = math.Abs(a.newest)/den, true
	return a.lastScore, true
}

// sigma is σ_c, the local scale of one-step errors: 1.2533 × the clipped running mean of |e|.
func (a *anomalyState) sigma() float64 { return 1.2533 * a.scale }
