package forecast

import (
	"math"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

const (
	daySeconds  = 86400
	weekSeconds = 7 * daySeconds
	// dailyHarmonics is K in the daily Fourier basis cos/sin(2πk·t/1d), k = 1..K.
	dailyHarmonics = 3
	// weeklyHarmonics are added when History >= weeklyMinHistory: with less than two weeks a weekly term cannot be
	// told apart from a level shift, so the default 8-day history learns the daily cycle only.
	weeklyHarmonics  = 2
	weeklyMinHistory = 14 * daySeconds
	maxHarmonicDim   = 1 + 2*dailyHarmonics + 2*weeklyHarmonics
	// harmonicRefitEvery is how many steps pass between two solutions of the normal equations.
	harmonicRefitEvery = 32
	// harmonicMinStepsPerDay disables the seasonal term when a day has fewer steps (the cycle would alias).
	harmonicMinStepsPerDay = 16
)

// harmonic is a Fourier regression on wall time for the daily (and, with a long history, weekly) cycle:
//
//	y(t) ≈ c₀ + Σ_k a_k·cos(2πk·t/1d) + b_k·sin(2πk·t/1d)  [+ weekly terms]
//
// with t the Unix time (so the phase comes from wall time, not from the step index). The normal equations
// A = Σ ρ^age·x·xᵀ and r = Σ ρ^age·x·y are updated in O(p²) per step with forgetting ρ = 1 − 1/(History/2 in steps),
// and solved (Cholesky with gonum, small ridge) every harmonicRefitEvery steps. Only the seasonal part s(t) (without c₀)
// is used: two levels L ← L + α·(y − s(t) − L) of the deseasonalised series follow level shifts, and the models
// forecast L + s(t + j·Step). The seasonal term is switched on only after a full day of data.
type harmonic struct {
	p        int
	rho      float64
	a        [maxHarmonicDim * maxHarmonicDim]float64 // upper triangle used
	r        [maxHarmonicDim]float64
	coef     [maxHarmonicDim]float64
	fitted   bool
	sinceFit int
	steps    int64 // steps fitted since reset
	minSteps int64 // steps needed before the seasonal term is used
	enabled  bool  // the step is short enough for the cycle
	stepNs   int64

	// Workspace of the solve: gonum/mat storage, factorised in place by gonum's LAPACK (Potrf/Potrs) because
	// mat.Cholesky draws its workspace from a sync.Pool, which allocates now and then.
	sym *mat.SymDense
	xv  *mat.VecDense
}

func newHarmonic(stepNs int64, historySteps int) harmonic {
	p := 1 + 2*dailyHarmonics
	if float64(historySteps)*float64(stepNs)/1e9 >= weeklyMinHistory {
		p += 2 * weeklyHarmonics
	}
	stepsPerDay := float64(daySeconds) * 1e9 / float64(stepNs)
	h := harmonic{
		p:        p,
		rho:      1 - 2/float64(historySteps),
		minSteps: int64(math.Ceil(stepsPerDay)),
		enabled:  stepsPerDay >= harmonicMinStepsPerDay,
		stepNs:   stepNs,
		sym:      mat.NewSymDense(p, nil),
		xv:       mat.NewVecDense(p, nil),
	}
	if p > 1+2*dailyHarmonics {
		h.minSteps = int64(math.Ceil(2 * 7 * stepsPerDay))
	}
	return h
}

func (h *harmonic) reset() {
	clear(h.a[:])
	clear(h.r[:])
	clear(h.coef[:])
	h.fitted, h.sinceFit, h.steps = false, 0, 0
}

// features fills x with the regressors at step idx.
func (h *harmonic) features(idx int64, x *[maxHarmonicDim]float64) {
	x[0] = 1
	dayNs := int64(daySeconds) * 1e9
	ns := idx * h.stepNs
	dayPhase := 2 * math.Pi * float64(((ns%dayNs)+dayNs)%dayNs) / float64(dayNs)
	for k := 1; k <= dailyHarmonics; k++ {
		s, c := math.Sincos(float64(k) * dayPhase)
		x[2*k-1], x[2*k] = c, s
	}
	if h.p > 1+2*dailyHarmonics {
		weekNs := int64(weekSeconds) * 1e9
		weekPhase := 2 * math.Pi * float64(((ns%weekNs)+weekNs)%weekNs) / float64(weekNs)
		for k := 1; k <= weeklyHarmonics; k++ {
			s, c := math.Sincos(float64(k) * weekPhase)
			x[2*dailyHarmonics+2*k-1], x[2*dailyHarmonics+2*k] = c, s
		}
	}
}

// seasonal is s(t) at step idx: the fitted cycle without the intercept, 0 until the cycle is trusted.
func (h *harmonic) seasonal(idx int64) float64 {
	if !h.active() {
		return 0
	}
	var x [maxHarmonicDim]float64
	h.features(idx, &x)
	s := 0.0
	for i := 1; i < h.p; i++ {
		s += h.coef[i] * x[i]
	}
	return s
}

func (h *harmonic) active() bool { return h.enabled && h.fitted && h.steps >= h.minSteps }

// update adds the observation y at step idx to the normal equations and refits when due.
func (h *harmonic) update(idx int64, y float64) {
	if !h.enabled {
		return
	}
	var x [maxHarmonicDim]float64
	h.features(idx, &x)
	p := h.p
	for i := range p {
		h.r[i] = h.rho*h.r[i] + x[i]*y
		row := h.a[i*maxHarmonicDim:]
		for j := i; j < p; j++ {
			row[j] = h.rho*row[j] + x[i]*x[j]
		}
	}
	h.steps++
	h.sinceFit++
	if h.sinceFit >= harmonicRefitEvery {
		h.refit()
	}
}

// refit solves (A + εI)·c = r by Cholesky with a ridge ε = 10⁻⁶·trace(A)/p that keeps A positive definite before
// the cycle has been observed in full; on failure the previous coefficients stay. Allocation-free.
func (h *harmonic) refit() {
	h.sinceFit = 0
	p := h.p
	tr := 0.0
	for i := range p {
		tr += h.a[i*maxHarmonicDim+i]
	}
	if !(tr > 0) || math.IsInf(tr, 0) {
		return
	}
	eps := 1e-6*tr/float64(p) + 1e-300
	for i := range p {
		for j := i; j < p; j++ {
			v := h.a[i*maxHarmonicDim+j]
			if i == j {
				v += eps
			}
			h.sym.SetSym(i, j, v)
		}
		h.xv.SetVec(i, h.r[i])
	}
	t, ok := lapack64.Potrf(h.sym.RawSymmetric())
	if !ok {
		return
	}
	x := h.xv.RawVector()
	lapack64.Potrs(t, blas64.General{Rows: p, Cols: 1, Stride: 1, Data: x.Data[:p]})
	for i := range p {
		if v := x.Data[i]; math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
	}
	copy(h.coef[:p], x.Data[:p])
	h.fitted = true
}

// seasonIter yields s(t) for consecutive steps without trigonometry per step: each harmonic's (cos, sin) is rotated
// by its per-step angle (one complex multiplication; the rounding drift over a day of steps is ~1e-13).
type seasonIter struct {
	h      *harmonic
	active bool
	c, s   [maxHarmonicDim]float64 // current cos/sin per regressor pair
	rc, rs [maxHarmonicDim]float64 // rotation per step
}

// start positions the iterator at step idx.
func (it *seasonIter) start(h *harmonic, idx int64) {
	it.h, it.active = h, h.active()
	if !it.active {
		return
	}
	var x [maxHarmonicDim]float64
	h.features(idx, &x)
	stepSec := float64(h.stepNs) / 1e9
	for i := 1; i+1 < h.p; i += 2 {
		it.c[i], it.s[i] = x[i], x[i+1]
		period := float64(daySeconds)
		k := float64((i + 1) / 2)
		if i > 2*dailyHarmonics {
			period, k = weekSeconds, float64((i-2*dailyHarmonics+1)/2)
		}
		it.rs[i], it.rc[i] = math.Sincos(2 * math.Pi * k * math.Mod(stepSec, period) / period)
	}
}

// value is s at the current step.
func (it *seasonIter) value() float64 {
	if !it.active {
		return 0
	}
	v := 0.0
	for i := 1; i+1 < it.h.p; i += 2 {
		v += it.h.coef[i]*it.c[i] + it.h.coef[i+1]*it.s[i]
	}
	return v
}

// next advances one step.
func (it *seasonIter) next() {
	if !it.active {
		return
	}
	for i := 1; i+1 < it.h.p; i += 2 {
		it.c[i], it.s[i] = it.c[i]*it.rc[i]-it.s[i]*it.rs[i], it.s[i]*it.rc[i]+it.c[i]*it.rs[i]
	}
}
