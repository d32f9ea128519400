package collector

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// steppingClock is what a host clock looks like while NTP steps it: every reading carries a monotonic part that
// advances with real elapsed time, and a wall part that can jump independently. Go offers no way to build such a
// time.Time, so withWall rewrites the wall part of a real monotonic reading (see timeLayout).
type steppingClock struct {
	base    time.Time     // a real time.Now(), hence with a monotonic reading
	elapsed time.Duration // monotonic time since base
	step    time.Duration // wall offset accumulated by clock steps
}

func newSteppingClock() *steppingClock { return &steppingClock{base: time.Now()} }

// Now returns base+elapsed on the monotonic clock, with a wall time offset by every step so far.
func (c *steppingClock) Now() time.Time {
	mono := c.base.Add(c.elapsed)
	return withWall(mono, mono.Round(0).Add(c.step))
}

func (c *steppingClock) Advance(d time.Duration) { c.elapsed += d }

// Step moves the wall clock by d without any time passing, as `date -s` or an NTP step does.
func (c *steppingClock) Step(d time.Duration) { c.step += d }

// timeLayout mirrors time.Time: wall holds, when its top bit (hasMonotonic) is set, 33 bits of seconds since
// 1885-01-01 and 30 bits of nanoseconds; ext then holds the monotonic reading. checkTimeLayout fails the test if a
// Go release changes this, rather than letting the clock tests pass vacuously.
type timeLayout struct {
	wall uint64
	ext  int64
	loc  *time.Location
}

const hasMonotonicBit = 1 << 63

// withWall returns mono (which must carry a monotonic reading) with its wall clock part replaced by wall.
func withWall(mono, wall time.Time) time.Time {
	m := *(*timeLayout)(unsafe.Pointer(&mono))
	// The 1885-based seconds of mono give the offset to Unix seconds without hard-coding the epoch constant.
	offset := mono.Unix() - int64(m.wall<<1>>31)
	m.wall = hasMonotonicBit | uint64(wall.Unix()-offset)<<30 | uint64(wall.Nanosecond())
	return *(*time.Time)(unsafe.Pointer(&m))
}

// checkTimeLayout proves withWall does what the clock tests rely on: the wall part reads as asked, and Sub, After
// and Before follow the monotonic part.
func checkTimeLayout(t *testing.T) {
	t.Helper()
	if unsafe.Sizeof(time.Time{}) != unsafe.Sizeof(timeLayout{}) {
		t.Fatal("time.Time changed size: update timeLayout")
	}
	c := newSteppingClock()
	a := c.Now()
	c.Advance(time.Second)
	c.Step(-time.Hour)
	b := c.Now()
	if (*timeLayout)(unsafe.Pointer(&a)).wall&hasMonotonicBit == 0 {
		t.Fatal("time.Now carries no monotonic reading: the clock tests cannot run")
	}
	if got := b.Round(0).Sub(a.Round(0)); got != time.Second-time.Hour {
		t.Fatalf("wall parts differ by %s, want %s: update timeLayout", got, time.Second-time.Hour)
	}
	if b.Sub(a) != time.Second || !b.After(a) || b.Before(a) {
		t.Fatalf("monotonic comparison broken: b-a = %s", b.Sub(a))
	}
}

