package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults of DefaultFillConfig.
const (
	// DefaultFillWindow is the trend window: PromQL's predict_linear range in node-mixin's filesystem alerts.
	DefaultFillWindow = 6 * time.Hour
	// DefaultFillRecentWindow is the window of the recent slope that caps the trend once growth stops.
	DefaultFillRecentWindow = time.Hour
	// DefaultFillMaxShiftDuration is the longest burst of abrupt changes taken as a step (a file written or
	// deleted at once) rather than as a change of trend.
	DefaultFillMaxShiftDuration = 45 * time.Minute
	// DefaultFillMinShift is the smallest step (as a share of the filesystem) that is taken out of the trend.
	DefaultFillMinShift = 0.005
	// DefaultFillMinCycleDrop is the smallest drop that counts as a cleanup for the sawtooth logic.
	DefaultFillMinCycleDrop = 0.01
)

const (
	// MaxFillSteps bounds FillConfig.Window/Step, so one estimator holds at most 4 MiB of history.
	MaxFillSteps = 1 << 20
	// fillAbrupt: an increment further than fillAbrupt·σ_Δ from the trend's is abrupt.
	fillAbrupt = 5
	// fillRunZ: a run of abrupt increments lasts while the mean of Δ − b over its newest few steps is beyond
	// fillRunZ·σ_Δ in its direction.
	fillRunZ = 2
	// fillRunDecay: a run also ends when that mean has fallen below fillRunDecay times its largest value (after a
	// step it decays geometrically; along a ramp it stays).
	fillRunDecay = 0.1
	// fillNoiseWarm increments are needed before any is called abrupt.
	fillNoiseWarm = 30
	// fillDrops is how many recent cleanups the sawtooth logic remembers.
	fillDrops = 8
	// fillCycles is how many of the newest cycles give the typical period and amplitude.
	fillCycles = 3
	// fillSlopeDrops cleanups are needed before their peaks' slope is used.
	fillSlopeDrops = 3
	// fillLepski is Γ of the window choice: a longer window is used while its slope is within Γ times the noise
	// of every shorter window's slope.
	fillLepski = 2
	// maxFillWindows bounds the number of trend windows (RecentWindow·2^i up to Window, Window ≤ MaxFillSteps).
	maxFillWindows = 24
)

// ErrInvalidFillConfig is wrapped by every error returned from FillConfig.Validate.
var ErrInvalidFillConfig = errors.New("invalid fill estimator config")

// FillConfig configures a Fill estimator. Durations are rounded down to whole steps.
type FillConfig struct {
	// Step is the step of the pushed values, as the Series' Config.Step.
	Step time.Duration
	// Window is the trend window (see Fill), at least two RecentWindows.
	Window time.Duration
	// RecentWindow is the window of the recent slope, at least 4 steps.
	RecentWindow time.Duration
	// MaxShiftDuration is the longest burst of abrupt changes that is taken as a step, at least one step and less
	// than RecentWindow.
	MaxShiftDuration time.Duration
	// MinShift is the smallest step, in the units of the values (a share of the filesystem for usage ratios),
	// that is taken out of the trend; smaller ones stay in it as noise. At least 0.
	MinShift float64
	// MinCycleDrop is the smallest drop that counts as a cleanup of a sawtooth, at least MinShift.
	MinCycleDrop float64
}

// DefaultFillConfig returns the defaults for a series of usage ratios at step: trend window 6 h, recent window
// 1 h, steps up to 45 min long, steps of at least 0.5 % taken out of the trend, cleanups of at least 1 %. For steps
// longer than 15 min the windows grow to hold enough steps (a recent window of 4 steps, a trend window of at least
// 2 recent windows, steps up to one step long), so the result is valid for any positive step for which Window/Step
// is within MaxFillSteps.
func DefaultFillConfig(step time.Duration) FillConfig {
	recent := max(DefaultFillRecentWindow, 4*step)
	return FillConfig{
		Step:             step,
		Window:           max(DefaultFillWindow, 2*recent),
		RecentWindow:     recent,
		MaxShiftDuration: min(max(DefaultFillMaxShiftDuration, step), recent-step),
		MinShift:         DefaultFillMinShift,
		MinCycleDrop:     DefaultFillMinCycleDrop,
	}
}

