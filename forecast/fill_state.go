package forecast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// Fill state format (little endian), version 1:
//
//	"SMFF" | u16 version | i64 step ns | u32 window, recent window and max-run steps | scalars | run | history |
//	windows | cleanups | u32 CRC-32 (IEEE) of everything before it
//
// Lengths are checked against the estimator's configuration and the remaining input before anything is used, and
// every float must be finite. The encoding is self-contained (it does not share the Series' state code) so that it
// can be moved into whatever container format holds the Series' states.
const (
	fillStateMagic   = "SMFF"
	fillStateVersion = 1
)

var (
	// ErrFillState is wrapped by every error Fill.UnmarshalBinary returns.
	ErrFillState = errors.New("invalid fill estimator state")
	// ErrFillStateConfig is returned (wrapping ErrFillState) for a state saved with another step or other windows.
	ErrFillStateConfig = fmt.Errorf("%w: different configuration", ErrFillState)
)

// fillWriter appends little-endian fields.
type fillWriter struct{ b []byte }

func (w *fillWriter) u32(v uint32)  { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *fillWriter) i64(v int64)   { w.b = binary.LittleEndian.AppendUint64(w.b, uint64(v)) }
func (w *fillWriter) f64(v float64) { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v)) }
func (w *fillWriter) f32(v float32) { w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(v)) }

// fillReader reads little-endian fields with a sticky error: after the first problem every read returns zero.
type fillReader struct {
	b   []byte
	err error
}

func (r *fillReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrFillState, fmt.Sprintf(format, args...))
	}
}

func (r *fillReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail("truncated reading %s", what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *fillReader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *fillReader) i64(what string) int64 {
	if b := r.take(8, what); b != nil {
		return int64(binary.LittleEndian.Uint64(b))
	}
	return 0
}

func (r *fillReader) f64(what string) float64 {
	b := r.take(8, what)
	if b == nil {
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(b))
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.fail("%s: not finite", what)
		return 0
	}
	return v
}

func (r *fillReader) f32(what string) float32 {
	b := r.take(4, what)
	if b == nil {
		return 0
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(b))
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		r.fail("%s: not finite", what)
		return 0
	}
	return v
}

// in reads an integer that must be in [lo, hi].
func (r *fillReader) in(what string, lo, hi int64) int64 {
	v := r.i64(what)
	if r.err == nil && (v < lo || v > hi) {
		r.fail("%s %d not in [%d, %d]", what, v, lo, hi)
		return 0
	}
	return v
}

// count reads a non-negative integer that must be at most maxN.
func (r *fillReader) count(what string, maxN int) int { return int(r.in(what, 0, int64(maxN))) }

