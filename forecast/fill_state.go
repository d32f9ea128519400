package forecast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/servermon/servermon_exporter/internal/wire"
)

// Fill state format (little endian, internal/wire), version 1:
//
//	"SMFF" | u16 version | i64 step ns | u32 window, recent window and max-run steps | scalars | run | history |
//	windows | cleanups
//
// Lengths are checked against the estimator's configuration and the remaining input before anything is used, and
// every float must be finite. Integrity is the business of the file that holds the state, as for the Series'.
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

// MarshalBinary encodes the estimator's whole state (about 4 bytes per step of Window and of each trend window,
// for its slope history: 5 KiB at the defaults and a 1 m step).
func (f *Fill) MarshalBinary() ([]byte, error) {
	n := 64 + 4*f.hist.n + 8*len(f.runBuf) + 24*fillDrops + 64
	for i := range f.wins {
		n += 64 + 4*len(f.wins[i].past)
	}
	w := &wire.Writer{B: make([]byte, 0, n)}
	w.B = append(w.B, fillStateMagic...)
	w.U16(fillStateVersion)
	w.I64(f.stepNs)
	w.U32(uint32(f.win))
	w.U32(uint32(f.recent))
	w.U32(uint32(f.maxRun))

	w.Bool(f.has)
	w.I64(f.lastIdx)
	w.F64(f.lastY)
	w.F64(f.comp)
	w.I64(f.steps)
	w.I64(f.incN)
	w.F64(f.incMean)

	w.I64(int64(f.runLen))
	w.F64(f.runMean)
	w.F64(f.runPeak)
	w.I64(int64(f.runSign))
	for _, v := range []float64{f.runB, f.runBase, f.runY0, f.runComp, f.runLevel} {
		w.F64(v)
	}
	for _, v := range f.runBuf {
		w.F64(v)
	}

	w.I64(int64(f.hist.n))
	for i := f.hist.n - 1; i >= 0; i-- {
		w.F32(float32(f.hist.back(i)))
	}

	w.I64(int64(len(f.wins)))
	for i := range f.wins {
		win := &f.wins[i]
		o := &win.ols
		w.I64(int64(o.n))
		w.I64(int64(o.sinceFix))
		w.I64(int64(o.avail))
		w.F64(o.sy)
		w.F64(o.sxy)
		w.I64(int64(win.n))
		for j := win.n; j > 0; j-- { // oldest first
			w.F32(win.past[(win.pos-j+len(win.past))%len(win.past)])
		}
		w.F64(win.v)
		w.I64(win.vN)
	}

	w.I64(int64(f.nDrops))
	for i := f.nDrops - 1; i >= 0; i-- {
		d := f.drop(i)
		w.I64(d.idx)
		w.F64(d.peak)
		w.F64(d.comp)
	}
	w.F64(f.peakSlope)
	return w.B, nil
}

