package forecast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/servermon/servermon_exporter/internal/wire"
)

// State format (little endian, internal/wire), version 3:
//
//	"SMFS" | u16 version | u16 numModels | i64 step ns | head | history | bank | anomaly | combiners
//
// head, history and the rest are written and read by one method each, below. Integrity is the business of the file
// that holds the state (the exporter's state file carries a CRC-32C over everything): a decoder here rejects what
// is malformed or out of range, and checks every length against the remaining input before it allocates.
//
// Versions 1 and 2 ended in a CRC-32 (IEEE) of every byte before it; they are still read. Version 1 (written before
// the intervals were scaled locally) holds 128 anomaly errors instead of anomalyWindow, and its interval quantiles
// are in units of the old scale, max(MAE, long MAE) of the horizon; they are converted so that the published
// intervals are the same just after the load as just before the save (pending forecasts carry their own scale and
// quantiles, so they are scored consistently either way).
const (
	stateMagic   = "SMFS"
	stateVersion = 3
	// v1AnomalyWindow is the number of anomaly errors in a version 1 state.
	v1AnomalyWindow = 128
)

var (
	// ErrState is wrapped by every error UnmarshalBinary returns for malformed or incompatible state.
	ErrState = errors.New("invalid forecast state")
	// ErrStateStep is returned (wrapping ErrState) when the state was saved with a different Step.
	ErrStateStep = fmt.Errorf("%w: different step", ErrState)
	// ErrStateVersion is returned (wrapping ErrState) for a state of an unknown format version.
	ErrStateVersion = fmt.Errorf("%w: unsupported version", ErrState)
)

// MarshalBinary encodes the full state: history, model state, pending forecasts and error statistics.
func (s *Series) MarshalBinary() ([]byte, error) {
	w := &wire.Writer{B: make([]byte, 0, 64+4*s.hist.n+s.pendingBytes())}
	w.B = append(w.B, stateMagic...)
	w.U16(stateVersion)
	w.U16(numModels)
	w.I64(s.stepNs)
	s.encodeHead(w)
	s.encodeHistory(w)
	s.bank.encode(w)
	s.anom.encode(w)
	w.U16(uint16(1 + len(s.combs)))
	s.ref.encode(w)
	for i := range s.combs {
		s.combs[i].encode(w)
	}
	return w.B, nil
}

// pendingBytes bounds the encoded size of everything but the history, so MarshalBinary allocates once.
func (s *Series) pendingBytes() int {
	perComb := 4*rowLen + 8*(3*numModels+minScored+64)
	n := 4*len(s.ref.rows) + perComb
	for i := range s.combs {
		n += 4*len(s.combs[i].rows) + perComb
	}
	return n + 4*anomalyWindow + 8*(numModels+2*maxHarmonicDim+maxHarmonicDim*maxHarmonicDim+64)
}

// UnmarshalBinary replaces the state of s with b, produced by MarshalBinary of a series with the same Step. It
// never panics and leaves s unchanged on error. Differences in the rest of the config are tolerated: history
// older than History is dropped, horizons not in s's config are dropped and new ones start empty, and the
// harmonic fit restarts when the weekly terms are switched on or off by a different History.
func (s *Series) UnmarshalBinary(b []byte) error {
	version, body, err := openState(b, s.stepNs)
	if err != nil {
		return fmt.Errorf("unmarshal forecast state: %w", err)
	}
	t, err := NewSeries(s.cfg)
	if err != nil {
		return fmt.Errorf("unmarshal forecast state: %w", err)
	}
	r := wire.NewReader(body, ErrState)
	t.decodeHead(r)
	t.decodeHistory(r)
	t.bank.decode(r, &t.hist)
	t.anom.decode(r, version)
	t.decodeCombiners(r, version)
	r.End()
	if err := r.Err(); err != nil {
		return fmt.Errorf("unmarshal forecast state: %w", err)
	}
	if t.has && t.hist.n == 0 {
		return fmt.Errorf("unmarshal forecast state: %w: no history", ErrState)
	}
	*s = *t
	return nil
}