// Validate reports the first problem of c, wrapping ErrInvalidFillConfig.
func (c FillConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidFillConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Step <= 0:
		return bad("step %v must be positive", c.Step)
	case c.RecentWindow/c.Step < 4:
		return bad("recent window %v holds fewer than 4 steps of %v", c.RecentWindow, c.Step)
	case c.Window < 2*c.RecentWindow:
		return bad("window %v is shorter than twice the recent window %v", c.Window, c.RecentWindow)
	case int64(c.Window/c.Step) > MaxFillSteps:
		return bad("window %v holds more than %d steps of %v", c.Window, MaxFillSteps, c.Step)
	case c.MaxShiftDuration < c.Step || c.MaxShiftDuration >= c.RecentWindow:
		return bad("max shift duration %v must be at least the step %v and less than the recent window %v",
			c.MaxShiftDuration, c.Step, c.RecentWindow)
	case !(c.MinShift >= 0) || math.IsInf(c.MinShift, 1):
		return bad("min shift %v must be finite and at least 0", c.MinShift)
	case !(c.MinCycleDrop >= c.MinShift) || math.IsInf(c.MinCycleDrop, 1):
		return bad("min cycle drop %v must be finite and at least the min shift %v", c.MinCycleDrop, c.MinShift)
	}
	return nil
}

// fillDrop is one cleanup: the step it ended at, the level before it and the compensated series ỹ after it.
type fillDrop struct {
	idx        int64
	peak, comp float64
}

// Fill estimates when a filling resource (a filesystem's usage ratio, its inode usage) reaches a threshold. It is
// meant for series that grow by writes and fall by deletions: their trend is what matters, and steps and sawtooth
// cycles must not be mistaken for it. Not safe for concurrent use.
//
// Steps. With Δ_t = y_t − y_{t−1} and b the current trend per step, an increment is abrupt when
// |Δ_t − b| > 5·σ_Δ, σ_Δ = 1.2533 × the mean of min(|Δ − b|, 5·σ_Δ) over about a day (a clipped mean absolute
// deviation, ≈ the standard deviation for Gaussian increments). A run starts at an abrupt increment and lasts while
// the exponentially weighted mean of Δ − b over it (weight 1/q per step, q = max(2, 3 min/Step)) stays beyond
// 2·σ_Δ and beyond a tenth of its largest value in the run's direction, so a ramp whose increments are only now and
// then abrupt is one run, not many steps; an abrupt increment of the other sign ends it. A run that ends within MaxShiftDuration and moves the value
// by |y_end − y_start − b·L| ≥ MinShift is a step: a file written or deleted at once, a resize. It is taken out of the
// trend: the trend models see the compensated series ỹ = y − J, J the sum of the steps so far. While a run lasts the
// trend models are fed the extrapolation ỹ + b·j, so a burst of writes does not move the trend before it is known
// to be one. A run that lasts longer than MaxShiftDuration is a change of trend (a fill starting or stopping at a
// rate far from b): the trend windows restart at its first step, with its values.
//
// Trend. The trend windows are least-squares lines over the newest RecentWindow·2^i values of ỹ (1 h, 2 h, 4 h and
// Window = 6 h at the defaults: 6 h is node-mixin's predict_linear[6h]), slid in O(1) and restarted at changes of
// trend. Each window's slope noise s is measured on the series itself: s² is the mean, over about a day, of
// (b(t) − b(t − w))²/2, the squared difference between the slopes of two adjacent windows of that length, which a
// steady trend leaves to noise whatever the noise's autocorrelation (differences beyond 4·s are clipped: a change of
// trend is not noise). The trend b is chosen by Lepski's rule among the windows from the second on: the longest
// window whose slope is within 2·s_i of the slope of every shorter window i from the second on, so a long window,
// precise on a steady trend, is used until a shorter one disagrees beyond its noise (a fill starting). The shortest
// window only lowers it: when its slope is below b/2, the trend is max(its slope, 0), which ends the ETA within
// about RecentWindow of a fill stopping even when the noise measured so far is inflated by that fill (a new node).
// While the second window's noise is unknown (the first 3·2·RecentWindow), the longest window's slope is used.
// During a run of abrupt decreases (a deletion in progress, or a fill stopping) the trend is not used.
//
// Sawtooth. Drops of at least MinCycleDrop are remembered (the newest 8: step, level before, ỹ after). From two on,
// the series is taken as cyclic. With I the longest and A the largest of the newest three periods (steps between
// drops) and trend growths (ỹ after a drop − ỹ after the previous one: the growth the trend sees, without the steps
// already taken out, so bursts make no cycle), the current cycle is expected to grow by max(A − g, 0) more, g being
// its trend growth so far, and to peak at P = ℓ + max(A − g, 0). If P is below the threshold, the threshold is not
// reached in this cycle, and the ETA is the time for the cycles' peaks to reach it at their Theil–Sen slope ν (median
// of the pairwise slopes of the levels before the remembered drops, from three drops on): (threshold − P)/ν, or +Inf
// when ν ≤ 0 or unknown. The cycle is overdue, and the trend is used as for any series, when it has lasted more than
// 1.25·I + 1 h or grown by more than 1.25·A + max(3σ_Δ, MinShift): a cleanup that did not come, or a cycle growing
// like no recent one.
//
// ETA. ℓ is the recent window's fitted value at the newest step (plus J). SecondsUntil is 0 when ℓ is at or above
// the threshold, (threshold − ℓ)/b steps when b > 0, else +Inf. It is a point estimate, the time at which the trend
// crosses the threshold, not the upper bound of an interval.
//
// Cost: O(1) per step (amortised: a run that turns out not to be a step rewrites its at most
// MaxShiftDuration/Step values and recomputes the windows' sums once), no allocations after NewFill
// (BenchmarkFillPush). Memory: 4 bytes per step of Window (history) and of each trend window (slope history), plus
// 8 per step of MaxShiftDuration: about 5.5 KiB at the defaults and a 1 m step.
type Fill struct {
	cfg                    FillConfig
	stepNs                 int64
	win, recent, maxRun    int
	quiet                  int // memory of a run's mean deviation, in steps
	noiseMemory, varMemory float64

	hist ring // ỹ, the compensated series: Window + 1 values
	// wins are the trend windows, shortest (RecentWindow) first, each twice the previous, the last Window.
	wins []fillWindow

	has     bool
	lastIdx int64
	lastY   float64
	comp    float64 // J
	steps   int64   // steps since the last reset of the trend
	incN    int64
	incMean float64 // clipped mean |Δ − b|

	// The run of abrupt increments in progress (runLen = 0: none).
	runLen, runSign int
	runMean         float64 // exponentially weighted mean of Δ − b over the run
	runPeak         float64 // largest runSign·runMean so far
	runB            float64 // trend per step when it started
	runBase         float64 // ỹ before it
	runY0           float64 // y before it
	runComp         float64 // J before it
	runLevel        float64 // ℓ before it
	runBuf          []float64

	drops     [fillDrops]fillDrop
	nDrops    int // valid entries, newest at (dropPos−1) mod fillDrops
	dropPos   int
	peakSlope float64 // ν per step, valid when nDrops >= fillCycles
	scratch   [fillDrops * (fillDrops - 1) / 2]float64
}

