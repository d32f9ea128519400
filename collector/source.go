package collector

import (
	"time"
)

// Source reads one subsystem of /proc. The sampler calls Read in a goroutine of its own, bounded by the
// collector timeout, and then, in the sampler goroutine, Update. Read must not touch the Store; Update must not do
// I/O. A Read error means the sample of this source is lost and reported through servermon_collector_success.
type Source interface {
	// Name is the collector name used in flags (--collector.NAME) and in the collector label; it is the Name
	// of the source's entry in Collectors.
	Name() string
	// Read reads the source's raw counters at now, the clock's monotonic time: rates divide by differences
	// of it.
	Read(now time.Duration) error
	// Update turns the latest Read into observations of this interval.
	Update(st *Store)
}

// SlowSource is a Source whose values need no reading at every sample: the kernel recomputes them more rarely
// (loadavg, every 5 s), or only their window average is exposed, which the counters at the window's edges give as
// well at any read spacing (pressure totals). The sampler reads it every SamplerConfig.SlowInterval; its families
// say so in their HELP (Family.Slow). Each /proc file is rendered anew on every read, so these reads skipped are
// a large part of what a sample costs the kernel.
type SlowSource interface {
	Source
	// Slow marks the source as a SlowSource; it does nothing.
	Slow()
}

// counterDelta returns cur − prev for a monotonically increasing kernel counter, and false when the counter went
// backwards: a reset (device re-created, CPU hot-plugged) or a 32-bit wrap. Either way the interval's rate is
// unknown, and skipping it beats reporting a negative or absurd value.
func counterDelta(cur, prev uint64) (float64, bool) {
	if cur < prev {
		return 0, false
	}
	return float64(cur - prev), true
}

// floatDelta is counterDelta for counters procfs exposes as float64 (CPU seconds).
func floatDelta(cur, prev float64) (float64, bool) {
	if cur < prev {
		return 0, false
	}
	return cur - prev, true
}