// openState checks the preamble of a state (magic, version, model count, step) and, for versions 1 and 2, its
// checksum, and returns the version and what follows the preamble.
func openState(b []byte, stepNs int64) (uint16, []byte, error) {
	const preamble = len(stateMagic) + 2 + 2 + 8
	if len(b) < preamble {
		return 0, nil, fmt.Errorf("%w: %d bytes is too short", ErrState, len(b))
	}
	if string(b[:len(stateMagic)]) != stateMagic {
		return 0, nil, fmt.Errorf("%w: bad magic", ErrState)
	}
	version := binary.LittleEndian.Uint16(b[4:])
	switch version {
	case 1, 2:
		if len(b) < preamble+4 {
			return 0, nil, fmt.Errorf("%w: %d bytes is too short", ErrState, len(b))
		}
		body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
		if crc32.ChecksumIEEE(body) != sum {
			return 0, nil, fmt.Errorf("%w: checksum mismatch", ErrState)
		}
		b = body
	case stateVersion:
	default:
		return 0, nil, fmt.Errorf("%w: version %d, want 1 to %d", ErrStateVersion, version, stateVersion)
	}
	if m := binary.LittleEndian.Uint16(b[6:]); m != numModels {
		return 0, nil, fmt.Errorf("%w: %d models, want %d", ErrStateVersion, m, numModels)
	}
	if st := int64(binary.LittleEndian.Uint64(b[8:])); st != stepNs {
		return 0, nil, fmt.Errorf("%w: state step %dns, series step %dns", ErrStateStep, st, stepNs)
	}
	return version, b[preamble:], nil
}

// encodeHead writes the series' own counters.
func (s *Series) encodeHead(w *wire.Writer) {
	w.Bool(s.has)
	w.I64(s.lastIdx)
	w.F64(s.lastV)
	w.I64(s.steps)
	w.I64(s.sinceShift)
}

func (s *Series) decodeHead(r *wire.Reader) {
	s.has = r.Bool("has")
	s.lastIdx = r.I64("last index")
	s.lastV = r.F64("last value", true)
	s.steps = r.I64("steps")
	s.sinceShift = r.I64("steps since shift")
	if r.Err() != nil {
		return
	}
	switch {
	case s.sinceShift < 0 || s.sinceShift > math.MaxInt32:
		r.Fail("steps since shift %d", s.sinceShift)
	case s.lastIdx > math.MaxInt64/s.stepNs || s.lastIdx < math.MinInt64/s.stepNs:
		r.Fail("last index %d out of range", s.lastIdx)
	case s.steps < 0 || !s.has && s.steps != 0:
		r.Fail("bad step count %d", s.steps)
	}
}

// encodeHistory writes the history held, oldest first, as float32.
func (s *Series) encodeHistory(w *wire.Writer) {
	w.U32(uint32(s.hist.n))
	for i := s.hist.n - 1; i >= 0; i-- {
		w.U32(math.Float32bits(float32(s.hist.back(i))))
	}
}

// decodeHistory reads the history, keeping the newest values that fit s's History.
func (s *Series) decodeHistory(r *wire.Reader) {
	n := r.Count("history length", MaxHistorySteps)
	if r.Err() == nil && n > r.Len()/4 {
		r.Fail("truncated history")
	}
	if r.Err() == nil && s.steps < int64(n) {
		r.Fail("history length %d exceeds step count %d", n, s.steps)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		v := math.Float32frombits(r.U32("history"))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			r.Fail("history value not finite")
			return
		}
		if n-i <= len(s.hist.buf) {
			s.hist.push(float64(v))
		}
	}
}

