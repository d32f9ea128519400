package forecast

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// fedFill returns an estimator at step that has been fed the first n values of a rising sawtooth with a burst and
// a fast fill at the end, so that its state holds cleanups, compensated steps and, for some n, a run in progress.
func fedFill(t testing.TB, cfg FillConfig, n int) *Fill {
	t.Helper()
	f := mustFill(t, cfg)
	r := rand.New(rand.NewPCG(21, uint64(n)))
	perDay := int(24 * time.Hour / cfg.Step)
	vs := sawtooth(r, 4, 0.3, 0.2, 0.01, 0.001)
	for i := range n {
		j := i * len(vs) / (4 * perDay) % len(vs)
		v := vs[j]
		if i > 3*perDay && i < 3*perDay+perDay/24 {
			v += 0.1
		}
		if m := i - 4*perDay + perDay/12; m > 0 {
			v += 0.003 * float64(m)
		}
		f.Push(t0.Add(time.Duration(i)*cfg.Step), v)
	}
	return f
}

func TestFillMarshalRoundTrip(t *testing.T) {
	cfg := DefaultFillConfig(time.Minute)
	for _, n := range []int{0, 1, 30, 500, 3*1440 + 20, 4*1440 - 60, 4 * 1440} {
		a := fedFill(t, cfg, n)
		state, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		b := mustFill(t, cfg)
		if err := b.UnmarshalBinary(state); err != nil {
			t.Fatalf("%d steps: %v", n, err)
		}
		again, _ := b.MarshalBinary()
		if !bytes.Equal(state, again) {
			t.Fatalf("%d steps: the re-marshalled state differs", n)
		}
		for i := range 600 {
			tm := t0.Add(time.Duration(n+i) * cfg.Step)
			v := 0.5 + 0.0004*float64(i)
			a.Push(tm, v)
			b.Push(tm, v)
			ea, oka := a.SecondsUntil(0.95)
			eb, okb := b.SecondsUntil(0.95)
			if ea != eb || oka != okb {
				t.Fatalf("%d steps, %d after the restore: ETA %v %v, restored %v %v", n, i, ea, oka, eb, okb)
			}
		}
	}
}

func TestFillUnmarshalRejects(t *testing.T) {
	cfg := DefaultFillConfig(time.Minute)
	a := fedFill(t, cfg, 3*1440)
	state, _ := a.MarshalBinary()
	b := fedFill(t, cfg, 200)
	before, _ := b.MarshalBinary()
	unchanged := func(what string) {
		t.Helper()
		if now, _ := b.MarshalBinary(); !bytes.Equal(now, before) {
			t.Fatalf("%s: a failed UnmarshalBinary changed the estimator", what)
		}
	}
	for n := 0; n < len(state); n += 1 + n/8 {
		if err := b.UnmarshalBinary(state[:n]); !errors.Is(err, ErrFillState) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(state), err)
		}
		unchanged("truncation")
	}
	// Every bit of the preamble (magic, version, step, windows) and of the first field. Integrity beyond that is the
	// state file's CRC's business: a flipped bit in a value gives another valid state.
	for i := range (4 + 2 + 8 + 3*4 + 1) * 8 {
		c := bytes.Clone(state)
		c[i/8] ^= 1 << (i % 8)
		if err := b.UnmarshalBinary(c); !errors.Is(err, ErrFillState) {
			t.Fatalf("bit flip at bit %d: %v", i, err)
		}
		unchanged("bit flip")
	}
	other := cfg
	other.RecentWindow = 2 * time.Hour
	other.Window = 8 * time.Hour
	if err := mustFill(t, other).UnmarshalBinary(state); !errors.Is(err, ErrFillStateConfig) {
		t.Errorf("other windows: %v, want ErrFillStateConfig", err)
	}
	if err := mustFill(t, DefaultFillConfig(2*time.Minute)).UnmarshalBinary(state); !errors.Is(err, ErrFillStateConfig) {
		t.Errorf("other step: %v, want ErrFillStateConfig", err)
	}
	// A value out of range is refused: a run sign of 5.
	c := bytes.Clone(state)
	off := 4 + 2 + 8 + 3*4 + 1 + 6*8 + 3*8 // magic, version, step, windows; scalars; run length, mean and peak
	binary.LittleEndian.PutUint64(c[off:], 5)
	if err := b.UnmarshalBinary(c); !errors.Is(err, ErrFillState) {
		t.Errorf("run sign 5: %v", err)
	}
	unchanged("bad run sign")
}

// FuzzFillUnmarshal checks that UnmarshalBinary never panics and that whatever it accepts is usable and
// re-marshals to the same bytes.
func FuzzFillUnmarshal(f *testing.F) {
	cfg := DefaultFillConfig(20 * time.Minute)
	for _, n := range []int{0, 1, 10, 80, 3*72 + 2, 4 * 72} {
		b, err := fedFill(f, cfg, n).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzFillState(t, cfg, b) })
}

func fuzzFillState(t *testing.T, cfg FillConfig, b []byte) {
	f := mustFill(t, cfg)
	if err := f.UnmarshalBinary(b); err != nil {
		if !errors.Is(err, ErrFillState) {
			t.Fatalf("error %v does not wrap ErrFillState", err)
		}
		return
	}
	again, err := f.MarshalBinary()
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("accepted state re-marshals differently (%v)", err)
	}
	last := time.Unix(0, f.lastIdx*f.stepNs)
	for i := range 5 {
		f.Push(last.Add(time.Duration(i+1)*cfg.Step), float64(i)/10)
		f.SecondsUntil(0.9)
		f.Rate()
	}
	f.Rescale(0.5)
	f.SecondsUntil(0.9)
}
