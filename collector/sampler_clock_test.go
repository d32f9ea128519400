package collector

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
)

// TestWallClockStepsDoNotTouchRates steps the wall clock back and forth by up to a year between samples while
// time passes steadily. Rates, windows and gauge expiry must follow the monotonic clock: every rate is exactly
// what one second of counter growth gives, nothing is negative, nothing vanishes.
func TestWallClockStepsDoNotTouchRates(t *testing.T) {
	p := newFakeProc(t, "t0")
	fake := clock.NewFake(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	s, err := NewSampler(SamplerConfig{Interval: time.Second, Window: 10 * time.Second, Timeout: time.Second, Clock: fake}, allSources(t, p.dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // the filesystem source's statfs goroutines
	body := func() map[string]float64 {
		b := s.AppendMetrics(nil)
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
		fake.Advance(time.Second)
		fake.Step(step)
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

// brokenClock is a clock whose monotonic time can be set back, as no correct clock's can.
type brokenClock struct {
	mu   sync.Mutex
	mono time.Duration
}

func (c *brokenClock) Now() clock.Reading {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clock.Reading{Wall: time.Unix(1.7e9, 0).Add(c.mono), Mono: c.mono}
}

func (c *brokenClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.mono += d
	c.mu.Unlock()
}

// TestClockGoingBackwardsSkipsSamples drives the sampler with a clock whose monotonic time goes back. The sampler
// cannot measure the interval then; it must skip the sample rather than record it out of order, log it once, and
// resume once the clock is past the last recorded sample, with rates over the real interval.
func TestClockGoingBackwardsSkipsSamples(t *testing.T) {
	p := newFakeProc(t, "t0")
	broken := &brokenClock{}
	s := newConfiguredTestSampler(t, allSources(t, p.dir), SamplerConfig{Interval: time.Second, Window: 10 * time.Second, Timeout: time.Second, Clock: broken})
	reads := uint64(1000)
	writeDisk := func() {
		p.write("diskstats", "   8       0 sda "+uintString(reads)+" 0 0 0 0 0 0 0 0 0 0\n")
	}
	writeDisk()
	// sample samples n seconds of 100 reads a second.
	sample := func(n int) {
		for range n {
			s.Sample()
			reads += 100
			writeDisk()
			broken.Advance(time.Second)
		}
	}
	sample(5)
	before := s.metrics(t)
	broken.Advance(-time.Minute) // the clock goes back a minute
	sample(30)
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
	sample(30) // the clock was 25 s behind the last recorded sample; this takes it 5 s past
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