// encode writes the model bank: levels, medians, regressions and the harmonic fit.
func (b *bank) encode(w *wire.Writer) {
	w.Bool(b.started)
	w.F64(b.last)
	w.F64(b.clean)
	w.F64s(b.ewma[:])
	w.F64(b.holtL)
	w.F64(b.holtB)
	w.F64s(b.med[:])
	w.F64(b.medS)
	w.F64(b.seasCorr)
	w.Bool(b.seasOK)
	w.U32(uint32(b.since))
	w.F64s(b.hlev[:])
	w.I64(b.idx)
	for i := range b.ols {
		b.ols[i].encode(w)
	}
	b.harm.encode(w)
}

// decode reads the model bank; hist is the history already decoded, from which inconsistent regression sums are
// recomputed.
func (b *bank) decode(r *wire.Reader, hist *ring) {
	b.started = r.Bool("bank started")
	b.last = r.F64("bank last", true)
	b.clean = r.F64("bank clean", true)
	r.F64s(b.ewma[:], "ewma", true)
	b.holtL = r.F64("holt level", true)
	b.holtB = r.F64("holt trend", true)
	r.F64s(b.med[:], "median", false)
	b.medS = r.F64("median since shift", false)
	b.seasCorr = r.F64("seasonal correction", true)
	b.seasOK = r.Bool("seasonal ready") && b.period > 0
	b.since = r.Count("steps since shift", maxMedianWin)
	r.F64s(b.hlev[:], "harmonic level", true)
	b.idx = r.I64("bank index")
	for i := range b.ols {
		b.ols[i].decode(r, hist)
	}
	b.harm.decode(r)
}

func (o *olsWindow) encode(w *wire.Writer) {
	w.U32(uint32(o.n))
	w.U32(uint32(o.sinceFix))
	w.U32(uint32(o.avail))
	w.F64(o.sy)
	w.F64(o.sxy)
}

// decode reads a sliding regression's sums; sums that do not fit the window or the history are recomputed from
// hist, which is exact, rather than trusted.
func (o *olsWindow) decode(r *wire.Reader, hist *ring) {
	o.n = r.Count("ols n", MaxHistorySteps)
	o.sinceFix = r.Count("ols since fix", MaxHistorySteps)
	o.avail = r.Count("ols available", MaxHistorySteps)
	o.sy = r.F64("ols sy", true)
	o.sxy = r.F64("ols sxy", true)
	if o.avail > o.w || o.n > o.avail {
		o.avail = o.w
		o.recompute(hist)
	}
	if o.n > o.w || o.n > hist.n || o.sinceFix >= max(o.w, 1) {
		o.recompute(hist)
	}
}

func (h *harmonic) encode(w *wire.Writer) {
	w.U8(uint8(h.p))
	w.Bool(h.fitted)
	w.U32(uint32(h.sinceFit))
	w.I64(h.steps)
	for i := range h.p {
		w.F64s(h.a[i*maxHarmonicDim+i : i*maxHarmonicDim+h.p])
	}
	w.F64s(h.r[:h.p])
	w.F64s(h.coef[:h.p])
}

// decode reads the harmonic fit. A fit of another dimension (the weekly terms switched on or off by another
// History) is read past and dropped: the fit restarts.
func (h *harmonic) decode(r *wire.Reader) {
	p := int(r.U8("harmonic dimension"))
	if r.Err() == nil && p != 1+2*dailyHarmonics && p != 1+2*dailyHarmonics+2*weeklyHarmonics {
		r.Fail("harmonic dimension %d", p)
	}
	fitted := r.Bool("harmonic fitted")
	sinceFit := r.Count("harmonic since fit", harmonicRefitEvery)
	steps := r.I64("harmonic steps")
	if r.Err() != nil {
		return
	}
	var a [maxHarmonicDim * maxHarmonicDim]float64
	var rhs, coef [maxHarmonicDim]float64
	for i := range p {
		r.F64s(a[i*maxHarmonicDim+i:i*maxHarmonicDim+p], "harmonic normal matrix", true)
	}
	r.F64s(rhs[:p], "harmonic rhs", true)
	r.F64s(coef[:p], "harmonic coefficients", true)
	if r.Err() == nil && p == h.p && steps >= 0 {
		h.a, h.r, h.coef, h.fitted, h.sinceFit, h.steps = a, rhs, coef, fitted, sinceFit, steps
	}
}

