package forecast

import "math"

// olsWindow is a least-squares line over the newest w values of the history, the model behind PromQL's
// predict_linear(v[w·Step], h). With x = i − (n−1) for the n values y_0..y_{n−1} (oldest first, so the newest sits at
// x = 0 like PromQL's t − t_eval) it keeps Sy = Σy and Sxy = Σx·y, updated in O(1) per step:
//
//	sliding one step:  Sxy' = Sxy − Sy + n·y_old  (every x drops by one, the oldest leaves),  Sy' = Sy − y_old + y_new
//	slope   b = (n·Sxy − Sx·Sy) / (n·Sxx − Sx²),  Sx = −n(n−1)/2,  Sxx = (n−1)n(2n−1)/6
//	value   a = (Sy − b·Sx) / n,  forecast j steps ahead = a + b·j
//
// The sums are recomputed exactly from the history every w steps so rounding errors cannot accumulate.
type olsWindow struct {
	w        int
	n        int
	sy, sxy  float64
	sinceFix int
	avail    int // values usable since the last restart (<= w); the window never reaches further back
}

// restart makes the window forget everything but the newest m values (used by the drift model when the input
// filter accepts a level shift, so the jump does not become a slope).
func (o *olsWindow) restart(h *ring, m int) {
	o.avail = min(m, o.w)
	o.recompute(h)
}

// add appends y, which h already holds as its newest value.
func (o *olsWindow) add(h *ring) {
	o.avail = min(o.avail+1, o.w)
	o.sinceFix++
	if o.sinceFix >= o.w || h.n < o.n+1 {
		// Exact recomputation: periodic, and whenever the history holds fewer values than the window expects
		// (after a reset or a state restore with a shorter history).
		o.recompute(h)
		return
	}
	y := h.back(0)
	if o.n < o.w {
		o.sxy -= o.sy
		o.sy += y
		o.n++
		return
	}
	old := h.back(o.n)
	o.sxy = o.sxy - o.sy + float64(o.n)*old
	o.sy += y - old
}

func (o *olsWindow) recompute(h *ring) {
	o.sinceFix = 0
	o.n = min(o.w, h.n, o.avail)
	o.sy, o.sxy = 0, 0
	for i := range o.n { // i steps before the newest: x = −i
		y := h.back(i)
		o.sy += y
		o.sxy -= float64(i) * y
	}
}

// line returns the fitted value at the newest step and the slope per step.
func (o *olsWindow) line() (a, b float64) {
	if o.n == 0 {
		return math.NaN(), 0
	}
	if o.n == 1 {
		return o.sy, 0
	}
	n := float64(o.n)
	sx := -n * (n - 1) / 2
	sxx := (n - 1) * n * (2*n - 1) / 6
	b = (n*o.sxy - sx*o.sy) / (n*sxx - sx*sx)
	a = (o.sy - b*sx) / n
	return a, b
}

// PredictLinear is PromQL's predict_linear on the samples (ts[i] seconds, vs[i]) of one range: it fits
// v = a + b·(t − evalT) by ordinary least squares (with Kahan summation, as Prometheus does) and returns a + b·h.
// It needs at least two samples (ok=false otherwise); like PromQL it returns NaN for a constant ±Inf series. It is the baseline
// the backtest and the accuracy tests compare against.
func PredictLinear(ts, vs []float64, evalT, h float64) (float64, bool) {
	if len(ts) != len(vs) || len(ts) < 2 {
		return 0, false
	}
	var (
		n                                          float64
		sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2 float64
		initY                                      float64
		constY                                     = true
	)
	initY = vs[0]
	for i := range ts {
		if constY && i > 0 && vs[i] != initY {
			constY = false
		}
		n++
		x := ts[i] - evalT
		sumX, cX = kahanSumInc(x, sumX, cX)
		sumY, cY = kahanSumInc(vs[i], sumY, cY)
		sumXY, cXY = kahanSumInc(x*vs[i], sumXY, cXY)
		sumX2, cX2 = kahanSumInc(x*x, sumX2, cX2)
	}
	if constY {
		if math.IsInf(initY, 0) {
			return math.NaN(), true
		}
		return initY, true
	}
	sumX += cX
	sumY += cY
	sumXY += cXY
	sumX2 += cX2
	covXY := sumXY/n - sumX*sumY/(n*n)
	varX := sumX2/n - sumX*sumX/(n*n)
	slope := covXY / varX
	intercept := sumY/n - slope*sumX/n
	return intercept + slope*h, true
}

// kahanSumInc is Prometheus' compensated summation step.
func kahanSumInc(inc, sum, c float64) (newSum, newC float64) {
	t := sum + inc
	switch {
	case math.IsInf(t, 0):
		c = 0
	case math.Abs(sum) >= math.Abs(inc):
		c += (sum - t) + inc
	default:
		c += (inc - t) + sum
	}
	return t, c
}