// NewFill returns an empty estimator for cfg, which must be valid.
func NewFill(cfg FillConfig) (*Fill, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new fill estimator: %w", err)
	}
	f := &Fill{
		cfg:    cfg,
		stepNs: int64(cfg.Step),
		win:    int(cfg.Window / cfg.Step),
		recent: int(cfg.RecentWindow / cfg.Step),
		maxRun: int(cfg.MaxShiftDuration / cfg.Step),
	}
	f.quiet = max(2, int(3*time.Minute/cfg.Step))
	day := float64(24 * time.Hour / cfg.Step)
	f.noiseMemory, f.varMemory = max(day, 100), max(day, 100)
	f.hist = newRing(f.win + 1) // the longest window slides in O(1) only if the value leaving it is still held
	for w := f.recent; ; w *= 2 {
		w = min(w, f.win)
		f.wins = append(f.wins, fillWindow{ols: olsWindow{w: w}, past: make([]float32, w)})
		if w == f.win {
			break
		}
	}
	f.runBuf = make([]float64, 0, f.maxRun+f.quiet+1)
	return f, nil
}

// Config returns the estimator's configuration.
func (f *Fill) Config() FillConfig { return f.cfg }

// resetTrend forgets the trend and the noise but keeps the remembered cleanups (their steps are absolute).
func (f *Fill) resetTrend() {
	f.hist.reset()
	for i := range f.wins {
		w := &f.wins[i]
		w.ols = olsWindow{w: w.ols.w}
		w.pos, w.n, w.v, w.vN = 0, 0, 0, 0
	}
	f.has, f.lastIdx, f.lastY, f.comp, f.steps, f.incN, f.incMean = false, 0, 0, 0, 0, 0, 0
	f.runLen, f.runMean, f.runSign = 0, 0, 0
	f.runBuf = f.runBuf[:0]
}