func (a *anomalyState) encode(w *wire.Writer) {
	w.F32s(a.errs[:])
	w.U32(uint32(a.n))
	w.U32(uint32(a.pos))
	w.F64(a.newest)
	w.F64(a.newestRef)
	w.Bool(a.hasNewest)
	w.F64(a.scale)
	w.I64(a.scaleN)
	w.U32(uint32(a.strikes))
	w.I64(int64(a.strikeSign))
}

func (a *anomalyState) decode(r *wire.Reader, version uint16) {
	if version == 1 {
		a.decodeV1Errors(r)
	} else {
		r.F32s(a.errs[:], "anomaly errors", true)
		a.n = r.Count("anomaly count", anomalyWindow)
		a.pos = r.Count("anomaly position", anomalyWindow-1)
	}
	a.newest = r.F64("anomaly newest", true)
	a.newestRef = r.F64("anomaly reference", true)
	a.hasNewest = r.Bool("anomaly has newest")
	a.scale = r.F64("anomaly scale", true)
	a.scaleN = r.I64("anomaly scale count")
	a.strikes = r.Count("anomaly strikes", maxStrikes)
	a.strikeSign = int(r.I64("anomaly strike sign"))
	if r.Err() == nil && (a.scale < 0 || a.scaleN < 0 || a.strikeSign < -1 || a.strikeSign > 1) {
		r.Fail("bad anomaly state")
	}
}

// decodeV1Errors reads the 128 anomaly errors of a version 1 state into the first slots of a's ring, oldest first.
func (a *anomalyState) decodeV1Errors(r *wire.Reader) {
	var errs [v1AnomalyWindow]float32
	r.F32s(errs[:], "anomaly errors", true)
	n := r.Count("anomaly count", v1AnomalyWindow)
	pos := r.Count("anomaly position", v1AnomalyWindow-1)
	start := 0
	if n == v1AnomalyWindow {
		start = pos
	}
	for i := range n {
		a.errs[i] = errs[(start+i)%v1AnomalyWindow]
	}
	a.n, a.pos = n, n%anomalyWindow
}

// decodeCombiners reads the reference combiner and one per saved horizon. Horizons s is not configured with are
// read past and dropped; configured ones the state lacks start empty.
func (s *Series) decodeCombiners(r *wire.Reader, version uint16) {
	nc := int(r.U16("combiner count"))
	gotRef := false
	for range nc {
		if r.Err() != nil {
			return
		}
		k := r.Count("combiner horizon", MaxHorizonSteps)
		robust := r.Bool("combiner robust")
		if r.Err() == nil && k < 1 {
			r.Fail("combiner horizon %d", k)
		}
		var dst *combiner
		switch {
		case robust && k == 1:
			dst, gotRef = &s.ref, true
		case !robust:
			for i := range s.combs {
				if s.combs[i].k == k {
					dst = &s.combs[i]
				}
			}
		default:
			r.Fail("robust combiner with horizon %d", k)
		}
		decodeCombiner(r, version, k, dst)
		if version == 1 && dst != nil && r.Err() == nil {
			dst.convertV1(s.anom.scale)
		}
	}
	if r.Err() == nil && !gotRef {
		r.Fail("no reference combiner")
	}
}

