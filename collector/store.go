package collector

import (
	"slices"
	"strings"
	"time"
)

// Store holds every gauge the sources produce, in a stable order: families in registration order, gauges of a
// family sorted by label values. It is owned by the Sampler, which serialises access to it.
type Store struct {
	capacity int
	families []*familyGauges
	byFamily map[*Family]*familyGauges
	byKey    map[string]*Gauge

	now   time.Duration // monotonic time of the sample being recorded
	nowAt int64         // its offset
	seq   uint64        // sequence number of the sample being recorded
	// base is the monotonic time of the first sample; samples are stored at their offset from it.
	base    time.Duration
	hasBase bool
}

type familyGauges struct {
	family *Family
	gauges []*Gauge // sorted by key
}

// newStore returns a store whose rings hold capacity samples per gauge.
func newStore(capacity int) *Store {
	return &Store{capacity: capacity, byFamily: map[*Family]*familyGauges{}, byKey: map[string]*Gauge{}}
}

// Gauge returns the gauge of family f with the given label values, creating it on first use. Sources keep the
// returned handle so that the per-sample path does not allocate.
func (s *Store) Gauge(f *Family, labelValues ...string) *Gauge {
	if g, ok := s.byKey[gaugeKey(f, labelValues)]; ok {
		return g
	}
	g := newGauge(f, s.capacity, labelValues)
	g.createdAt = s.nowAt
	s.attach(g)
	return g
}

// attach inserts g into its family's sorted list.
func (s *Store) attach(g *Gauge) {
	fg, ok := s.byFamily[g.family]
	if !ok {
		fg = &familyGauges{family: g.family}
		s.byFamily[g.family] = fg
		s.families = append(s.families, fg)
	}
	i, _ := slices.BinarySearchFunc(fg.gauges, g.key, func(a *Gauge, k string) int { return strings.Compare(a.key, k) })
	fg.gauges = slices.Insert(fg.gauges, i, g)
	s.byKey[g.key] = g
	g.attached = true
}

// Remove deletes a gauge, e.g. of a disk that disappeared, so that its series vanish at once.
func (s *Store) Remove(g *Gauge) {
	if g == nil || s.byKey[g.key] != g {
		return
	}
	delete(s.byKey, g.key)
	g.attached = false
	fg := s.byFamily[g.family]
	fg.gauges = slices.DeleteFunc(fg.gauges, func(x *Gauge) bool { return x == g })
}

// Observe records the value num/den of the current interval for gauge g. A gauge that had expired is brought back.
func (s *Store) Observe(g *Gauge, num, den float64) {
	if !g.attached {
		if other, ok := s.byKey[g.key]; ok {
			g = other // the source re-created it meanwhile; keep one series per label set
		} else {
			s.attach(g)
		}
	}
	g.observe(s.nowAt, s.seq, num, den)
}

// Set records an instantaneous value (den = 1) for gauge g.
func (s *Store) Set(g *Gauge, v float64) { s.Observe(g, v, 1) }

// Each calls fn for every gauge, in exposition order.
func (s *Store) Each(fn func(*Gauge)) {
	for _, fg := range s.families {
		for _, g := range fg.gauges {
			fn(g)
		}
	}
}

// begin starts recording the sample taken at now.
func (s *Store) begin(now time.Duration) {
	s.seq++
	if !s.hasBase {
		s.base, s.hasBase = now, true
	}
	s.now, s.nowAt = now, s.offset(now)
	for _, fg := range s.families {
		for _, g := range fg.gauges {
			g.latestValid = false
		}
	}
}

// expire removes gauges whose newest sample is older than cutoff: a series that nothing observes any more must
// not linger in the output.
func (s *Store) expire(cutoff time.Duration) {
	at := s.offset(cutoff)
	for _, fg := range s.families {
		fg.gauges = slices.DeleteFunc(fg.gauges, func(g *Gauge) bool {
			if newest, ok := g.newestAt(); (ok && newest > at) || g.createdAt > at {
				return false
			}
			delete(s.byKey, g.key)
			g.attached = false
			return true
		})
	}
}

// offset is the monotonic time t in nanoseconds since the first sample.
func (s *Store) offset(t time.Duration) int64 { return int64(t - s.base) }
