package collector

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

// benchSampler is a sampler of every source reading dir, whose clock moves one interval at every Sample.
type benchSampler struct {
	*Sampler
	clock  *clock.Fake
	statfs *atomic.Int64 // statfs calls so far
}

func (s benchSampler) Sample() {
	s.clock.Advance(time.Second)
	s.Sampler.Sample()
}

// newBenchSampler returns a benchSampler that has taken its first samples, reading the slow sources every
// slowInterval (0: at every sample), with the default exclusions and the real statfs, counted.
func newBenchSampler(b *testing.B, dir string, perCPU bool, slowInterval time.Duration) benchSampler {
	b.Helper()
	proc, err := NewProcFS(dir)
	if err != nil {
		b.Fatal(err)
	}
	calls := &atomic.Int64{}
	cfg := Config{CPU: CPUConfig{PerCPU: perCPU}, Disk: DiskConfig{Exclude: mustCompile(DefaultDiskExclude)},
		Filesystem: FilesystemConfig{MountPointsExclude: mustCompile(DefaultMountPointsExclude), FSTypesExclude: mustCompile(DefaultFSTypesExclude),
			Statfs: func(path string, st *syscall.Statfs_t) error { calls.Add(1); return Statfs(path, st) }}}
	sources := NewSources(proc, cfg, func(string) bool { return true })
	fake := clock.NewFake(time.Unix(1.7e9, 0))
	sampler, err := NewSampler(SamplerConfig{Interval: time.Second, Window: time.Minute, SlowInterval: slowInterval, Timeout: time.Second, Clock: fake}, sources)
	if err != nil {
		b.Fatal(err)
	}
	sampler.Start() // as Run does
	b.Cleanup(sampler.Close)
	s := benchSampler{Sampler: sampler, clock: fake, statfs: calls}
	for range 3 { // files opened, gauges created, buffers and maps grown
		s.Sample()
	}
	if calls.Load() == 0 {
		b.Fatal("no statfs in three samples: the filesystem collector reports nothing")
	}
	return s
}

// BenchmarkSample is one background sample of all six sources: reads, parsing, window bookkeeping. The steady
// state allocates nothing. The slow sources (load, pressure, filesystem) are read at every sample but in the
// slow5s cases, which read them every 5 samples as the exporter's defaults do: there statfs/op is a fifth of
// the mounts, the statfs calls happening on slow samples only.
func BenchmarkSample(b *testing.B) {
	synth := b.TempDir()
	staticProc(b, synth, 128, 64)
	for _, c := range []struct {
		name   string
		dir    string
		perCPU bool
		slow   time.Duration
	}{
		{"fixture", "../testdata/proc/t0", true, 0},
		{"proc", "/proc", false, 0},
		{"proc-slow5s", "/proc", false, 5 * time.Second},
		{"proc-percpu", "/proc", true, 0},
		{"synthetic-128cpu-64disk", synth, false, 0},
		{"synthetic-128cpu-64disk-slow5s", synth, false, 5 * time.Second},
		{"synthetic-128cpu-64disk-percpu", synth, true, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newBenchSampler(b, c.dir, c.perCPU, c.slow)
			before := s.statfs.Load()
			b.ReportAllocs()
			for b.Loop() {
				s.Sample()
			}
			b.ReportMetric(float64(s.statfs.Load()-before)/float64(b.N), "statfs/op")
		})
	}
}

// BenchmarkSampleScale is the cost curve of a sample over machine size: CPUs (per-CPU gauges on) and disks.
func BenchmarkSampleScale(b *testing.B) {
	for _, size := range [][2]int{{2, 1}, {8, 1}, {32, 1}, {128, 1}, {2, 4}, {2, 16}, {2, 64}, {2, 256}, {128, 256}} {
		b.Run(fmt.Sprintf("cpus=%d/disks=%d", size[0], size[1]), func(b *testing.B) {
			dir := b.TempDir()
			staticProc(b, dir, size[0], size[1])
			s := newBenchSampler(b, dir, true, 0)
			b.ReportAllocs()
			for b.Loop() {
				s.Sample()
			}
		})
	}
}