// TestWallClockStepsDoNotTouchRates steps the wall clock back and forth by an hour between samples, with a clock
// that behaves as time.Now does. Rates, windows and gauge expiry must follow the monotonic clock: every rate is
// exactly what one second of counter growth gives, nothing is negative, nothing vanishes.
func TestWallClockStepsDoNotTouchRates(t *testing.T) {
	checkTimeLayout(t)
	p := newFakeProc(t, "t0")
	clock := newSteppingClock()
	s, err := NewSampler(SamplerConfig{Interval: time.Second, Window: 10 * time.Second, Timeout: time.Second, Now: clock.Now}, allSources(t, p.dir))
	if err != nil {
		t.Fatal(err)
	}
	body := func() map[string]float64 {
		b, err := s.Exposition(false)
		if err != nil {
			t.Fatal(err)
		}
		return parseSamples(t, b)
	}
	reads := uint64(1000)
	writeDisk := func() {
		// 100 reads per sample, so 100 reads/s if and only if dt is the monotonic second.
		p.write("diskstats", "   8       0 sda "+uintString(reads)+" 0 "+uintString(8*reads)+" 0 0 0 0 0 0 "+uintString(reads)+" 0\n")
	}
	writeDisk()
	s.Sample()
	for i, step := range []time.Duration{-time.Hour, 2 * time.Hour, -time.Hour, -24 * time.Hour, 0, 365 * 24 * time.Hour} {
		reads += 100
		writeDisk()
		clock.Advance(time.Second)
		clock.Step(step)
		s.Sample()
		got := body()
		if v, ok := got[`servermon_disk_reads_per_second{device="sda"}`]; !ok || math.Abs(v-100) > 1e-9 {
			t.Fatalf("sample %d after a wall step of %s: reads/s = %v (present %v), want 100", i, step, v, ok)
		}
		// io_ticks grow by 100 ms per second: 10 % utilisation, whatever the wall clock says.
		if v := got[`servermon_disk_utilization_ratio{device="sda"}`]; math.Abs(v-0.1) > 1e-12 {
			t.Fatalf("sample %d: utilisation %v, want 0.1", i, v)
		}
		for k, v := range got {
			if v < 0 {
				t.Errorf("sample %d: %s = %v", i, k, v)
			}
		}
		if want := float64(i + 2); got["servermon_samples_total"] != want {
			t.Errorf("samples_total %v, want %v", got["servermon_samples_total"], want)
		}
	}
}

// TestWallOnlyClockGoingBackwardsSkipsSamples drives the sampler with a clock that has no monotonic reading (as a
// test clock, or a time that went through Round(0), has) and steps it back. The sampler cannot measure the interval
// then; it must skip the sample rather than record it out of order, log it once, and resume once the clock is past
// the last recorded sample, with rates over the real interval.
func TestWallOnlyClockGoingBackwardsSkipsSamples(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, 10*time.Second)
	reads := uint64(1000)
	writeDisk := func() {
		p.write("diskstats", "   8       0 sda "+uintString(reads)+" 0 0 0 0 0 0 0 0 0 0\n")
	}
	writeDisk()
	for range 5 {
		s.Sample()
		reads += 100
		writeDisk()
		s.clock.Advance(time.Second)
	}
	before := s.metrics(t)
	s.clock.Advance(-time.Minute) // the clock steps back a minute
	for range 30 {
		s.Sample()
		reads += 100
		writeDisk()
		s.clock.Advance(time.Second)
	}
	during := s.metrics(t)
	if during["servermon_samples_total"] != before["servermon_samples_total"] {
		t.Errorf("samples recorded while the clock was behind: %v, then %v", before["servermon_samples_total"], during["servermon_samples_total"])
	}
	if n := strings.Count(s.logs.String(), "clock went backwards"); n != 1 {
		t.Errorf("backwards clock logged %d times, want once:\n%s", n, s.logs)
	}
	for k, v := range during {
		if v < 0 {
			t.Errorf("%s = %v", k, v)
		}
	}
	// The clock is now 25 s behind the last recorded sample; 30 more seconds take it 5 s past.
	for range 30 {
		s.Sample()
		reads += 100
		writeDisk()
		s.clock.Advance(time.Second)
	}
	after := s.metrics(t)
	if after["servermon_samples_total"] <= before["servermon_samples_total"] {
		t.Fatalf("sampling did not resume: %v samples", after["servermon_samples_total"])
	}
	// Rates resume from a reading taken after the clock caught up: 100/s again, no burst from the skipped samples.
	if v := after[`servermon_disk_reads_per_second{device="sda"}`]; math.Abs(v-100) > 1e-9 {
		t.Errorf("reads/s after resuming = %v, want 100", v)
	}
}

func uintString(v uint64) string { return strconv.FormatUint(v, 10) }
