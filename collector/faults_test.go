package collector

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
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
	time.Sleep(10 * time.Millisecond) // let the late read return
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

// TestMovedFilesAreReopened: in a tree that is not procfs, a file renamed away is not read any more through the
// descriptor held open, whether or not another file takes its name, and a file renamed over it is read at once.
func TestMovedFilesAreReopened(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Second) // windows of one sample
	meminfo := func(availableKB int) string {
		return "MemTotal: 1000000 kB\nMemFree: 0 kB\nMemAvailable: " + itoa(availableKB) + " kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"
	}
	rename := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(p.dir, from), filepath.Join(p.dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	sample := func() map[string]float64 {
		s.clock.Advance(time.Second)
		s.Sample()
		return s.metrics(t)
	}
	p.write("meminfo", meminfo(800000))
	expectSamples(t, sample(), map[string]float64{"servermon_memory_available_bytes": 800000 * 1024})

	// Moved away, nothing in its place: the collector fails rather than repeating the moved file's values.
	rename("meminfo", "meminfo.moved")
	p.write("meminfo.moved", meminfo(700000))
	expectSamples(t, sample(), map[string]float64{`servermon_collector_success{collector="memory"}`: 0})

	// Another file moved to the name while the first is still linked elsewhere.
	p.write("meminfo.next", meminfo(600000))
	rename("meminfo.next", "meminfo")
	expectSamples(t, sample(), map[string]float64{`servermon_collector_success{collector="memory"}`: 1,
		"servermon_memory_available_bytes": 600000 * 1024})
	p.write("meminfo.moved", meminfo(500000)) // the first file, changed where it now is: not ours any more
	expectSamples(t, sample(), map[string]float64{"servermon_memory_available_bytes": 600000 * 1024})

	// Moved away and straight back in: the same file, kept open.
	rename("meminfo", "meminfo.tmp")
	rename("meminfo.tmp", "meminfo")
	p.write("meminfo", meminfo(400000))
	expectSamples(t, sample(), map[string]float64{"servermon_memory_available_bytes": 400000 * 1024})
}

// TestProcfsFilesSkipTheRenameCheck: on a real procfs mount the files cannot be moved, and the check, a system
// call per read, is never set up.
func TestProcfsFilesSkipTheRenameCheck(t *testing.T) {
	f := &procFile{path: "/proc/loadavg", whole: true}
	if _, err := f.read(); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.onProcfs || f.cpath != nil || f.ino != 0 {
		t.Errorf("/proc/loadavg: onProcfs %v, stat path %q, inode %d: the rename check is set up on procfs", f.onProcfs, f.cpath, f.ino)
	}
	fake := &procFile{path: filepath.Join(newFakeProc(t, "t0").dir, "loadavg"), whole: true}
	if _, err := fake.read(); err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	if fake.onProcfs || fake.ino == 0 {
		t.Errorf("fixture loadavg: onProcfs %v, inode %d: the rename check is not set up off procfs", fake.onProcfs, fake.ino)
	}
}