// BenchmarkExposition renders the body a scrape after a new sample gets, plain and gzipped: the work of the first
// scrape of every sample; later scrapes of it reuse the bodies.
func BenchmarkExposition(b *testing.B) {
	synth := b.TempDir()
	staticProc(b, synth, 128, 64)
	for _, c := range []struct{ name, dir string }{{"proc", "/proc"}, {"synthetic-128cpu-64disk", synth}} {
		for _, gz := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/gzip=%v", c.name, gz), func(b *testing.B) {
				s := newBenchSampler(b, c.dir, true, 0)
				gen := uint64(0)
				body := exposition.NewBody(func() uint64 { return gen }, s)
				b.ReportAllocs()
				for b.Loop() {
					gen++ // as a new sample would
					text, err := body.Bytes(gz)
					if err != nil || len(text) == 0 {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkParse compares the fast parsers with procfs's on the same content (procfs also reads the file).
func BenchmarkParse(b *testing.B) {
	dir := b.TempDir()
	staticProc(b, dir, 128, 64)
	proc, err := NewProcFS(dir)
	if err != nil {
		b.Fatal(err)
	}
	var (
		st   statReading
		mi   meminfoReading
		psi  psiReading
		disk []diskLine
	)
	for _, p := range []struct {
		file       string
		fast       func([]byte) bool
		withProcfs func() error
	}{
		{"stat", func(d []byte) bool { return parseStat(d, &st) }, func() error { _, err := proc.fs.Stat(); return err }},
		{"meminfo", func(d []byte) bool { return parseMeminfo(d, &mi) }, func() error { _, err := proc.fs.Meminfo(); return err }},
		{"pressure/io", func(d []byte) bool { return parsePSI(d, &psi) }, func() error { _, err := proc.fs.PSIStatsForResource("io"); return err }},
		{"diskstats", func(d []byte) bool {
			var ok bool
			disk, ok = parseDiskstats(d, disk)
			return ok
		}, func() error { _, err := proc.bd.ProcDiskstats(); return err }},
	} {
		f := proc.file(p.file, p.file != "diskstats")
		b.Cleanup(func() { _ = f.Close() })
		b.Run(p.file+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				data, err := f.read()
				if err != nil || !p.fast(data) {
					b.Fatal("fast parser failed", err)
				}
			}
		})
		b.Run(p.file+"/procfs", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.withProcfs(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFilesystemRead is one read of the filesystem source alone, which the exporter takes every
// --sample.slow-interval: mountinfo polled (on a real procfs; re-read and compared in the fake tree), a statfs of
// every mount on its goroutine, the gauges set. mounts/op is the number of mounts statfs'ed.
func BenchmarkFilesystemRead(b *testing.B) {
	synth := b.TempDir()
	staticProc(b, synth, 2, 1)
	for _, c := range []struct{ name, dir string }{{"proc", "/proc"}, {"synthetic-6mounts", synth}} {
		b.Run(c.name, func(b *testing.B) {
			proc, err := NewProcFS(c.dir)
			if err != nil {
				b.Fatal(err)
			}
			calls := &atomic.Int64{}
			src := NewFilesystem(proc, FilesystemConfig{MountPointsExclude: mustCompile(DefaultMountPointsExclude), FSTypesExclude: mustCompile(DefaultFSTypesExclude),
				Statfs: func(path string, st *syscall.Statfs_t) error { calls.Add(1); return Statfs(path, st) }})
			fake := clock.NewFake(time.Unix(1.7e9, 0))
			sampler, err := NewSampler(SamplerConfig{Interval: time.Second, Window: time.Minute, Timeout: time.Second, Clock: fake}, []Source{src})
			if err != nil {
				b.Fatal(err)
			}
			sampler.Start()
			b.Cleanup(sampler.Close)
			s := benchSampler{Sampler: sampler, clock: fake, statfs: calls}
			for range 3 {
				s.Sample()
			}
			before := calls.Load()
			b.ReportAllocs()
			for b.Loop() {
				s.Sample()
			}
			b.ReportMetric(float64(calls.Load()-before)/float64(b.N), "mounts/op")
		})
	}
}
