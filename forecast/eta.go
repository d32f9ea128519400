package forecast

import "math"

// SecondsUntil returns the earliest time, in seconds after the start of the newest pushed step, at which the upper
// bound of the forecast path reaches threshold: 0 when the newest value already is at or above it, +Inf when the
// path stays below it. It is false while no horizon is ready (see Forecast). It is the earliest plausible time:
// ExpectedSecondsUntil gives the one the point forecast expects.
//
// The path covers step offsets j = 1..H with H = min(largest ready horizon, steps of history held): the history
// must be at least as long as the look-ahead it supports. At offset j the point is the weighted model combination
// of the ready horizon with the largest k <= j (the smallest ready horizon for shorter offsets) applied to the
// models' j-step forecasts, pulled towards naive by that horizon's guard; the upper width (q_hi·σ) is interpolated linearly in j between ready horizons and
// scaled by √(j/k₁) below the smallest one k₁. Between offsets the crossing time is interpolated linearly. Cost:
// O(H·models), about 1440 × 13 model evaluations for the default config.
func (s *Series) SecondsUntil(threshold float64) (float64, bool) { return s.secondsUntil(threshold, 1) }

// ExpectedSecondsUntil is SecondsUntil on the point forecast path: when the forecast itself, not its upper bound,
// reaches threshold.
func (s *Series) ExpectedSecondsUntil(threshold float64) (float64, bool) {
	return s.secondsUntil(threshold, 0)
}

// secondsUntil follows the path point + widths·upper width.
func (s *Series) secondsUntil(threshold, widths float64) (float64, bool) {
	if !s.has {
		return 0, false
	}
	if s.lastV >= threshold {
		return 0, true
	}
	// ready horizons in increasing k
	first, last := -1, -1
	for _, i := range s.order {
		if s.ready(&s.combs[i]) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0, false
	}
	H := min(s.combs[last].k, s.hist.n)
	stepSec := s.cfg.Step.Seconds()
	prevU := s.lastV
	seg := first // combiner whose weights are used
	next := -1   // next ready combiner above seg, for width interpolation
	nextPos := 0
	advanceNext := func(from int) {
		next = -1
		for p := from; p < len(s.order); p++ {
			if i := s.order[p]; s.ready(&s.combs[i]) && s.combs[i].k > s.combs[seg].k {
				next, nextPos = i, p
				return
			}
		}
	}
	advanceNext(0)
	var seas seasonIter
	seas.start(&s.bank.harm, s.bank.idx+1)
	phiJ := 1.0
	for j := 1; j <= H; j++ {
		phiJ *= holtPhi
		for next >= 0 && s.combs[next].k <= j {
			seg = next
			advanceNext(nextPos + 1)
		}
		c := &s.combs[seg]
		var width float64
		switch {
		case j < c.k:
			width = c.upWidth * math.Sqrt(float64(j)/float64(c.k))
		case next >= 0:
			n := &s.combs[next]
			f := float64(j-c.k) / float64(n.k-c.k)
			width = c.upWidth + f*(n.upWidth-c.upWidth)
		default:
			width = c.upWidth
		}
		p := s.bank.predictWeighted(j, &c.w, seas.value(), phiJ, &s.hist)
		p = s.lastV + c.theta*(p-s.lastV) // the naive guard, as in the published forecast
		seas.next()
		u := clamp(clamp(p, s.cfg.Min, s.cfg.Max)+widths*width, s.cfg.Min, s.cfg.Max)
		if u >= threshold {
			frac := 1.0
			if u > prevU {
				frac = (threshold - prevU) / (u - prevU)
			}
			return (float64(j-1) + clamp(frac, 0, 1)) * stepSec, true
		}
		prevU = u
	}
	return math.Inf(1), true
}
