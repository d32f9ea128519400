package collector

import (
	"math"
	"strings"

	"github.com/servermon/servermon_exporter/internal/exposition"
)

// Family describes one exposed gauge family, and optionally its peak companion.
type Family struct {
	// Name is the full metric name of the window average, e.g. servermon_cpu_usage_ratio.
	Name string
	// Help is the HELP text of the average.
	Help string
	// LabelNames are the names of the family's labels, in exposition order.
	LabelNames []string
	// PeakName, when not empty, is the name of a second family holding the window peak.
	PeakName string
	// PeakHelp is the HELP text of the peak family.
	PeakHelp string
	// Max, when positive, clamps every per-interval value (a ratio cannot exceed 1 even when the kernel's
	// counters and our clock disagree by a tick).
	Max float64
	// Target, when set, makes this family a forecast target.
	Target *Target
	// Slow is set on the families of a SlowSource, whose values are read every SamplerConfig.SlowInterval.
	Slow bool
	// Latest exposes the newest value in the window instead of the window average, for values the kernel already
	// averages over time (the load averages): averaging them again would smooth them twice and lag behind the
	// value /proc shows. A Latest family has no peak.
	Latest bool
}

// sample is one interval's contribution to a gauge, at a time in nanoseconds since the store's first sample
// (Store.offset): no pointer, so the rings are not scanned by the garbage collector, and 24 bytes, not 40.
type sample struct {
	at       int64
	num, den float64
}

// Gauge is one labelled series of a Family: a ring of per-interval samples covering at least the window.
type Gauge struct {
	family      *Family
	labelValues []string
	labelText   string // pre-rendered `{a="b"}` or ""
	key         string
	createdAt   int64 // Store.offset of the sample it was created at
	attached    bool

	ring  []sample
	head  int // index of the next write
	count int

	latest      float64
	latestValid bool
	seq         uint64 // sampler sequence number of the latest observation
	// capacity, for a ratio, is what it is a share of (a filesystem's usable bytes), 0 when unknown; a change of
	// it changes the ratio's units.
	capacity float64
}

func newGauge(f *Family, capacity int, labelValues []string) *Gauge {
	g := &Gauge{
		family:      f,
		labelValues: append([]string(nil), labelValues...),
		ring:        make([]sample, capacity),
	}
	g.labelText = exposition.Labels(f.LabelNames, labelValues)
	g.key = gaugeKey(f, labelValues)
	return g
}

func gaugeKey(f *Family, labelValues []string) string {
	return f.Name + "\xff" + strings.Join(labelValues, "\xff")
}

// Family returns the gauge's family.
func (g *Gauge) Family() *Family { return g.family }

// LabelValues returns the gauge's label values, in the order of Family.LabelNames. The caller must not modify them.
func (g *Gauge) LabelValues() []string { return g.labelValues }

// Label returns the value of the named label, or "".
func (g *Gauge) Label(name string) string {
	for i, n := range g.family.LabelNames {
		if n == name {
			return g.labelValues[i]
		}
	}
	return ""
}

// Latest returns the value of the most recent interval, if the most recent sample produced one.
func (g *Gauge) Latest() (float64, bool) { return g.latest, g.latestValid }

// Capacity returns, for a ratio, what it is a share of in its latest read (a filesystem's used + available bytes,
// its inode count), and 0 when the gauge has none. A forecast of the ratio rescales its history when it changes
// (a resize), so that the same used bytes keep the same meaning.
func (g *Gauge) Capacity() float64 { return g.capacity }

// observe records one interval whose value is num/den. den = 0 with num = 0 records an interval without events
// (a disk that did no reads has no read await): it keeps the series present, reading 0 like iostat does, but does
// not count towards the average or the peak.
func (g *Gauge) observe(at int64, seq uint64, num, den float64) {
	if math.IsNaN(num) || math.IsNaN(den) || math.IsInf(num, 0) || math.IsInf(den, 0) || den < 0 || (den == 0 && num != 0) {
		return
	}
	if num < 0 {
		num = 0
	}
	if m := g.family.Max; m > 0 && num > m*den {
		num = m * den
	}
	g.ring[g.head] = sample{at: at, num: num, den: den}
	g.head = (g.head + 1) % len(g.ring)
	if g.count < len(g.ring) {
		g.count++
	}
	if den > 0 {
		g.latest, g.latestValid, g.seq = num/den, true, seq
	}
}

// window returns the average Σnum/Σden and the peak max(num/den) over the samples taken after since.
func (g *Gauge) window(since int64) (avg, peak float64, ok bool) {
	var sumNum, sumDen float64
	n := 0
	peak = 0
	for i := 0; i < g.count; i++ {
		s := &g.ring[(g.head-1-i+2*len(g.ring))%len(g.ring)]
		if s.at <= since {
			break // the ring is in time order; everything older is outside the window too
		}
		n++
		if s.den == 0 {
			continue
		}
		sumNum += s.num
		sumDen += s.den
		if v := s.num / s.den; v > peak {
			peak = v
		}
	}
	switch {
	case n == 0:
		return 0, 0, false
	case sumDen == 0:
		return 0, 0, true
	}
	return sumNum / sumDen, peak, true
}

// newest returns the value of the newest interval taken after since that has one (den > 0).
func (g *Gauge) newest(since int64) (float64, bool) {
	for i := 0; i < g.count; i++ {
		s := &g.ring[(g.head-1-i+2*len(g.ring))%len(g.ring)]
		if s.at <= since {
			break
		}
		if s.den > 0 {
			return s.num / s.den, true
		}
	}
	return 0, false
}

// newestAt returns the time of the newest sample, and false when there is none.
func (g *Gauge) newestAt() (int64, bool) {
	if g.count == 0 {
		return 0, false
	}
	return g.ring[(g.head-1+len(g.ring))%len(g.ring)].at, true
}
