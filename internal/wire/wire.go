// Package wire encodes and decodes the little-endian binary layouts of the exporter's state: the forecast series
// (forecast.Series.MarshalBinary), the forecaster's payload of series, and the state file that frames it.
//
// Decoding is for untrusted input, a file that may be torn, bit-flipped or of another version. A Reader therefore
// never panics and allocates nothing sized by the input before checking it against what remains, and it keeps
// the first error: after a failure every read returns a zero value, so a decoder reads on and checks Err once.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Writer appends little-endian values to B.
type Writer struct {
	B []byte
}

// U8 appends v.
func (w *Writer) U8(v uint8) { w.B = append(w.B, v) }

// U16 appends v.
func (w *Writer) U16(v uint16) { w.B = binary.LittleEndian.AppendUint16(w.B, v) }

// U32 appends v.
func (w *Writer) U32(v uint32) { w.B = binary.LittleEndian.AppendUint32(w.B, v) }

// I64 appends v.
func (w *Writer) I64(v int64) { w.B = binary.LittleEndian.AppendUint64(w.B, uint64(v)) }

// F64 appends v's IEEE 754 bits.
func (w *Writer) F64(v float64) { w.B = binary.LittleEndian.AppendUint64(w.B, math.Float64bits(v)) }

// F32 appends v's IEEE 754 bits.
func (w *Writer) F32(v float32) { w.U32(math.Float32bits(v)) }

// Bool appends 1 for true, 0 for false.
func (w *Writer) Bool(v bool) {
	if v {
		w.U8(1)
	} else {
		w.U8(0)
	}
}

// F64s appends every value of v.
func (w *Writer) F64s(v []float64) {
	for _, x := range v {
		w.F64(x)
	}
}

// F32s appends every value of v.
func (w *Writer) F32s(v []float32) {
	for _, x := range v {
		w.U32(math.Float32bits(x))
	}
}

// Field appends b with a uint32 length before it.
func (w *Writer) Field(b []byte) {
	w.U32(uint32(len(b)))
	w.B = append(w.B, b...)
}

// String appends s as a Field.
func (w *Writer) String(s string) {
	w.U32(uint32(len(s)))
	w.B = append(w.B, s...)
}

// Reader reads little-endian values from a byte slice, keeping the first error.
type Reader struct {
	b    []byte
	err  error
	kind error
}

// NewReader returns a reader of b whose errors wrap kind (e.g. a package's ErrState), so callers can tell
// malformed input from other failures with errors.Is.
func NewReader(b []byte, kind error) *Reader { return &Reader{b: b, kind: kind} }

// Err returns the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Len returns the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) }

// Fail records a failure, unless one was recorded before.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", r.kind, fmt.Sprintf(format, args...))
	}
}

// Take returns the next n bytes, a sub-slice of the input.
func (r *Reader) Take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.Fail("truncated reading %s", what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// U8 reads a uint8.
func (r *Reader) U8(what string) uint8 {
	if b := r.Take(1, what); b != nil {
		return b[0]
	}
	return 0
}

// U16 reads a uint16.
func (r *Reader) U16(what string) uint16 {
	if b := r.Take(2, what); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

// U32 reads a uint32.
func (r *Reader) U32(what string) uint32 {
	if b := r.Take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// I64 reads an int64.
func (r *Reader) I64(what string) int64 {
	if b := r.Take(8, what); b != nil {
		return int64(binary.LittleEndian.Uint64(b))
	}
	return 0
}

// Bool reads a boolean, which must be 0 or 1.
func (r *Reader) Bool(what string) bool {
	switch v := r.U8(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.Fail("%s: bad boolean %d", what, v)
		return false
	}
}

// F64 reads a float64; finite rejects NaN and ±Inf.
func (r *Reader) F64(what string, finite bool) float64 {
	b := r.Take(8, what)
	if b == nil {
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(b))
	if finite && (math.IsNaN(v) || math.IsInf(v, 0)) {
		r.Fail("%s: not finite", what)
		return 0
	}
	return v
}

// F32 reads a float32; finite rejects NaN and ±Inf.
func (r *Reader) F32(what string, finite bool) float32 {
	b := r.Take(4, what)
	if b == nil {
		return 0
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(b))
	if finite && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
		r.Fail("%s: not finite", what)
		return 0
	}
	return v
}

// Int reads an int64 that must be in [lo, hi].
func (r *Reader) Int(what string, lo, hi int64) int64 {
	v := r.I64(what)
	if r.err == nil && (v < lo || v > hi) {
		r.Fail("%s %d not in [%d, %d]", what, v, lo, hi)
		return 0
	}
	return v
}

// F64s fills dst; finite rejects NaN and ±Inf.
func (r *Reader) F64s(dst []float64, what string, finite bool) {
	if r.err == nil && len(dst) > len(r.b)/8 {
		r.Fail("truncated reading %s", what)
	}
	for i := range dst {
		dst[i] = r.F64(what, finite)
	}
}

// F32s fills dst; finite rejects NaN and ±Inf.
func (r *Reader) F32s(dst []float32, what string, finite bool) {
	if r.err == nil && len(dst) > len(r.b)/4 {
		r.Fail("truncated reading %s", what)
	}
	for i := range dst {
		if r.err != nil {
			return
		}
		v := math.Float32frombits(r.U32(what))
		if finite && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
			r.Fail("%s: not finite", what)
			return
		}
		dst[i] = v
	}
}

// Count reads a uint32 that must be at most maxN.
func (r *Reader) Count(what string, maxN int) int {
	v := r.U32(what)
	if r.err == nil && int64(v) > int64(maxN) {
		r.Fail("%s %d exceeds %d", what, v, maxN)
		return 0
	}
	return int(v)
}

// Field reads a length-prefixed byte string of at most maxN bytes, a sub-slice of the input.
func (r *Reader) Field(what string, maxN int) []byte {
	n := r.Count(what+" length", maxN)
	return r.Take(n, what)
}

// String reads a Field of at most maxN bytes as a string.
func (r *Reader) String(what string, maxN int) string { return string(r.Field(what, maxN)) }

// End fails unless every byte was read.
func (r *Reader) End() {
	if r.err == nil && len(r.b) != 0 {
		r.Fail("%d trailing bytes", len(r.b))
	}
}
