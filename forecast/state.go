package forecast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// State format (little endian), version 2:
//
//	"SMFS" | u16 version | u16 numModels | i64 step ns | series | history | bank | anomaly | combiners | u32 CRC-32
//
// The CRC (IEEE) covers every byte before it, so truncation and bit flips anywhere are rejected. All lengths are
// bounds-checked against the remaining input before anything is allocated.
//
// Version 1 (written before the intervals were scaled locally) is still read: it holds 128 anomaly errors instead
// of anomalyWindow, and its interval quantiles are in units of the old scale, max(MAE, long MAE) of the horizon;
// they are converted so that the published intervals are the same just after the load as just before the save
// (pending forecasts carry their own scale and quantiles, so they are scored consistently either way).
const (
	stateMagic   = "SMFS"
	stateVersion = 2
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

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)    { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16)  { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32)  { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) i64(v int64)   { e.b = binary.LittleEndian.AppendUint64(e.b, uint64(v)) }
func (e *encoder) f64(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}
func (e *encoder) f64s(v []float64) {
	for _, x := range v {
		e.f64(x)
	}
}
func (e *encoder) f32s(v []float32) {
	for _, x := range v {
		e.u32(math.Float32bits(x))
	}
}

// decoder reads with a sticky error; after an error every read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrState, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("truncated reading %s", what)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8(what string) uint8 {
	if b := d.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if b := d.take(2, what); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if b := d.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) i64(what string) int64 {
	if b := d.take(8, what); b != nil {
		return int64(binary.LittleEndian.Uint64(b))
	}
	return 0
}

func (d *decoder) bool(what string) bool {
	switch v := d.u8(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("%s: bad boolean %d", what, v)
		return false
	}
}

// f64 reads a float; finite=true rejects NaN and ±Inf.
func (d *decoder) f64(what string, finite bool) float64 {
	b := d.take(8, what)
	if b == nil {
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(b))
	if finite && (math.IsNaN(v) || math.IsInf(v, 0)) {
		d.fail("%s: not finite", what)
		return 0
	}
	return v
}

func (d *decoder) f64s(dst []float64, what string, finite bool) {
	for i := range dst {
		dst[i] = d.f64(what, finite)
	}
}

func (d *decoder) f32s(dst []float32, what string, finite bool) {
	if d.err != nil {
		return
	}
	if len(dst) > len(d.b)/4 {
		d.fail("truncated reading %s", what)
		return
	}
	for i := range dst {
		v := math.Float32frombits(d.u32(what))
		if finite && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
			d.fail("%s: not finite", what)
			return
		}
		dst[i] = v
	}
}

// count reads a length that must be in [0, max].
func (d *decoder) count(what string, maxN int) int {
	v := d.u32(what)
	if d.err == nil && int64(v) > int64(maxN) {
		d.fail("%s %d exceeds %d", what, v, maxN)
		return 0
	}
	return int(v)
}