// Push appends the value of the step starting at t (floored to a multiple of Step since the Unix epoch), with the
// contract of Series.Push: false, changing nothing, for NaN or ±Inf or a step not after the newest. Missing steps
// are extrapolated along the trend (not scored as increments), so a change across a gap shows as one step; a gap
// of Window or more restarts the trend. O(1) amortised, no allocations.
func (f *Fill) Push(t time.Time, v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	idx := stepIndex(t, f.stepNs)
	if !f.has {
		f.start(idx, v)
		return true
	}
	if idx <= f.lastIdx {
		return false
	}
	if gap := idx - f.lastIdx - 1; gap > 0 {
		if gap >= int64(f.win) {
			f.resetTrend()
			f.start(idx, v)
			return true
		}
		f.endRun()
		b := f.slope()
		for range gap {
			f.lastY += b
			f.add(f.hist.back(0) + b)
		}
	}
	f.step(idx, v)
	return true
}

func (f *Fill) start(idx int64, v float64) {
	f.has, f.lastIdx, f.lastY = true, idx, v
	f.add(v - f.comp)
}

// add appends a compensated value to the history and the windows, and tracks each window's slope noise.
func (f *Fill) add(yt float64) {
	f.hist.push(yt)
	f.steps++
	for i := range f.wins {
		f.wins[i].add(&f.hist, f.varMemory)
	}
}

// fillWindow is one trend window: a sliding least-squares line over the newest w values of ỹ and the noise of its
// slope, s² = mean of (b(t) − b(t − w))²/2 over the steps at which both windows were full: the slopes of two
// adjacent windows with a steady trend differ by noise only, so this measures the slope's noise on the series
// itself, whatever the noise's autocorrelation. Differences beyond 4·s are clipped (a change of trend is not noise).
type fillWindow struct {
	ols  olsWindow
	past []float32 // the slopes of the newest w steps, a ring at pos
	pos  int
	n    int // valid entries of past
	v    float64
	vN   int64
}

func (w *fillWindow) add(h *ring, memory float64) {
	w.ols.add(h)
	if w.ols.n < w.ols.w {
		return
	}
	_, b := w.ols.line()
	if w.n == len(w.past) {
		d := b - float64(w.past[w.pos])
		v := d * d / 2
		if w.vN >= int64(len(w.past)) {
			v = min(v, 16*w.v)
		}
		w.vN++
		w.v += (v - w.v) / min(float64(w.vN), memory)
	}
	w.past[w.pos] = float32(b)
	w.pos = (w.pos + 1) % len(w.past)
	w.n = min(w.n+1, len(w.past))
}

// restart makes the window forget everything but the newest m values, and its slope history.
func (w *fillWindow) restart(h *ring, m int) {
	w.ols.restart(h, m)
	w.pos, w.n = 0, 0
}

// known reports whether the window's slope noise has been measured.
func (w *fillWindow) known() bool { return w.vN >= int64(len(w.past)) }

// trend is the trend per step (see Fill): Lepski's choice among the windows but the shortest, capped by the
// shortest; false while the choice cannot be made (the second window's noise is not measured yet).
func (f *Fill) trend() (b float64, ok bool) {
	var r [maxFillWindows]float64
	for j := 1; j < len(f.wins); j++ {
		w := &f.wins[j]
		if w.ols.n < 2 {
			break
		}
		_, r[j] = w.ols.line()
		if j == 1 && !w.known() {
			break
		}
		accept := true
		for i := 1; i < j; i++ {
			if !f.wins[i].known() || math.Abs(r[j]-r[i]) > fillLepski*math.Sqrt(f.wins[i].v) {
				accept = false
				break
			}
		}
		if !accept {
			break
		}
		b, ok = r[j], true
	}
	if !ok {
		return 0, false
	}
	if _, r0 := f.wins[0].ols.line(); f.wins[0].ols.n >= 2 && r0 < b/2 {
		b = max(r0, 0)
	}
	return b, true
}

