package forecast

import "math"

// The candidate models. Each is updated in O(1) (amortised) per step and forecasts any number of steps ahead.
// "Cleaned" inputs are the values after the outlier filter of the anomaly detector (a lone spike is replaced by the
// one-step forecast; see anomaly.go), so a spike does not drag levels and trends.
const (
	mNaive     = iota // last raw value (the "value stays where it is" baseline; always a candidate)
	mCleanLast        // last cleaned value
	mEWMAFast         // exponential smoothing of cleaned values, α = 0.5
	mEWMAMid          // α = 0.15
	mEWMASlow         // α = 0.04
	mMedShort         // rolling median of the newest 5 raw values
	mMedMid           // … 15 raw values
	mMedLong          // … 60 raw values
	mHolt             // damped Holt trend on cleaned values, trend reset at accepted level shifts
	mOLSShort         // least-squares line over the newest 30 values (predict_linear)
	mOLSLong          // … 360 values
	mHarmFast         // daily Fourier cycle + fast deseasonalised level
	mHarmSlow         // daily Fourier cycle + slow deseasonalised level
	mDrift            // random walk with drift: last raw value + slope of a 360-step OLS window restarted at level shifts
	mMedShift         // rolling median of the raw values since the last accepted level shift (at most 60)
	mSeasNaive        // value one day before the target time + (median of the newest 15 − median of 15 a day earlier)
	numModels
)

var modelNames = [numModels]string{
	"naive", "clean_last", "ewma_0.5", "ewma_0.15", "ewma_0.04", "median_5", "median_15", "median_60",
	"holt_damped", "ols_30", "ols_360", "harmonic_fast", "harmonic_slow", "drift", "median_since_shift",
	"seasonal_naive",
}

// Model parameters (read-only tables).
var (
	ewmaAlpha  = [3]float64{0.5, 0.15, 0.04}
	medWindows = [3]int{5, 15, maxMedianWin}
	olsWindows = [3]int{30, 360, 360} // the third is the drift model's
	harmAlpha  = [2]float64{0.2, 0.03}
)

const (
	holtAlpha    = 0.3
	holtBeta     = 0.05
	holtPhi      = 0.95
	maxMedianWin = 60
	// seasWindow is the window of the medians of the seasonal naive level correction (= medWindows[1]).
	seasWindow = 15
)

// bank holds the state of all candidate models.
type bank struct {
	started bool
	last    float64 // raw
	clean   float64
	ewma    [3]float64
	holtL   float64
	holtB   float64
	med     [3]float64
	medS    float64 // median since the last shift
	since   int     // values since the last accepted shift, saturating at maxMedianWin
	ols     [3]olsWindow
	harm    harmonic
	hlev    [2]float64 // deseasonalised levels
	idx     int64      // step index of the newest update
	// period is the number of steps in a day for the seasonal naive model (0: disabled, when a day has fewer than
	// harmonicMinStepsPerDay steps or the history cannot hold a day and the 15 values before it); seasCorr is its
	// level correction, valid when seasOK.
	period   int
	seasCorr float64
	seasOK   bool

	scratch [maxMedianWin]float64
}

func newBank(stepNs int64, historySteps int) bank {
	b := bank{harm: newHarmonic(stepNs, historySteps)}
	if p := int(math.Round(float64(daySeconds) * 1e9 / float64(stepNs))); p >= harmonicMinStepsPerDay && p+seasWindow <= historySteps {
		b.period = p
	}
	for i, w := range olsWindows {
		b.ols[i].w = min(w, historySteps-1)
	}
	return b
}

func (b *bank) reset() {
	harm := b.harm
	harm.reset()
	ols := b.ols
	*b = bank{harm: harm, period: b.period}
	for i := range ols {
		b.ols[i] = olsWindow{w: ols[i].w}
	}
}

// update feeds the raw value y (already the newest value of h) and its cleaned version c at step idx. shift reports
// that the input filter has just accepted a level shift (maxStrikes outliers on one side): the trend models
// restart so the jump does not turn into a slope. fast skips the medians, which only predictions read and which
// depend on the history alone (used inside long gaps, where nothing is predicted).
func (b *bank) update(idx int64, y, c float64, shift bool, h *ring, fast bool) {
	b.idx = idx
	s := b.harm.seasonal(idx)
	if !b.started {
		b.started = true
		b.clean = c
		for i := range b.ewma {
			b.ewma[i] = c
		}
		b.holtL, b.holtB = c, 0
		b.hlev = [2]float64{c - s, c - s}
	} else {
		for i, a := range ewmaAlpha {
			b.ewma[i] += a * (c - b.ewma[i])
		}
		prevL := b.holtL
		b.holtL = holtAlpha*c + (1-holtAlpha)*(b.holtL+holtPhi*b.holtB)
		b.holtB = holtBeta*(b.holtL-prevL) + (1-holtBeta)*holtPhi*b.holtB
		for i, a := range harmAlpha {
			b.hlev[i] += a * (c - s - b.hlev[i])
		}
	}
	b.last, b.clean = y, c
	b.since = min(b.since+1, maxMedianWin)
	if shift {
		b.since = maxStrikes
	}
	if fast {
		for i := range b.ols {
			b.ols[i].add(h)
		}
		b.harm.update(idx, c)
		return
	}
	for i, w := range medWindows {
		n := h.copyNewest(b.scratch[:w])
		b.med[i] = median(b.scratch[:n])
	}
	n := h.copyNewest(b.scratch[:b.since])
	b.medS = median(b.scratch[:n])
	b.seasOK = b.period > 0 && h.n >= b.period+seasWindow
	if b.seasOK {
		for i := range seasWindow {
			b.scratch[i] = h.back(b.period + i)
		}
		b.seasCorr = b.med[1] - median(b.scratch[:seasWindow])
	}
	for i := range b.ols {
		b.ols[i].add(h)
	}
	if shift {
		b.ols[2].restart(h, maxStrikes)
		b.holtL, b.holtB = c, 0
	}
	b.harm.update(idx, c)
}

