package forecast

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

// smallConfig keeps states small (72 steps of history) for the fuzz corpus and exhaustive corruption tests.
func smallConfig() Config {
	c := DefaultConfig()
	c.Step = 20 * time.Minute
	c.History = 24 * time.Hour
	c.Horizons = []time.Duration{20 * time.Minute, time.Hour}
	return c
}

func fed(t testing.TB, cfg Config, vs []float64) *Series {
	t.Helper()
	s := mustSeries(t, cfg)
	for i, v := range vs {
		s.Push(t0.Add(time.Duration(i)*cfg.Step), v)
	}
	return s
}

func TestMarshalRoundTripGivesIdenticalForecasts(t *testing.T) {
	step := 5 * time.Minute
	cfg := cfgWith(step, 5*time.Minute, time.Hour, 6*time.Hour)
	r := rand.New(rand.NewPCG(21, 21))
	vs := seriesgen.TrendCycleARSpikesShifts(r, 4000, t0, step)
	a := fed(t, cfg, vs[:3000])
	state, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := mustSeries(t, cfg)
	if err := b.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	again, _ := b.MarshalBinary()
	if !bytes.Equal(state, again) {
		t.Fatal("re-marshalled state differs")
	}
	for i := 3000; i < len(vs); i++ {
		tm := t0.Add(time.Duration(i) * step)
		a.Push(tm, vs[i])
		b.Push(tm, vs[i])
		for h := range cfg.Horizons {
			pa, oka := a.Forecast(h)
			pb, okb := b.Forecast(h)
			if pa != pb || oka != okb {
				t.Fatalf("step %d horizon %d: %v %v vs restored %v %v", i, h, pa, oka, pb, okb)
			}
		}
		sa, _, _ := a.Anomaly()
		sb, _, _ := b.Anomaly()
		ea, _ := a.SecondsUntil(90)
		eb, _ := b.SecondsUntil(90)
		if sa != sb || ea != eb {
			t.Fatalf("step %d: anomaly %v vs %v, ETA %v vs %v", i, sa, sb, ea, eb)
		}
	}
}

func TestUnmarshalShorterHistoryAndOtherHorizons(t *testing.T) {
	step := 5 * time.Minute
	cfg := cfgWith(step, time.Hour, 6*time.Hour)
	r := rand.New(rand.NewPCG(1, 5))
	a := fed(t, cfg, seriesgen.TrendCycleARSpikesShifts(r, 4000, t0, step))
	state, _ := a.MarshalBinary()

	short := cfgWith(step, time.Hour, 2*time.Hour)
	short.History = 2 * 24 * time.Hour
	b := mustSeries(t, short)
	if err := b.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if got := b.HistorySeconds(); got != short.History.Seconds() {
		t.Errorf("history after restoring into a 2d series: %v s, want %v", got, short.History.Seconds())
	}
	pa, _ := a.Forecast(0)
	pb, ok := b.Forecast(0)
	if !ok || pa != pb {
		t.Errorf("shared 1h horizon: %v vs restored %v %v", pa, pb, ok)
	}
	if _, ok := b.Forecast(1); ok {
		t.Error("a horizon absent from the state is ready right after restoring")
	}
	if ta, _, _ := a.Last(); true {
		tb, _, _ := b.Last()
		if !ta.Equal(tb) {
			t.Errorf("Last %v vs %v", ta, tb)
		}
	}
}

func TestUnmarshalRejectsBadInput(t *testing.T) {
	cfg := smallConfig()
	r := rand.New(rand.NewPCG(3, 1))
	good := fed(t, cfg, seriesgen.BurstyHeavyTailed(r, 200, t0, cfg.Step))
	state, _ := good.MarshalBinary()
	fresh := func() (*Series, []byte) {
		s := fed(t, cfg, []float64{1, 2, 3})
		b, _ := s.MarshalBinary()
		return s, b
	}
	check := func(name string, b []byte, want error) {
		t.Helper()
		s, before := fresh()
		err := s.UnmarshalBinary(b)
		if err == nil || !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
		after, _ := s.MarshalBinary()
		if !bytes.Equal(before, after) {
			t.Errorf("%s: a failed UnmarshalBinary changed the series", name)
		}
	}
	for n := range len(state) {
		check("truncated", state[:n], ErrState)
	}
	// Every bit of the preamble and of the first field. Integrity beyond that is the state file's CRC's business:
	// a flipped bit in a value gives another valid state.
	for i := range 17 * 8 {
		b := bytes.Clone(state)
		b[i/8] ^= 1 << (i % 8)
		check("bit flip", b, ErrState)
	}
	b := bytes.Clone(state)
	binary.LittleEndian.PutUint16(b[4:], stateVersion+1)
	check("version", b, ErrStateVersion)

	other := cfg
	other.Step = 30 * time.Minute
	other.History = 2 * 24 * time.Hour
	other.Horizons = []time.Duration{time.Hour}
	o, _ := fed(t, other, []float64{1, 2, 3}).MarshalBinary()
	check("other step", o, ErrStateStep)

	// An absurd history length, after the preamble (16 bytes) and the head (has, last index, last value, steps,
	// steps since shift: 33 bytes).
	b = bytes.Clone(state)
	binary.LittleEndian.PutUint32(b[16+33:], math.MaxUint32)
	check("huge history length", b, ErrState)
	check("garbage", bytes.Repeat([]byte("SMFS"), 40), ErrState)
}

func FuzzUnmarshal(f *testing.F) {
	cfg := smallConfig()
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 5, 70, 200} {
		s := fed(f, cfg, seriesgen.TrendCycleARSpikesShifts(r, n, t0, cfg.Step))
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzState(t, cfg, b)
		// A version 1 or 2 state ends in a checksum: try it valid too, so that mutations reach the parser.
		if len(b) >= 8 && string(b[:4]) == stateMagic && binary.LittleEndian.Uint16(b[4:]) < 3 {
			b = bytes.Clone(b)
			binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
			fuzzState(t, cfg, b)
		}
	})
}

func fuzzState(t *testing.T, cfg Config, b []byte) {
	s := mustSeries(t, cfg)
	{
		if err := s.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error %v does not wrap ErrState", err)
			}
			return
		}
		// Whatever was accepted must be usable without panics.
		last, _, ok := s.Last()
		if !ok {
			last = t0
		}
		for i := range 3 {
			s.Push(last.Add(time.Duration(i+1)*cfg.Step), float64(i))
		}
		for h := range cfg.Horizons {
			s.Forecast(h)
			s.ErrorRatio(h)
		}
		s.Anomaly()
		s.SecondsUntil(0.5)
		if _, err := s.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
}
