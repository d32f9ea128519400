package main

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// steppingClock is a host clock being stepped by NTP: every reading carries a monotonic part that advances with the
// time that passes, and a wall part that jumps on Step. Go cannot build such a time.Time, so withWall rewrites the
// wall part of a real monotonic reading (collector/reliability_clock_test.go has the same helper and its checks).
type steppingClock struct {
	base    time.Time     // a real time.Now(), with a monotonic reading
	elapsed time.Duration // monotonic time since base
	offset  time.Duration // wall time minus (base + elapsed)
}

// newSteppingClock returns a clock whose wall part starts at wall.
func newSteppingClock(wall time.Time) *steppingClock {
	base := time.Now()
	return &steppingClock{base: base, offset: wall.Sub(base.Round(0))}
}

func (c *steppingClock) Now() time.Time {
	mono := c.base.Add(c.elapsed)
	return withWall(mono, mono.Round(0).Add(c.offset))
}

func (c *steppingClock) Advance(d time.Duration) { c.elapsed += d }
func (c *steppingClock) Step(d time.Duration)    { c.offset += d }

type timeLayout struct {
	wall uint64
	ext  int64
	loc  *time.Location
}

const hasMonotonicBit = 1 << 63

// withWall returns mono, which must carry a monotonic reading, with its wall part replaced by wall. time.Time keeps,
// with a monotonic reading, 33 bits of seconds since 1885 and 30 bits of nanoseconds in wall, the reading in ext.
func withWall(mono, wall time.Time) time.Time {
	m := *(*timeLayout)(unsafe.Pointer(&mono))
	offset := mono.Unix() - int64(m.wall<<1>>31)
	m.wall = hasMonotonicBit | uint64(wall.Unix()-offset)<<30 | uint64(wall.Nanosecond())
	return *(*time.Time)(unsafe.Pointer(&m))
}

// checkSteppingClock fails the test when withWall no longer works (a Go release changed time.Time), so the clock
// tests cannot pass without testing anything.
func checkSteppingClock(t *testing.T) {
	t.Helper()
	if unsafe.Sizeof(time.Time{}) != unsafe.Sizeof(timeLayout{}) {
		t.Fatal("time.Time changed size: update timeLayout")
	}
	wall := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	c := newSteppingClock(wall)
	a := c.Now()
	c.Advance(time.Second)
	c.Step(-time.Hour)
	b := c.Now()
	if !a.Round(0).Equal(wall) || !b.Round(0).Equal(wall.Add(time.Second-time.Hour)) {
		t.Fatalf("wall parts %s, %s: update timeLayout", a.Round(0), b.Round(0))
	}
	if b.Sub(a) != time.Second || !b.After(a) {
		t.Fatalf("monotonic comparison broken: b-a = %s", b.Sub(a))
	}
}

// newClockedExporter is an exporter over a fresh scenario (10 s samples and forecast steps) driven by clock.
func newClockedExporter(t *testing.T, now func() time.Time, extra ...string) *testExporter {
	t.Helper()
	sc := newScenario(t, 10)
	args := append([]string{"--path.procfs=" + sc.dir, "--sample.interval=10s", "--sample.window=1m", "--collector.timeout=1s",
		"--forecast.step=10s", "--forecast.history=1d", "--forecast.horizon=1m"}, extra...)
	cfg := mustParseFlags(t, args...)
	exp, err := newExporter(cfg, slog.New(slog.DiscardHandler), now)
	if err != nil {
		t.Fatal(err)
	}
	return &testExporter{exporter: exp, scenario: sc}
}

// TestWallClockStepsDoNotReorderForecasts steps the wall clock back and forth by up to a day while the exporter
// samples every 10 s, with a clock that behaves as time.Now does. The forecasts must see one step per 10 s of
// monotonic time: each series' newest step advances by exactly one step per sample, its history grows by one step
// per sample (no gap filled, no reset), and no step is rejected.
func TestWallClockStepsDoNotReorderForecasts(t *testing.T) {
	checkSteppingClock(t)
	clock := newSteppingClock(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	e := newClockedExporter(t, clock.Now)
	steps := map[int]time.Duration{20: -time.Hour, 35: time.Hour, 50: -24 * time.Hour, 51: 24 * time.Hour, 70: -5 * time.Minute, 90: 365 * 24 * time.Hour}
	var prevLast time.Time
	for i := range 120 {
		if d, ok := steps[i]; ok {
			clock.Step(d)
		}
		e.sampler.Sample()
		e.scenario.advance(t)
		clock.Advance(10 * time.Second)
		tg := e.forecasts.targets[targetKey("memory_usage_ratio", "")]
		if tg == nil {
			t.Fatalf("sample %d: no memory forecast", i)
		}
		last, _, ok := tg.series.Last()
		if i == 0 {
			if ok {
				t.Fatal("a step finished after one sample")
			}
			continue
		}
		if !ok {
			t.Fatalf("sample %d: no step pushed", i)
		}
		if i > 1 && last.Sub(prevLast) != 10*time.Second {
			t.Fatalf("sample %d (wall stepped %s): newest step moved by %s, want 10s", i, steps[i], last.Sub(prevLast))
		}
		prevLast = last
		if h, want := tg.series.HistorySeconds(), float64(i*10); h != want {
			t.Fatalf("sample %d: %v s of history, want %v", i, h, want)
		}
	}
}

// TestRestartWithStateAheadOfTheClockContinues: a process that started while the wall clock was a day ahead (an
// RTC in local time, a board without RTC) keeps that offset on its forecast time axis after NTP corrects the wall
// clock, since the axis follows the monotonic clock. Its state file is then a day "ahead" of the next process'
// clock, though its saved-at (wall time) is not. The next process must continue the forecasts at once, not refuse
// every step for a day.
func TestRestartWithStateAheadOfTheClockContinues(t *testing.T) {
	checkSteppingClock(t)
	path := filepath.Join(t.TempDir(), "state")
	correct := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	clock := newSteppingClock(correct.Add(24 * time.Hour))
	first := newClockedExporter(t, clock.Now, "--forecast.state-file="+path)
	for i := range 100 {
		if i == 5 {
			clock.Step(-24 * time.Hour) // NTP corrects the wall clock
		}
		first.sampler.Sample()
		first.scenario.advance(t)
		clock.Advance(10 * time.Second)
	}
	first.saveState()
	saved := first.forecasts.targets[targetKey("memory_usage_ratio", "")].series.HistorySeconds()

	restarted := newSteppingClock(clock.Now().Round(0).Add(time.Minute))
	logs := &syncBuffer{}
	second := newClockedExporter(t, restarted.Now, "--forecast.state-file="+path)
	second.logger = slogText(logs)
	second.forecasts.logger = second.logger
	second.loadState()
	if !strings.Contains(logs.String(), "forecast state loaded") {
		t.Fatalf("state not loaded:\n%s", logs)
	}
	for range 50 {
		second.sampler.Sample()
		second.scenario.advance(t)
		restarted.Advance(10 * time.Second)
	}
	tg := second.forecasts.targets[targetKey("memory_usage_ratio", "")]
	if h := tg.series.HistorySeconds(); h < saved+400 {
		t.Errorf("history %v s after 50 samples following a restart with %v s: steps were refused", h, saved)
	}
	if _, ok := tg.series.Forecast(0); !ok {
		t.Error("no forecast after the restart")
	}
}