// predict writes each model's forecast j >= 1 steps ahead into out. seas is s(t + j·Step) from seasonalAt; h is
// the history (the newest value is the one of the last update).
func (b *bank) predict(j int, seas float64, h *ring, out *[numModels]float64) {
	fj := float64(j)
	out[mNaive] = b.last
	out[mCleanLast] = b.clean
	out[mEWMAFast] = b.ewma[0]
	out[mEWMAMid] = b.ewma[1]
	out[mEWMASlow] = b.ewma[2]
	out[mMedShort] = b.med[0]
	out[mMedMid] = b.med[1]
	out[mMedLong] = b.med[2]
	// Damped trend: L + B·Σ_{i=1..j} φ^i = L + B·φ(1−φ^j)/(1−φ).
	out[mHolt] = b.holtL + b.holtB*holtPhi*(1-math.Pow(holtPhi, fj))/(1-holtPhi)
	for i := range 2 {
		a, s := b.ols[i].line()
		out[mOLSShort+i] = a + s*fj
	}
	_, slope := b.ols[2].line()
	out[mDrift] = b.last + slope*fj
	out[mMedShift] = b.medS
	out[mHarmFast] = b.hlev[0] + seas
	out[mHarmSlow] = b.hlev[1] + seas
	out[mSeasNaive] = b.seasonalNaive(j, h)
}

// seasonalNaive is the value at the same time of day as t + j·Step on the latest day the history holds, shifted by
// the change of level since then: y(t + j' − P) + median₁₅(now) − median₁₅(a day ago), j' = ((j−1) mod P) + 1
// (the daily profile repeats beyond one day). Before a day of history it is the naive forecast.
func (b *bank) seasonalNaive(j int, h *ring) float64 {
	if !b.seasOK || h.n < b.period+seasWindow {
		return b.last
	}
	jj := (j-1)%b.period + 1
	return h.back(b.period-jj) + b.seasCorr
}

// predictWeighted is Σ_m w_m·(model m's forecast j steps ahead), evaluating only the models with a weight (the
// ETA path calls it for every step up to the longest horizon). seas is s(t + j·Step) and phiJ is holtPhi^j, both
// maintained incrementally by the caller.
func (b *bank) predictWeighted(j int, w *[numModels]float64, seas, phiJ float64, h *ring) float64 {
	fj := float64(j)
	p := 0.0
	for m, wm := range w {
		if wm == 0 {
			continue
		}
		var f float64
		switch m {
		case mHolt:
			f = b.holtL + b.holtB*holtPhi*(1-phiJ)/(1-holtPhi)
		case mOLSShort, mOLSLong:
			a, s := b.ols[m-mOLSShort].line()
			f = a + s*fj
		case mDrift:
			_, s := b.ols[2].line()
			f = b.last + s*fj
		case mHarmFast, mHarmSlow:
			f = b.hlev[m-mHarmFast] + seas
		case mNaive:
			f = b.last
		case mCleanLast:
			f = b.clean
		case mEWMAFast, mEWMAMid, mEWMASlow:
			f = b.ewma[m-mEWMAFast]
		case mMedShort, mMedMid, mMedLong:
			f = b.med[m-mMedShort]
		case mMedShift:
			f = b.medS
		case mSeasNaive:
			f = b.seasonalNaive(j, h)
		}
		p += wm * f
	}
	return p
}

// seasonalAt is the harmonic seasonal term j steps after the newest update.
func (b *bank) seasonalAt(j int) float64 { return b.harm.seasonal(b.idx + int64(j)) }

// median returns the median of x (the upper one for an even count), reordering x. O(len(x)) expected.
func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return quickselect(x, len(x)/2)
}

// quickselect returns the k-th smallest element of x (0-based), reordering x. It uses median-of-three pivots and
// is allocation-free.
func quickselect(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k]
		}
	}
	return x[k]
}
