package collector

import (
	"testing"
	"time"
)

func TestPeakCatchesBurstBetweenScrapes(t *testing.T) {
	p := newFakeProc(t, "t0")
	src := sourcesNamed(t, p.dir, "cpu")
	s := newTestSampler(t, src, time.Second, time.Minute)
	user, idle := 10000, 80000
	write := func() {
		p.write("stat", "cpu  "+itoa(user)+" 0 0 "+itoa(idle)+" 0 0 0 0 0 0\ncpu0 "+itoa(user)+" 0 0 "+itoa(idle)+" 0 0 0 0 0 0\n")
	}
	write()
	s.Sample()
	for i := 1; i <= 60; i++ {
		if i >= 20 && i < 35 { // a 15 s burst at 100 % busy
			user += 100
		} else { // otherwise 10 % busy
			user += 10
			idle += 90
		}
		write()
		s.clock.Advance(time.Second)
		s.Sample()
	}
	got := s.metrics(t)
	// 15 s at 1.0 and 45 s at 0.1 → window average (15 + 4.5)/60 = 0.325, peak 1.
	expectSamples(t, got, map[string]float64{"servermon_cpu_usage_ratio": 0.325, "servermon_cpu_usage_peak_ratio": 1})
}

func TestWindowForgetsOldSamples(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, sourcesNamed(t, p.dir, "memory"), time.Second, 10*time.Second)
	meminfo := func(availableKB int) {
		p.write("meminfo", "MemTotal: 1000000 kB\nMemFree: 0 kB\nMemAvailable: "+itoa(availableKB)+" kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
	}
	meminfo(100000) // 90 % used
	s.Sample()
	meminfo(900000) // 10 % used
	for i := 1; i <= 10; i++ {
		s.clock.Advance(time.Second)
		s.Sample()
		if i == 9 {
			// The first sample's 0.9 is still one of the window's 10.
			expectSamples(t, s.metrics(t), map[string]float64{"servermon_memory_usage_ratio": 0.18, "servermon_memory_usage_peak_ratio": 0.9})
		}
	}
	expectSamples(t, s.metrics(t), map[string]float64{"servermon_memory_usage_ratio": 0.1, "servermon_memory_usage_peak_ratio": 0.1})
}