// MarshalBinary encodes the full state: history, model state, pending forecasts and error statistics.
func (s *Series) MarshalBinary() ([]byte, error) {
	e := &encoder{b: make([]byte, 0, 64+4*s.hist.n+s.pendingBytes())}
	e.b = append(e.b, stateMagic...)
	e.u16(stateVersion)
	e.u16(numModels)
	e.i64(s.stepNs)
	e.bool(s.has)
	e.i64(s.lastIdx)
	e.f64(s.lastV)
	e.i64(s.steps)
	e.i64(s.sinceShift)

	e.u32(uint32(s.hist.n))
	for i := s.hist.n - 1; i >= 0; i-- {
		e.u32(math.Float32bits(float32(s.hist.back(i))))
	}

	b := &s.bank
	e.bool(b.started)
	e.f64(b.last)
	e.f64(b.clean)
	e.f64s(b.ewma[:])
	e.f64(b.holtL)
	e.f64(b.holtB)
	e.f64s(b.med[:])
	e.f64(b.medS)
	e.f64(b.seasCorr)
	e.bool(b.seasOK)
	e.u32(uint32(b.since))
	e.f64s(b.hlev[:])
	e.i64(b.idx)
	for i := range b.ols {
		o := &b.ols[i]
		e.u32(uint32(o.n))
		e.u32(uint32(o.sinceFix))
		e.u32(uint32(o.avail))
		e.f64(o.sy)
		e.f64(o.sxy)
	}
	h := &b.harm
	e.u8(uint8(h.p))
	e.bool(h.fitted)
	e.u32(uint32(h.sinceFit))
	e.i64(h.steps)
	for i := range h.p {
		e.f64s(h.a[i*maxHarmonicDim+i : i*maxHarmonicDim+h.p])
	}
	e.f64s(h.r[:h.p])
	e.f64s(h.coef[:h.p])

	a := &s.anom
	e.f32s(a.errs[:])
	e.u32(uint32(a.n))
	e.u32(uint32(a.pos))
	e.f64(a.newest)
	e.f64(a.newestRef)
	e.bool(a.hasNewest)
	e.f64(a.scale)
	e.i64(a.scaleN)
	e.u32(uint32(a.strikes))
	e.i64(int64(a.strikeSign))

	e.u16(uint16(1 + len(s.combs)))
	encodeCombiner(e, &s.ref)
	for i := range s.combs {
		encodeCombiner(e, &s.combs[i])
	}
	e.u32(crc32.ChecksumIEEE(e.b))
	return e.b, nil
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

func encodeCombiner(e *encoder, c *combiner) {
	e.u32(uint32(c.k))
	e.bool(c.robust)
	e.f64s(c.mae[:])
	e.f64s(c.maeS[:])
	e.i64(c.scoredS)
	e.i64(c.shifts)
	e.i64(c.scored)
	e.f64(c.maeComb)
	e.f64(c.maeLong)
	e.f64(c.maeNaive)
	e.f64(c.oneStep)
	e.f64(c.maeRaw)
	e.f64(c.maeGNaive)
	e.f64(c.qLo)
	e.f64(c.qHi)
	e.bool(c.qInit)
	e.f64s(c.initErr[:])
	e.u32(uint32(c.pos))
	e.f32s(c.rows)
	e.f64s(c.w[:])
	e.f64(c.theta)
	e.f64(c.cur.Point)
	e.f64(c.cur.Lower)
	e.f64(c.cur.Upper)
	e.f64(c.upWidth)
	e.bool(c.hasBounds)
}

// UnmarshalBinary replaces the state of s with b, produced by MarshalBinary of a series with the same Step. It
// never panics and leaves s unchanged on error. Differences in the rest of the config are tolerated: history
// older than History is dropped, horizons not in s's config are dropped and new ones start empty, and the
// harmonic fit restarts when the weekly terms are switched on or off by a different History.
func (s *Series) UnmarshalBinary(b []byte) error {
	if len(b) < len(stateMagic)+2+4 {
		return fmt.Errorf("%w: %d bytes is too short", ErrState, len(b))
	}
	if string(b[:len(stateMagic)]) != stateMagic {
		return fmt.Errorf("%w: bad magic", ErrState)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrState)
	}
	d := &decoder{b: body[len(stateMagic):]}
	version := d.u16("version")
	if version != stateVersion && version != 1 {
		return fmt.Errorf("%w: version %d, want 1 or %d", ErrStateVersion, version, stateVersion)
	}
	if m := d.u16("model count"); m != numModels {
		return fmt.Errorf("%w: %d models, want %d", ErrStateVersion, m, numModels)
	}
	if st := d.i64("step"); st != s.stepNs {
		return fmt.Errorf("%w: state step %dns, series step %dns", ErrStateStep, st, s.stepNs)
	}
	t, err := NewSeries(s.cfg)
	if err != nil {
		return fmt.Errorf("unmarshal forecast state: %w", err)
	}
	t.has = d.bool("has")
	t.lastIdx = d.i64("last index")
	t.lastV = d.f64("last value", true)
	t.steps = d.i64("steps")
	t.sinceShift = d.i64("steps since shift")
	if d.err == nil && (t.sinceShift < 0 || t.sinceShift > math.MaxInt32) {
		d.fail("steps since shift %d", t.sinceShift)
	}
	if d.err == nil && (t.lastIdx > math.MaxInt64/t.stepNs || t.lastIdx < math.MinInt64/t.stepNs) {
		d.fail("last index %d out of range", t.lastIdx)
	}
	if d.err == nil && (t.steps < 0 || !t.has && t.steps != 0) {
		d.fail("bad step count %d", t.steps)
	}

	n := d.count("history length", MaxHistorySteps)
	if d.err == nil && n > len(d.b)/4 {
		d.fail("truncated history")
	}
	if d.err == nil && t.steps < int64(n) {
		d.fail("history length %d exceeds step count %d", n, t.steps)
	}
	for i := 0; i < n && d.err == nil; i++ {
		v := math.Float32frombits(d.u32("history"))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			d.fail("history value not finite")
			break
		}
		if n-i <= len(t.hist.buf) {
			t.hist.push(float64(v))
		}
	}

	bk := &t.bank
	bk.started = d.bool("bank started")
	bk.last = d.f64("bank last", true)
	bk.clean = d.f64("bank clean", true)
	d.f64s(bk.ewma[:], "ewma", true)
	bk.holtL = d.f64("holt level", true)
	bk.holtB = d.f64("holt trend", true)
	d.f64s(bk.med[:], "median", false)
	bk.medS = d.f64("median since shift", false)
	bk.seasCorr = d.f64("seasonal correction", true)
	bk.seasOK = d.bool("seasonal ready") && bk.period > 0
	bk.since = d.count("steps since shift", maxMedianWin)
	d.f64s(bk.hlev[:], "harmonic level", true)
	bk.idx = d.i64("bank index")
	for i := range bk.ols {
		o := &bk.ols[i]
		o.n = d.count("ols n", MaxHistorySteps)
		o.sinceFix = d.count("ols since fix", MaxHistorySteps)
		o.avail = d.count("ols available", MaxHistorySteps)
		o.sy = d.f64("ols sy", true)
		o.sxy = d.f64("ols sxy", true)
		if o.avail > o.w || o.n > o.avail {
			o.avail = o.w
			o.recompute(&t.hist)
		}
		if o.n > o.w || o.n > t.hist.n || o.sinceFix >= max(o.w, 1) {
			o.recompute(&t.hist)
		}
	}
	h := &bk.harm
	p := int(d.u8("harmonic dimension"))
	if d.err == nil && p != 1+2*dailyHarmonics && p != 1+2*dailyHarmonics+2*weeklyHarmonics {
		d.fail("harmonic dimension %d", p)
	}
	fitted := d.bool("harmonic fitted")
	sinceFit := d.count("harmonic since fit", harmonicRefitEvery)
	steps := d.i64("harmonic steps")
	var am [maxHarmonicDim * maxHarmonicDim]float64
	var rv, coef [maxHarmonicDim]float64
	if d.err == nil {
		for i := range p {
			d.f64s(am[i*maxHarmonicDim+i:i*maxHarmonicDim+p], "harmonic normal matrix", true)
		}
		d.f64s(rv[:p], "harmonic rhs", true)
		d.f64s(coef[:p], "harmonic coefficients", true)
	}
	if d.err == nil && p == h.p && steps >= 0 {
		h.a, h.r, h.coef, h.fitted, h.sinceFit, h.steps = am, rv, coef, fitted, sinceFit, steps
	}

	a := &t.anom
	if version == 1 {
		decodeV1Errors(d, a)
	} else {
		d.f32s(a.errs[:], "anomaly errors", true)
		a.n = d.count("anomaly count", anomalyWindow)
		a.pos = d.count("anomaly position", anomalyWindow-1)
	}
	a.newest = d.f64("anomaly newest", true)
	a.newestRef = d.f64("anomaly reference", true)
	a.hasNewest = d.bool("anomaly has newest")
	a.scale = d.f64("anomaly scale", true)
	a.scaleN = d.i64("anomaly scale count")
	a.strikes = d.count("anomaly strikes", maxStrikes)
	a.strikeSign = int(d.i64("anomaly strike sign"))
	if d.err == nil && (a.scale < 0 || a.scaleN < 0 || a.strikeSign < -1 || a.strikeSign > 1) {
		d.fail("bad anomaly state")
	}

	nc := int(d.u16("combiner count"))
	gotRef := false
	for range nc {
		if d.err != nil {
			break
		}
		k := d.count("combiner horizon", MaxHorizonSteps)
		robust := d.bool("combiner robust")
		if d.err == nil && k < 1 {
			d.fail("combiner horizon %d", k)
		}
		var dst *combiner
		switch {
		case robust && k == 1:
			dst, gotRef = &t.ref, true
		case !robust:
			for i := range t.combs {
				if t.combs[i].k == k {
					dst = &t.combs[i]
				}
			}
		default:
			d.fail("robust combiner with horizon %d", k)
		}
		decodeCombiner(d, version, k, dst)
		if version == 1 && dst != nil && d.err == nil {
			dst.convertV1(t.anom.scale)
		}
	}
	if d.err == nil && !gotRef {
		d.fail("no reference combiner")
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("unmarshal forecast state: %w", d.err)
	}
	if t.has && t.hist.n == 0 {
		return fmt.Errorf("unmarshal forecast state: %w: no history", ErrState)
	}
	*s = *t
	return nil
}