// UnmarshalBinary replaces the state with one written by MarshalBinary for the same configuration (Step, Window,
// RecentWindow and MaxShiftDuration in steps). It never panics; on any error, which wraps ErrFillState
// (ErrFillStateConfig for another configuration), the estimator is left unchanged.
func (f *Fill) UnmarshalBinary(b []byte) error {
	if len(b) < len(fillStateMagic)+2 {
		return fmt.Errorf("%w: %d bytes is too short", ErrFillState, len(b))
	}
	if string(b[:len(fillStateMagic)]) != fillStateMagic {
		return fmt.Errorf("%w: bad magic", ErrFillState)
	}
	if v := binary.LittleEndian.Uint16(b[len(fillStateMagic):]); v != fillStateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrFillState, v, fillStateVersion)
	}
	r := wire.NewReader(b[len(fillStateMagic)+2:], ErrFillState)
	step, win, recent, maxRun := r.I64("step"), r.U32("window"), r.U32("recent window"), r.U32("max run")
	if err := r.Err(); err != nil {
		return err
	}
	if step != f.stepNs || int64(win) != int64(f.win) || int64(recent) != int64(f.recent) || int64(maxRun) != int64(f.maxRun) {
		return fmt.Errorf("%w: step %d ns, windows %d/%d steps, runs %d steps; want %d ns, %d/%d, %d", ErrFillStateConfig,
			step, win, recent, maxRun, f.stepNs, f.win, f.recent, f.maxRun)
	}
	t, err := NewFill(f.cfg)
	if err != nil {
		return fmt.Errorf("unmarshal fill state: %w", err)
	}
	t.has = r.Bool("has")
	t.lastIdx = r.I64("last index")
	t.lastY = r.F64("last value", true)
	t.comp = r.F64("compensation", true)
	t.steps = r.Int("steps", 0, math.MaxInt64)
	t.incN = r.Int("increments", 0, math.MaxInt64)
	t.incMean = r.F64("increment noise", true)
	if t.incMean < 0 {
		r.Fail("negative increment noise %v", t.incMean)
	}

	t.runLen = int(r.Int("run length", 0, int64(t.maxRun)))
	t.runMean, t.runPeak = r.F64("run mean", true), r.F64("run peak", true)
	t.runSign = int(r.Int("run sign", -1, 1))
	t.runB, t.runBase, t.runY0 = r.F64("run trend", true), r.F64("run base", true), r.F64("run start", true)
	t.runComp, t.runLevel = r.F64("run compensation", true), r.F64("run level", true)
	if r.Err() == nil && (t.runLen == 0) != (t.runSign == 0) {
		r.Fail("run of %d steps with sign %d", t.runLen, t.runSign)
	}
	for range t.runLen {
		t.runBuf = append(t.runBuf, r.F64("run value", true))
	}

	n := int(r.Int("history length", 0, int64(len(t.hist.buf))))
	if r.Err() == nil && n > r.Len()/4 {
		r.Fail("truncated reading the history")
	}
	for range n {
		t.hist.push(float64(r.F32("history value", true)))
	}
	if r.Err() == nil && (t.has != (n > 0) || t.runLen > n) {
		r.Fail("history of %d values, has %v, run of %d", n, t.has, t.runLen)
	}

	if nw := int(r.Int("windows", 0, int64(maxFillWindows))); r.Err() == nil && nw != len(t.wins) {
		r.Fail("%d windows, want %d", nw, len(t.wins))
	}
	for i := range t.wins {
		if r.Err() != nil {
			break
		}
		w := &t.wins[i]
		o := &w.ols
		o.n = int(r.Int("window values", 0, int64(min(o.w, n))))
		o.sinceFix = int(r.Int("window steps since recomputation", 0, int64(o.w)))
		o.avail = int(r.Int("window available values", 0, int64(o.w)))
		o.sy, o.sxy = r.F64("window sum", true), r.F64("window weighted sum", true)
		if r.Err() == nil && o.n > o.avail {
			r.Fail("window of %d values with %d available", o.n, o.avail)
		}
		w.n = int(r.Int("window slopes", 0, int64(len(w.past))))
		if r.Err() == nil && w.n > r.Len()/4 {
			r.Fail("truncated reading window slopes")
		}
		for j := range w.n {
			w.past[j] = r.F32("window slope", true)
		}
		w.pos = w.n % len(w.past)
		w.v = r.F64("window slope noise", true)
		w.vN = r.Int("window slope noise count", 0, math.MaxInt64)
		if w.v < 0 {
			r.Fail("negative slope noise %v", w.v)
		}
	}

	t.nDrops = int(r.Int("cleanups", 0, int64(fillDrops)))
	for i := range t.nDrops {
		t.drops[i] = fillDrop{idx: r.I64("cleanup step"), peak: r.F64("cleanup peak", true), comp: r.F64("cleanup level", true)}
	}
	t.dropPos = t.nDrops % fillDrops
	t.peakSlope = r.F64("peak slope", true)
	if r.Err() == nil && r.Len() != 0 {
		r.Fail("%d trailing bytes", r.Len())
	}
	if r.Err() != nil {
		return r.Err()
	}
	*f = *t
	return nil
}