func (c *combiner) encode(w *wire.Writer) {
	w.U32(uint32(c.k))
	w.Bool(c.robust)
	w.F64s(c.mae[:])
	w.F64s(c.maeS[:])
	w.I64(c.scoredS)
	w.I64(c.shifts)
	w.I64(c.scored)
	w.F64(c.maeComb)
	w.F64(c.maeLong)
	w.F64(c.maeNaive)
	w.F64(c.oneStep)
	w.F64(c.maeRaw)
	w.F64(c.maeGNaive)
	w.F64(c.qLo)
	w.F64(c.qHi)
	w.Bool(c.qInit)
	w.F64s(c.initErr[:])
	w.U32(uint32(c.pos))
	w.F32s(c.rows)
	w.F64s(c.w[:])
	w.F64(c.theta)
	w.F64(c.cur.Point)
	w.F64(c.cur.Lower)
	w.F64(c.cur.Upper)
	w.F64(c.upWidth)
	w.Bool(c.hasBounds)
}

// decodeCombiner reads one combiner of horizon k into dst, or reads past it when dst is nil. dst changes only
// when the whole combiner is valid.
func decodeCombiner(r *wire.Reader, version uint16, k int, dst *combiner) {
	var c combiner
	var rows []float32
	if dst != nil {
		c, rows = *dst, dst.rows
	}
	r.F64s(c.mae[:], "model MAE", true)
	r.F64s(c.maeS[:], "post-shift model MAE", true)
	c.scoredS = r.I64("post-shift scored")
	c.shifts = r.I64("shifts")
	c.scored = r.I64("scored")
	c.maeComb = r.F64("combined MAE", true)
	c.maeLong = r.F64("long combined MAE", true)
	c.maeNaive = r.F64("naive MAE", true)
	if version >= 2 {
		c.oneStep = r.F64("one-step MAE", true)
	}
	c.maeRaw = r.F64("guard MAE", true)
	c.maeGNaive = r.F64("guard naive MAE", true)
	c.qLo = r.F64("lower quantile", true)
	c.qHi = r.F64("upper quantile", true)
	c.qInit = r.Bool("quantiles initialised")
	r.F64s(c.initErr[:], "initial errors", true)
	c.pos = r.Count("pending position", k-1)
	if rows != nil {
		r.F32s(rows, "pending forecasts", false)
	} else {
		r.Take(4*k*rowLen, "pending forecasts")
	}
	r.F64s(c.w[:], "weights", true)
	c.theta = r.F64("guard", true)
	c.cur.Point = r.F64("point", false)
	c.cur.Lower = r.F64("lower", false)
	c.cur.Upper = r.F64("upper", false)
	c.upWidth = r.F64("upper width", false)
	c.hasBounds = r.Bool("has bounds")
	if r.Err() != nil {
		return
	}
	switch {
	case c.scored < 0 || c.scoredS < 0 || c.shifts < 0:
		r.Fail("negative scored count")
	case c.oneStep < 0:
		r.Fail("negative one-step MAE")
	case c.qInit != (c.scored >= minScored):
		r.Fail("quantiles initialised %v after %d scored forecasts", c.qInit, c.scored)
	}
	for _, m := range c.mae {
		if m < 0 {
			r.Fail("negative model MAE")
		}
	}
	if r.Err() != nil || dst == nil {
		return
	}
	c.rows = rows
	*dst = c
}

// convertV1 completes a combiner read from a version 1 state: the local scale starts at scale (the clipped mean
// |one-step error| of the anomaly state, the closest statistic version 1 kept), and the quantiles, in units of
// max(MAE, long MAE, floor) at the time of the save, are rescaled to the new scale so the current interval keeps
// its width.
func (c *combiner) convertV1(scale float64) {
	c.oneStep = scale
	if !c.qInit || math.IsNaN(c.cur.Point) {
		return
	}
	old := max(c.maeComb, c.maeLong, 1e-9*max(1, math.Abs(c.cur.Point)))
	f := old / c.scale(c.cur.Point)
	if f > 0 && !math.IsInf(f, 0) {
		c.qLo, c.qHi = c.qLo*f, c.qHi*f
	}
}