// slope is b, the trend per step: the ICI choice, or the longest window's slope while no noise is known.
func (f *Fill) slope() float64 {
	if b, ok := f.trend(); ok {
		return b
	}
	_, b := f.wins[len(f.wins)-1].ols.line()
	if f.wins[len(f.wins)-1].ols.n < 2 {
		return 0
	}
	return b
}

func (f *Fill) sigma() float64 { return 1.2533 * f.incMean }

// level is ℓ: the recent window's fitted value at the newest step, in the units of y.
func (f *Fill) level() float64 {
	a, _ := f.wins[0].ols.line()
	return a + f.comp
}

func (f *Fill) step(idx int64, y float64) {
	b := f.slope()
	dev := y - f.lastY - b
	// The floor keeps the float32 rounding of the history (a relative 6·10⁻⁸) and exactly constant series from
	// making abrupt increments.
	thr := max(fillAbrupt*f.sigma(), 1e-6*max(math.Abs(y), f.cfg.MinShift), 1e-12)
	abrupt := f.incN >= fillNoiseWarm && math.Abs(dev) > thr
	sign := 1
	if dev < 0 {
		sign = -1
	}
	f.incN++
	ad := math.Abs(dev)
	if f.incN > fillNoiseWarm {
		ad = min(ad, thr)
	}
	f.incMean += (ad - f.incMean) / min(float64(f.incN), f.noiseMemory)

	if f.runLen > 0 && abrupt && sign != f.runSign {
		f.endRun()
	}
	if f.runLen == 0 && abrupt {
		f.runSign, f.runB, f.runBase, f.runY0, f.runComp, f.runLevel = sign, b, f.hist.back(0), f.lastY, f.comp, f.level()
		f.runMean, f.runPeak = dev, math.Abs(dev)
	}
	f.lastIdx, f.lastY = idx, y
	if f.runLen == 0 && !abrupt {
		f.add(y - f.comp)
		return
	}
	// Inside a run: hold the trend models on the extrapolation until the run is classified.
	f.runLen++
	f.runBuf = append(f.runBuf, y)
	if f.runLen > 1 {
		f.runMean += (dev - f.runMean) / float64(f.quiet)
		f.runPeak = max(f.runPeak, float64(f.runSign)*f.runMean)
	}
	hold := f.runBase + f.runB*float64(f.runLen)
	f.comp = y - hold
	f.add(hold)
	switch {
	case f.runLen > f.maxRun:
		f.changeTrend()
	case float64(f.runSign)*f.runMean < max(fillRunZ*f.sigma(), fillRunDecay*f.runPeak):
		f.endRun()
	}
}

// endRun classifies a finished run: a step (kept compensated, and remembered when it is a cleanup) or noise
// (its values are put back into the trend).
func (f *Fill) endRun() {
	if f.runLen == 0 {
		return
	}
	size := f.lastY - f.runY0 - f.runB*float64(f.runLen)
	if math.Abs(size) >= f.cfg.MinShift && size != 0 {
		if -size >= f.cfg.MinCycleDrop {
			f.remember(f.lastIdx, f.runLevel)
		}
	} else {
		f.rewrite()
	}
	f.runLen, f.runMean, f.runSign = 0, 0, 0
	f.runBuf = f.runBuf[:0]
}

// changeTrend handles a run longer than MaxShiftDuration: its raw values go back into the history and the trend
// windows restart at the step before it.
func (f *Fill) changeTrend() {
	n := f.runLen
	f.rewrite()
	if f.runSign < 0 && f.runY0-f.lastY >= f.cfg.MinCycleDrop {
		f.remember(f.lastIdx, f.runLevel) // a slow deletion
	}
	for i := range f.wins {
		f.wins[i].restart(&f.hist, n+1)
	}
	f.runLen, f.runMean, f.runSign = 0, 0, 0
	f.runBuf = f.runBuf[:0]
}

// rewrite replaces the held values of the run by its values compensated as before the run, and recomputes the
// windows.
func (f *Fill) rewrite() {
	n := len(f.runBuf)
	for j, y := range f.runBuf {
		f.hist.setBack(n-1-j, y-f.runComp)
	}
	f.comp = f.runComp
	for i := range f.wins {
		f.wins[i].ols.recompute(&f.hist)
	}
}

// setBack overwrites the value i steps before the newest (i < r.n).
func (r *ring) setBack(i int, v float64) {
	j := r.head - 1 - i
	if j < 0 {
		j += len(r.buf)
	}
	r.buf[j] = float32(v)
}

