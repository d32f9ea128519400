package collector

import (
	"testing"
	"time"
)

func TestMemAvailableFallback(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Minute)
	// A pre-3.14 kernel: available = MemFree + Buffers + Cached + SReclaimable = 1000000+200000+2500000+300000 kB.
	p.write("meminfo", "MemTotal: 8000000 kB\nMemFree: 1000000 kB\nBuffers: 200000 kB\nCached: 2500000 kB\nSReclaimable: 300000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
	s.Sample()
	expectSamples(t, s.metrics(t), map[string]float64{
		"servermon_memory_available_bytes": 4000000 * 1024,
		"servermon_memory_usage_ratio":     0.5,
		"servermon_swap_usage_ratio":       0, // no swap: nothing used
	})
}
