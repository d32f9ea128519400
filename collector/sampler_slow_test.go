package collector

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
)

// countingSource is a SlowSource that counts its reads and updates and exposes the read count.
type countingSource struct {
	reads, updates int
	gauge          *Gauge
}

var countingFamily = &Family{Name: "test_reads", Help: "Reads so far.", Slow: true}

func (c *countingSource) Name() string             { return "counting" }
func (c *countingSource) Slow()                    {}
func (c *countingSource) Read(time.Duration) error { c.reads++; return nil }
func (c *countingSource) Update(st *Store) {
	c.updates++
	if c.gauge == nil {
		c.gauge = st.Gauge(countingFamily)
	}
	st.Set(c.gauge, float64(c.reads))
}

func TestIntervalsBetweenSlowReads(t *testing.T) {
	for _, tc := range []struct {
		interval, window, slow time.Duration
		want                   int
	}{
		{time.Second, time.Minute, 5 * time.Second, 5},
		{2 * time.Second, time.Minute, 5 * time.Second, 3}, // 2.5 intervals round to 3
		{10 * time.Second, time.Minute, 5 * time.Second, 1},
		{time.Second, 4 * time.Second, 5 * time.Second, 2}, // two reads in every window
		{time.Second, time.Second, 5 * time.Second, 1},
		{time.Second, time.Minute, 0, 1},
	} {
		c := SamplerConfig{Interval: tc.interval, Window: tc.window, SlowInterval: tc.slow, Timeout: tc.interval}
		if got := c.slowIntervals(); got != tc.want {
			t.Errorf("interval %s, window %s, slow interval %s: %d intervals between reads, want %d", tc.interval, tc.window, tc.slow, got, tc.want)
		}
	}
}

func TestSlowSourceIsReadEverySlowInterval(t *testing.T) {
	src := &countingSource{}
	s := newSlowTestSampler(t, []Source{src}, 5*time.Second)
	var readAt []int
	for i := 0; i <= 20; i++ {
		before := src.reads
		s.Sample()
		if src.reads != before {
			readAt = append(readAt, i)
		}
		s.clock.Advance(time.Second)
	}
	if got, want := readAt, []int{0, 5, 10, 15, 20}; !slices.Equal(got, want) {
		t.Fatalf("read at seconds %v, want %v", got, want)
	}
	if src.updates != src.reads {
		t.Errorf("%d updates for %d reads: a sample without a read must not update", src.updates, src.reads)
	}
	m := s.metrics(t)
	// The window average of the values 1…5 set at the five reads.
	expectSamples(t, m, map[string]float64{"test_reads": 3, `servermon_collector_success{collector="counting"}`: 1})
	body := s.AppendMetrics(nil)
	if want := "# HELP test_reads Reads so far. Average over the last 1m of values sampled every 5s.\n"; !bytes.Contains(body, []byte(want)) {
		t.Errorf("HELP does not give the read spacing; want %q in\n%s", want, body)
	}
}

func TestEarlyTickDoesNotPutASlowReadOff(t *testing.T) {
	src := &countingSource{}
	s := newSlowTestSampler(t, []Source{src}, 5*time.Second)
	s.Sample()
	s.clock.Advance(4*time.Second + 600*time.Millisecond) // the fifth tick, 0.4 s early
	s.Sample()
	if src.reads != 2 {
		t.Errorf("%d reads, want 2: a tick a little early is still the tick of the next read", src.reads)
	}
}

func TestLoadAndPressureAreReadEverySlowInterval(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newSlowTestSampler(t, allSources(t, p.dir), 5*time.Second)
	s.Sample()
	// A garbled loadavg one second later is not read yet; at the fifth second it is, and reported.
	p.write("loadavg", "garbage\n")
	for i := 1; i < 5; i++ {
		s.clock.Advance(time.Second)
		s.Sample()
		expectSamples(t, s.metrics(t), map[string]float64{`servermon_collector_success{collector="load"}`: 1})
	}
	s.clock.Advance(time.Second)
	s.Sample()
	expectSamples(t, s.metrics(t), map[string]float64{`servermon_collector_success{collector="load"}`: 0})
	body := s.AppendMetrics(nil)
	for _, want := range []string{
		"# HELP servermon_load1 1-minute load average (runnable plus uninterruptible tasks), as /proc/loadavg shows it. Latest value, sampled every 5s.",
		"Average over the last 1m of values sampled every 1s.", // the gauges of the other sources
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestNoSlowIntervalReadsEverySample(t *testing.T) {
	src := &countingSource{}
	s := newSlowTestSampler(t, []Source{src}, 0)
	for range 7 {
		s.Sample()
		s.clock.Advance(time.Second)
	}
	if src.reads != 7 {
		t.Errorf("%d reads in 7 samples with --sample.slow-interval=0", src.reads)
	}
	body := s.AppendMetrics(nil)
	if want := "values sampled every 1s."; !bytes.Contains(body, []byte(want)) {
		t.Errorf("HELP lacks %q:\n%s", want, body)
	}
}

// newSlowTestSampler is newTestSampler at a 1 s interval and a 1 m window, with the given slow interval.
func newSlowTestSampler(t *testing.T, sources []Source, slow time.Duration) *testSampler {
	t.Helper()
	return newConfiguredTestSampler(t, sources, SamplerConfig{Interval: time.Second, Window: time.Minute, SlowInterval: slow, Timeout: time.Second})
}

// latestObserver records, after every sample, what the forecaster would read of a family: Gauge.Latest.
type latestObserver struct {
	family *Family
	seen   []float64 // NaN where Latest was not valid
}

func (o *latestObserver) ObserveSample(_ clock.Reading, st *Store) {
	v := math.NaN()
	st.Each(func(g *Gauge) {
		if g.Family() == o.family {
			if x, ok := g.Latest(); ok {
				v = x
			}
		}
	})
	o.seen = append(o.seen, v)
}

// TestLoadIsTheLatestRead: servermon_load1/5/15 show the latest read of /proc/loadavg, not a window mean of the
// reads, and the forecaster still gets each read's value, once, at the sample that read it.
func TestLoadIsTheLatestRead(t *testing.T) {
	p := newFakeProc(t, "t0")
	fs, err := NewProcFS(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	obs := &latestObserver{family: loadFamilies[0]}
	fake := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s, err := NewSampler(SamplerConfig{Interval: time.Second, Window: time.Minute, SlowInterval: 5 * time.Second,
		Timeout: time.Second, Clock: fake}, []Source{NewLoad(fs)}, obs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := &testSampler{Sampler: s, clock: fake}
	var want []float64
	for i := 0; i <= 30; i++ {
		load1 := 0.25 * float64(i)
		p.write("loadavg", strconv.FormatFloat(load1, 'f', 2, 64)+" "+strconv.FormatFloat(2*load1, 'f', 2, 64)+" 7.00 1/100 1000\n")
		s.Sample()
		if i%5 == 0 {
			want = append(want, load1)
		} else {
			want = append(want, math.NaN())
		}
		read := 0.25 * float64(i-i%5) // the value of the latest read
		expectSamples(t, ts.metrics(t), map[string]float64{"servermon_load1": read, "servermon_load5": 2 * read, "servermon_load15": 7})
		fake.Advance(time.Second)
	}
	for i, w := range want {
		if g := obs.seen[i]; !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
			t.Errorf("sample %d: the forecaster read load1 %v, want %v (NaN: none)", i, g, w)
		}
	}
}