// remember records a cleanup ending at the newest step and updates ν, the Theil–Sen slope of the levels before the
// remembered drops.
func (f *Fill) remember(idx int64, peak float64) {
	f.drops[f.dropPos] = fillDrop{idx: idx, peak: peak, comp: f.hist.back(0)}
	f.dropPos = (f.dropPos + 1) % fillDrops
	f.nDrops = min(f.nDrops+1, fillDrops)
	f.peakSlope = 0
	if f.nDrops < fillSlopeDrops {
		return
	}
	m := 0
	for i := range f.nDrops {
		for j := i + 1; j < f.nDrops; j++ {
			a, b := f.drop(i), f.drop(j)
			if a.idx != b.idx {
				f.scratch[m] = (a.peak - b.peak) / float64(a.idx-b.idx)
				m++
			}
		}
	}
	if m > 0 {
		f.peakSlope = median(f.scratch[:m])
	}
}

// drop returns the remembered cleanup i places before the newest (0: the newest).
func (f *Fill) drop(i int) fillDrop {
	return f.drops[(f.dropPos-1-i+2*fillDrops)%fillDrops]
}

// Rate returns the trend r in units per second, and false before the recent window is filled or during a run of
// abrupt decreases.
func (f *Fill) Rate() (float64, bool) {
	r, ok := f.rate()
	return r / f.cfg.Step.Seconds(), ok
}

func (f *Fill) rate() (float64, bool) {
	if !f.ready() || f.runLen > 0 && f.runSign < 0 {
		return 0, false
	}
	return f.slope(), true
}

func (f *Fill) ready() bool { return f.has && f.steps >= int64(f.recent) }

// SecondsUntil returns the time, in seconds after the start of the newest pushed step, at which the trend reaches
// threshold (see Fill): 0 when the current level is at or above it, +Inf when it is not reached. It is false before
// RecentWindow has been seen since the start or the last reset. O(1).
func (f *Fill) SecondsUntil(threshold float64) (float64, bool) {
	if !f.ready() {
		return 0, false
	}
	l := f.level()
	if l >= threshold {
		return 0, true
	}
	stepSec := f.cfg.Step.Seconds()
	if f.nDrops >= 2 {
		newest := f.drop(0)
		var period int64
		var amp float64
		for i := range min(fillCycles, f.nDrops-1) {
			a, b := f.drop(i), f.drop(i+1)
			period = max(period, a.idx-b.idx)
			amp = max(amp, a.comp-b.comp)
		}
		since := f.lastIdx - newest.idx
		g := f.hist.back(0) - newest.comp
		overdue := float64(since) > 1.25*float64(period)+float64(time.Hour/f.cfg.Step) ||
			g > 1.25*amp+max(3*f.sigma(), f.cfg.MinShift)
		if !overdue {
			if p := l + max(amp-g, 0); p < threshold {
				if f.peakSlope > 0 {
					return (threshold - p) / f.peakSlope * stepSec, true
				}
				return math.Inf(1), true
			}
		}
	}
	r, ok := f.rate()
	if !ok || !(r > 0) {
		return math.Inf(1), true
	}
	return (threshold - l) / r * stepSec, true
}

// Rescale multiplies everything the estimator holds in the units of the values by factor (> 0, finite), for a
// resize of the filesystem: with used bytes unchanged the usage ratio becomes ratio·oldSize/newSize, and so do its
// trend, steps and remembered cleanups, so the trend in bytes goes on without a step. It returns false, changing
// nothing, for an invalid factor.
func (f *Fill) Rescale(factor float64) bool {
	if !(factor > 0) || math.IsInf(factor, 1) {
		return false
	}
	for i := range f.hist.n {
		f.hist.setBack(i, f.hist.back(i)*factor)
	}
	f.lastY *= factor
	f.comp *= factor
	f.incMean *= factor
	f.runB *= factor
	f.runBase *= factor
	f.runY0 *= factor
	f.runComp *= factor
	f.runLevel *= factor
	for i := range f.runBuf {
		f.runBuf[i] *= factor
	}
	for i := range f.wins {
		w := &f.wins[i]
		for j := range w.past {
			w.past[j] *= float32(factor)
		}
		w.v *= factor * factor
		w.ols.recompute(&f.hist)
	}
	for i := range f.drops {
		f.drops[i].peak *= factor
		f.drops[i].comp *= factor
	}
	f.peakSlope *= factor
	return true
}
