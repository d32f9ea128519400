package forecast

import "math"

// Rescale multiplies everything the series holds in the units of its values by factor (> 0, finite): the history,
// every model's state, the pending forecasts, the error statistics and the anomaly errors. It is for a change of
// units that is not a change of the series, above all a filesystem resize: with the used bytes unchanged, the
// usage ratio becomes ratio·oldCapacity/newCapacity at once, and without Rescale the series would take that for a
// level shift (an accepted shift scores the same large errors for every model and for naive, which holds the error
// ratio, the alerts' trust gate, near 1 for hours).
//
// Every model, the combination weights, the naive guard, the interval quantiles (which are in units of the scale
// σ) and the anomaly score are scale-equivariant, so a series rescaled by c forecasts what a series fed c·y from the
// start would have forecast, up to the tiny absolute floors of the scales and to forecasts clamped at Config.Min or
// Max before the rescale (TestRescaleIsEquivariant). It returns false, changing nothing, for an invalid factor. O(size
// of the state), no allocations.
func (s *Series) Rescale(factor float64) bool {
	if !(factor > 0) || math.IsInf(factor, 1) {
		return false
	}
	c32 := float32(factor)
	for i := range s.hist.buf {
		s.hist.buf[i] *= c32
	}
	s.lastV *= factor

	b := &s.bank
	b.last *= factor
	b.clean *= factor
	for i := range b.ewma {
		b.ewma[i] *= factor
	}
	b.holtL *= factor
	b.holtB *= factor
	for i := range b.med {
		b.med[i] *= factor
	}
	b.medS *= factor
	for i := range b.ols {
		b.ols[i].sy *= factor
		b.ols[i].sxy *= factor
	}
	for i := range b.hlev {
		b.hlev[i] *= factor
	}
	b.seasCorr *= factor
	h := &b.harm
	for i := range h.r {
		h.r[i] *= factor
		h.coef[i] *= factor
	}

	a := &s.anom
	for i := range a.errs {
		a.errs[i] *= c32
	}
	a.newest *= factor
	a.newestRef *= factor
	a.scale *= factor

	s.ref.rescale(factor)
	for i := range s.combs {
		s.combs[i].rescale(factor)
	}
	return true
}

// rescale scales a combiner's statistics and pending rows; the weights, θ and the normalised quantiles stay.
func (c *combiner) rescale(factor float64) {
	for m := range numModels {
		c.mae[m] *= factor
		c.maeS[m] *= factor
	}
	c.maeComb *= factor
	c.maeLong *= factor
	c.maeNaive *= factor
	c.oneStep *= factor
	c.maeRaw *= factor
	c.maeGNaive *= factor
	for i := range c.initErr {
		c.initErr[i] *= factor
	}
	c32 := float32(factor)
	for r := 0; r+rowLen <= len(c.rows); r += rowLen {
		row := c.rows[r : r+rowLen]
		for m := range numModels {
			row[m] *= c32
		}
		row[rowPoint] *= c32
		row[rowScale] *= c32
		row[rowRaw] *= c32
	}
	c.cur.Point *= factor
	c.cur.Lower *= factor
	c.cur.Upper *= factor
	c.upWidth *= factor
}

// Rescale multiplies the step being accumulated by factor (see Series.Rescale), so the step in which a resize
// happens is not a mixture of both units. It returns false, changing nothing, for an invalid factor.
func (r *Resampler) Rescale(factor float64) bool {
	if !(factor > 0) || math.IsInf(factor, 1) {
		return false
	}
	r.sum *= factor
	return true
}
