package wire

import (
	"errors"
	"math"
	"testing"
)

var errTest = errors.New("test state")

func TestRoundTrip(t *testing.T) {
	w := &Writer{}
	w.U8(7)
	w.U16(0xbeef)
	w.U32(1 << 31)
	w.I64(-42)
	w.F64(math.Pi)
	w.F32(2.5)
	w.Bool(true)
	w.F64s([]float64{1, 2})
	w.F32s([]float32{3, 4})
	w.String("mount point")
	w.Field([]byte{9, 9})
	r := NewReader(w.B, errTest)
	f64s, f32s := make([]float64, 2), make([]float32, 2)
	got := []any{r.U8("a"), r.U16("b"), r.U32("c"), r.I64("d"), r.F64("e", true), r.F32("f", true), r.Bool("g")}
	r.F64s(f64s, "h", true)
	r.F32s(f32s, "i", true)
	s, field := r.String("j", 64), r.Field("k", 2)
	r.End()
	want := []any{uint8(7), uint16(0xbeef), uint32(1 << 31), int64(-42), math.Pi, float32(2.5), true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: %v, want %v", i, got[i], want[i])
		}
	}
	if err := r.Err(); err != nil || f64s[1] != 2 || f32s[1] != 4 || s != "mount point" || len(field) != 2 {
		t.Errorf("err %v, %v %v %q %v", err, f64s, f32s, s, field)
	}
}

// TestErrorsAreStickyAndKinded: the first failure is kept and wraps the reader's kind; every read after it returns
// a zero value, and nothing sized by the input is allocated before it is checked.
func TestErrorsAreStickyAndKinded(t *testing.T) {
	w := &Writer{}
	w.U32(math.MaxUint32) // a length far beyond the input
	w.F64(math.NaN())
	r := NewReader(w.B, errTest)
	if n := r.Count("length", 100); n != 0 || !errors.Is(r.Err(), errTest) {
		t.Fatalf("count %d over the limit: %v", n, r.Err())
	}
	first := r.Err()
	if v := r.F64("value", false); v != 0 || r.Err() != first {
		t.Errorf("read after a failure: %v, error %v", v, r.Err())
	}
	nan := w.B[4:]
	for _, c := range []struct {
		name  string
		input []byte
		read  func(*Reader)
	}{
		{"truncated", []byte{1, 2, 3}, func(r *Reader) { r.I64("x") }},
		{"not finite", nan, func(r *Reader) { r.F64("x", true) }},
		{"bad boolean", []byte{2}, func(r *Reader) { r.Bool("x") }},
		{"out of range", []byte{11, 0, 0, 0, 0, 0, 0, 0}, func(r *Reader) { r.Int("x", 0, 10) }},
		{"trailing", []byte{1, 2}, func(r *Reader) { r.U8("x"); r.End() }},
		{"huge F32s", []byte{1, 2, 3, 4}, func(r *Reader) { r.F32s(make([]float32, 1000), "x", false) }},
		{"field too big", []byte{2, 0, 0, 0, 1, 1}, func(r *Reader) { r.Field("x", 1) }},
	} {
		r := NewReader(c.input, errTest)
		c.read(r)
		if !errors.Is(r.Err(), errTest) {
			t.Errorf("%s: %v", c.name, r.Err())
		}
	}
}
