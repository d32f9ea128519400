package collector

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/eventually"
)

func TestMissingFileFailsOnlyItsCollector(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Minute)
	p.remove("meminfo")
	for range 3 {
		s.Sample()
		s.clock.Advance(time.Second)
	}
	got := s.metrics(t)
	expectSamples(t, got, map[string]float64{
		`servermon_collector_success{collector="memory"}`: 0,
		`servermon_collector_success{collector="cpu"}`:    1,
		`servermon_collector_success{collector="load"}`:   1,
		"servermon_load1": 0.5,
	})
	expectAbsent(t, got, "servermon_memory_", "servermon_swap_")
	if n := strings.Count(s.logs.String(), "collector failed"); n != 1 {
		t.Errorf("failure logged %d times over 3 samples, want once:\n%s", n, s.logs)
	}

	p.load("t0")
	s.Sample()
	expectSamples(t, s.metrics(t), map[string]float64{`servermon_collector_success{collector="memory"}`: 1, "servermon_memory_usage_ratio": 0.5})
	if !strings.Contains(s.logs.String(), "collector recovered") {
		t.Errorf("recovery not logged:\n%s", s.logs)
	}
}

func TestMalformedFilesNeverPanic(t *testing.T) {
	garbage := []string{"", "\x00\xff\xfe", "cpu", "cpu  a b c d e f g h i j\n", "cpu  1 2 3\n", "MemTotal: x kB\n",
		"1.0 2.0\n", "-1.0 -2.0 -3.0 1/1 1\n", "8 0 sda 1 2 3\n", "   8       0 sda " + strings.Repeat("18446744073709551615 ", 17) + "\n",
		"some avg10=x\n", "full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n", strings.Repeat("x", 1<<16)}
	files := []string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu", "1/mountinfo"}
	for _, file := range files {
		for _, g := range garbage {
			p := newFakeProc(t, "t0")
			s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Minute)
			s.Sample()
			p.write(file, g)
			s.clock.Advance(time.Second)
			s.Sample() // must not panic
			got := s.metrics(t)
			for k, v := range got {
				if (strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_ratio")) && (v < 0 || v > 1) {
					t.Errorf("%s with %q in %s: %s = %v outside [0, 1]", file, g, file, k, v)
				}
				if v < 0 {
					t.Errorf("%s with %q: %s = %v negative", file, g, k, v)
				}
			}
		}
	}
}

func TestMalformedLoadavgReportsFailure(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Minute)
	p.write("loadavg", "garbage\n")
	s.Sample()
	expectSamples(t, s.metrics(t), map[string]float64{`servermon_collector_success{collector="load"}`: 0})
}

func TestCountersGoingBackwardsSkipTheInterval(t *testing.T) {
	p := newFakeProc(t, "t1")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Minute)
	s.Sample()
	p.load("t0") // CPU, sda and PSI counters go backwards: CPU hot-plug, disk re-created, 32-bit wrap
	s.clock.Advance(time.Second)
	s.Sample()
	got := s.metrics(t)
	expectAbsent(t, got, "servermon_cpu_usage", `servermon_disk_reads_per_second{device="sda"}`,
		`servermon_disk_utilization_ratio{device="sda"}`, "servermon_pressure_")
	// dm-0 went from 5 to 50 reads in that second: a plain forward interval.
	expectSamples(t, got, map[string]float64{`servermon_disk_reads_per_second{device="dm-0"}`: 45})
	p.load("t1") // and forward again: rates from the new base
	s.clock.Advance(10 * time.Second)
	s.Sample()
	expectSamples(t, s.metrics(t), map[string]float64{
		"servermon_cpu_usage_ratio":                      0.45,
		`servermon_disk_utilization_ratio{device="sda"}`: 0.5 * 10000 / 10000,
	})
}

