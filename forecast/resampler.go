package forecast

import (
	"math"
	"time"
)

// Resampler turns irregular raw samples (the exporter's 1 s samples) into step means aligned to multiples of Step
// since the Unix epoch. Add returns the finished step when a sample falls into a later step. Samples older than the
// current step and NaN/Inf values are ignored. Steps without samples are never emitted (Series.Push fills gaps).
// It is not safe for concurrent use.
type Resampler struct {
	stepNs int64
	cur    int64 // index of the step being accumulated
	sum    float64
	n      int
}

// NewResampler returns a Resampler for step; a non-positive step is treated as one nanosecond.
func NewResampler(step time.Duration) *Resampler {
	if step <= 0 {
		step = 1
	}
	return &Resampler{stepNs: int64(step)}
}

// Add adds the sample v taken at t. When t falls into a later step than the one being accumulated, the earlier step
// is finished and returned: its start, the mean of its samples, and done = true.
func (r *Resampler) Add(t time.Time, v float64) (stepStart time.Time, mean float64, done bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return time.Time{}, 0, false
	}
	idx := stepIndex(t, r.stepNs)
	switch {
	case r.n == 0:
		r.cur, r.sum, r.n = idx, v, 1
	case idx == r.cur:
		r.sum += v
		r.n++
	case idx > r.cur:
		stepStart, mean, done = indexTime(r.cur, r.stepNs), r.sum/float64(r.n), true
		r.cur, r.sum, r.n = idx, v, 1
	}
	return stepStart, mean, done
}

// stepIndex is floor(t / step) with t in Unix nanoseconds.
func stepIndex(t time.Time, stepNs int64) int64 {
	ns := t.UnixNano()
	q := ns / stepNs
	if ns%stepNs < 0 {
		q--
	}
	return q
}

// indexTime is the start of step idx.
func indexTime(idx, stepNs int64) time.Time {
	return time.Unix(0, idx*stepNs).UTC()
}