// decodeCombiner reads one combiner of horizon k into dst, or skips it when dst is nil.
func decodeCombiner(d *decoder, version uint16, k int, dst *combiner) {
	var c combiner
	var rows []float32
	if dst != nil {
		c, rows = *dst, dst.rows
	}
	d.f64s(c.mae[:], "model MAE", true)
	d.f64s(c.maeS[:], "post-shift model MAE", true)
	c.scoredS = d.i64("post-shift scored")
	c.shifts = d.i64("shifts")
	c.scored = d.i64("scored")
	c.maeComb = d.f64("combined MAE", true)
	c.maeLong = d.f64("long combined MAE", true)
	c.maeNaive = d.f64("naive MAE", true)
	if version >= 2 {
		c.oneStep = d.f64("one-step MAE", true)
	}
	c.maeRaw = d.f64("guard MAE", true)
	c.maeGNaive = d.f64("guard naive MAE", true)
	c.qLo = d.f64("lower quantile", true)
	c.qHi = d.f64("upper quantile", true)
	c.qInit = d.bool("quantiles initialised")
	d.f64s(c.initErr[:], "initial errors", true)
	c.pos = d.count("pending position", k-1)
	if rows != nil {
		d.f32s(rows, "pending forecasts", false)
	} else {
		d.take(4*k*rowLen, "pending forecasts")
	}
	d.f64s(c.w[:], "weights", true)
	c.theta = d.f64("guard", true)
	c.cur.Point = d.f64("point", false)
	c.cur.Lower = d.f64("lower", false)
	c.cur.Upper = d.f64("upper", false)
	c.upWidth = d.f64("upper width", false)
	c.hasBounds = d.bool("has bounds")
	if d.err == nil && (c.scored < 0 || c.scoredS < 0 || c.shifts < 0) {
		d.fail("negative scored count")
	}
	if d.err == nil && c.oneStep < 0 {
		d.fail("negative one-step MAE")
	}
	if d.err == nil && c.qInit != (c.scored >= minScored) {
		d.fail("quantiles initialised %v after %d scored forecasts", c.qInit, c.scored)
	}
	if d.err == nil {
		for _, m := range c.mae {
			if m < 0 {
				d.fail("negative model MAE")
				break
			}
		}
	}
	if d.err != nil || dst == nil {
		return
	}
	c.rows = rows
	*dst = c
}

// decodeV1Errors reads the 128 anomaly errors of a version 1 state into the first slots of a's ring, oldest first.
func decodeV1Errors(d *decoder, a *anomalyState) {
	var errs [v1AnomalyWindow]float32
	d.f32s(errs[:], "anomaly errors", true)
	n := d.count("anomaly count", v1AnomalyWindow)
	pos := d.count("anomaly position", v1AnomalyWindow-1)
	start := 0
	if n == v1AnomalyWindow {
		start = pos
	}
	for i := range n {
		a.errs[i] = errs[(start+i)%v1AnomalyWindow]
	}
	a.n, a.pos = n, n%anomalyWindow
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