func TestDevicesComeAndGo(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Minute)
	s.Sample()
	s.clock.Advance(time.Second)
	s.Sample()
	if _, ok := s.metrics(t)[`servermon_disk_utilization_ratio{device="sda"}`]; !ok {
		t.Fatal("sda missing")
	}
	if _, ok := s.metrics(t)[`servermon_disk_discards_per_second{device="nvme0n1"}`]; !ok {
		t.Fatal("nvme0n1's discards missing")
	}
	// nvme0n1 is now listed without the discard fields (as after a driver change): its discard series go.
	p.write("diskstats", "   8      16 sdb 10 0 80 1 0 0 0 0 0 1 1\n 259 0 nvme0n1 2000 0 160000 1000 3000 0 240000 6000 0 4000 7000\n")
	s.clock.Advance(time.Second)
	s.Sample()
	got := s.metrics(t)
	expectAbsent(t, got, `servermon_disk_utilization_ratio{device="sda"}`, `servermon_disk_reads_per_second{device="sda"}`,
		`servermon_disk_discard`)
	expectSamples(t, got, map[string]float64{`servermon_disk_reads_per_second{device="nvme0n1"}`: 0})
	expectAbsent(t, got, `servermon_disk_utilization_ratio{device="sdb"}`) // one sample: no rate yet
	p.write("diskstats", "   8      16 sdb 20 0 160 2 0 0 0 0 0 501 1\n 259 0 nvme0n1 2000 0 160000 1000 3000 0 240000 6000 0 4000 7000\n")
	s.clock.Advance(time.Second)
	s.Sample()
	expectSamples(t, s.metrics(t), map[string]float64{
		`servermon_disk_reads_per_second{device="sdb"}`:  10,
		`servermon_disk_utilization_ratio{device="sdb"}`: 0.5,
	})
	p.write("diskstats", "")
	s.clock.Advance(time.Second)
	s.Sample()
	got = s.metrics(t)
	expectAbsent(t, got, "servermon_disk_")
	expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="disk"}`: 1})
}

func TestNoPressureIsNotAnError(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Minute)
	p.remove("pressure")
	s.Sample()
	s.clock.Advance(time.Second)
	s.Sample()
	got := s.metrics(t)
	expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="pressure"}`: 1})
	expectAbsent(t, got, "servermon_pressure_")
}

// blockingSource's Read blocks until released, as a read of a hung filesystem would.
type blockingSource struct {
	release chan struct{}
	block   atomic.Bool
}

func (b *blockingSource) Name() string { return "blocking" }
func (b *blockingSource) Read(time.Duration) error {
	if b.block.Load() {
		<-b.release
		return errors.New("late")
	}
	return nil
}
func (b *blockingSource) Update(*Store) {}

func TestSlowCollectorTimesOutAlone(t *testing.T) {
	p := newFakeProc(t, "t0")
	slow := &blockingSource{release: make(chan struct{})}
	slow.block.Store(true)
	sources := append(sourcesNamed(t, p.dir, "load"), slow)
	s, err := NewSampler(SamplerConfig{Interval: time.Second, Window: time.Minute, Timeout: 20 * time.Millisecond, Clock: clock.NewFake(time.Unix(1e9, 0))}, sources)
	if err != nil {
		t.Fatal(err)
	}
	s.Sample()
	s.Sample() // the first read is still blocked: not started again, still failed
	body := s.AppendMetrics(nil)
	got := parseSamples(t, body)
	expectSamples(t, got, map[string]float64{
		`servermon_collector_success{collector="blocking"}`: 0,
		`servermon_collector_success{collector="load"}`:     1,
	})
	slow.block.Store(false)
	close(slow.release)
	// The late read returns and hands its outcome to the sampler, which takes it at the next sample.
	var late *sourceState
	for _, st := range s.sources {
		if st.src == Source(slow) {
			late = st
		}
	}
	eventually.Must(t, 10*time.Second, "the late read to return", func() error {
		if len(late.done) == 0 {
			return errors.New("still reading")
		}
		return nil
	})
	s.Sample()
	s.Sample()
	body = s.AppendMetrics(nil)
	expectSamples(t, parseSamples(t, body), map[string]float64{`servermon_collector_success{collector="blocking"}`: 1})
}

func TestSamplerConfigValidation(t *testing.T) {
	for _, c := range []SamplerConfig{
		{Interval: 0, Window: time.Minute, Timeout: time.Second},
		{Interval: time.Second, Window: time.Millisecond, Timeout: time.Second},
		{Interval: time.Second, Window: time.Minute, Timeout: 2 * time.Second},
		{Interval: time.Millisecond, Window: time.Hour, Timeout: time.Millisecond},
	} {
		if _, err := NewSampler(c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