// MarshalBinary encodes the estimator's whole state (about 4 bytes per step of Window and of each trend window,
// for its slope history: 5 KiB at the defaults and a 1 m step).
func (f *Fill) MarshalBinary() ([]byte, error) {
	n := 64 + 4*f.hist.n + 8*len(f.runBuf) + 24*fillDrops + 64
	for i := range f.wins {
		n += 64 + 4*len(f.wins[i].past)
	}
	w := &fillWriter{b: make([]byte, 0, n)}
	w.b = append(w.b, fillStateMagic...)
	w.b = binary.LittleEndian.AppendUint16(w.b, fillStateVersion)
	w.i64(f.stepNs)
	w.u32(uint32(f.win))
	w.u32(uint32(f.recent))
	w.u32(uint32(f.maxRun))

	w.i64(b2i(f.has))
	w.i64(f.lastIdx)
	w.f64(f.lastY)
	w.f64(f.comp)
	w.i64(f.steps)
	w.i64(f.incN)
	w.f64(f.incMean)

	w.i64(int64(f.runLen))
	w.f64(f.runMean)
	w.f64(f.runPeak)
	w.i64(int64(f.runSign))
	for _, v := range []float64{f.runB, f.runBase, f.runY0, f.runComp, f.runLevel} {
		w.f64(v)
	}
	for _, v := range f.runBuf {
		w.f64(v)
	}

	w.i64(int64(f.hist.n))
	for i := f.hist.n - 1; i >= 0; i-- {
		w.f32(float32(f.hist.back(i)))
	}

	w.i64(int64(len(f.wins)))
	for i := range f.wins {
		win := &f.wins[i]
		o := &win.ols
		w.i64(int64(o.n))
		w.i64(int64(o.sinceFix))
		w.i64(int64(o.avail))
		w.f64(o.sy)
		w.f64(o.sxy)
		w.i64(int64(win.n))
		for j := win.n; j > 0; j-- { // oldest first
			w.f32(win.past[(win.pos-j+len(win.past))%len(win.past)])
		}
		w.f64(win.v)
		w.i64(win.vN)
	}

	w.i64(int64(f.nDrops))
	for i := f.nDrops - 1; i >= 0; i-- {
		d := f.drop(i)
		w.i64(d.idx)
		w.f64(d.peak)
		w.f64(d.comp)
	}
	w.f64(f.peakSlope)
	w.u32(crc32.ChecksumIEEE(w.b))
	return w.b, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// UnmarshalBinary replaces the state with one written by MarshalBinary for the same configuration (Step, Window,
// RecentWindow and MaxShiftDuration in steps). It never panics; on any error, which wraps ErrFillState
// (ErrFillStateConfig for another configuration), the estimator is left unchanged.
func (f *Fill) UnmarshalBinary(b []byte) error {
	if len(b) < len(fillStateMagic)+2+4 {
		return fmt.Errorf("%w: %d bytes is too short", ErrFillState, len(b))
	}
	if string(b[:len(fillStateMagic)]) != fillStateMagic {
		return fmt.Errorf("%w: bad magic", ErrFillState)
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrFillState)
	}
	if v := binary.LittleEndian.Uint16(body[len(fillStateMagic):]); v != fillStateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrFillState, v, fillStateVersion)
	}
	r := &fillReader{b: body[len(fillStateMagic)+2:]}
	step, win, recent, maxRun := r.i64("step"), r.u32("window"), r.u32("recent window"), r.u32("max run")
	if r.err != nil {
		return r.err
	}
	if step != f.stepNs || int64(win) != int64(f.win) || int64(recent) != int64(f.recent) || int64(maxRun) != int64(f.maxRun) {
		return fmt.Errorf("%w: step %d ns, windows %d/%d steps, runs %d steps; want %d ns, %d/%d, %d", ErrFillStateConfig,
			step, win, recent, maxRun, f.stepNs, f.win, f.recent, f.maxRun)
	}
	t, err := NewFill(f.cfg)
	if err != nil {
		return fmt.Errorf("unmarshal fill state: %w", err)
	}
	t.has = r.count("has", 1) == 1
	t.lastIdx = r.i64("last index")
	t.lastY = r.f64("last value")
	t.comp = r.f64("compensation")
	t.steps = r.in("steps", 0, math.MaxInt64)
	t.incN = r.in("increments", 0, math.MaxInt64)
	t.incMean = r.f64("increment noise")
	if t.incMean < 0 {
		r.fail("negative increment noise %v", t.incMean)
	}

	t.runLen = r.count("run length", t.maxRun)
	t.runMean, t.runPeak = r.f64("run mean"), r.f64("run peak")
	t.runSign = int(r.in("run sign", -1, 1))
	t.runB, t.runBase, t.runY0 = r.f64("run trend"), r.f64("run base"), r.f64("run start")
	t.runComp, t.runLevel = r.f64("run compensation"), r.f64("run level")
	if r.err == nil && (t.runLen == 0) != (t.runSign == 0) {
		r.fail("run of %d steps with sign %d", t.runLen, t.runSign)
	}
	for range t.runLen {
		t.runBuf = append(t.runBuf, r.f64("run value"))
	}

	n := r.count("history length", len(t.hist.buf))
	if r.err == nil && n > len(r.b)/4 {
		r.fail("truncated reading the history")
	}
	for range n {
		t.hist.push(float64(r.f32("history value")))
	}
	if r.err == nil && (t.has != (n > 0) || t.runLen > n) {
		r.fail("history of %d values, has %v, run of %d", n, t.has, t.runLen)
	}

	if nw := r.count("windows", maxFillWindows); r.err == nil && nw != len(t.wins) {
		r.fail("%d windows, want %d", nw, len(t.wins))
	}
	for i := range t.wins {
		if r.err != nil {
			break
		}
		w := &t.wins[i]
		o := &w.ols
		o.n = r.count("window values", min(o.w, n))
		o.sinceFix = r.count("window steps since recomputation", o.w)
		o.avail = r.count("window available values", o.w)
		o.sy, o.sxy = r.f64("window sum"), r.f64("window weighted sum")
		if r.err == nil && o.n > o.avail {
			r.fail("window of %d values with %d available", o.n, o.avail)
		}
		w.n = r.count("window slopes", len(w.past))
		if r.err == nil && w.n > len(r.b)/4 {
			r.fail("truncated reading window slopes")
		}
		for j := range w.n {
			w.past[j] = r.f32("window slope")
		}
		w.pos = w.n % len(w.past)
		w.v = r.f64("window slope noise")
		w.vN = r.in("window slope noise count", 0, math.MaxInt64)
		if w.v < 0 {
			r.fail("negative slope noise %v", w.v)
		}
	}

	t.nDrops = r.count("cleanups", fillDrops)
	for i := range t.nDrops {
		t.drops[i] = fillDrop{idx: r.i64("cleanup step"), peak: r.f64("cleanup peak"), comp: r.f64("cleanup level")}
	}
	t.dropPos = t.nDrops % fillDrops
	t.peakSlope = r.f64("peak slope")
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return r.err
	}
	*f = *t
	return nil
}
