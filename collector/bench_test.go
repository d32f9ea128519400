package collector

import (
	"fmt"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

// benchSampler is a sampler of every source reading dir, whose clock moves one interval at every Sample.
type benchSampler struct {
	*Sampler
	clock *clock.Fake
}

func (s benchSampler) Sample() {
	s.clock.Advance(time.Second)
	s.Sampler.Sample()
}

// newBenchSampler returns a benchSampler that has taken its first samples.
func newBenchSampler(b *testing.B, dir string, perCPU bool) benchSampler {
	b.Helper()
	proc, err := NewProcFS(dir)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{CPU: CPUConfig{PerCPU: perCPU}, Disk: DiskConfig{Exclude: mustCompile(DefaultDiskExclude)}}
	sources := NewSources(proc, cfg, func(string) bool { return true })
	fake := clock.NewFake(time.Unix(1.7e9, 0))
	sampler, err := NewSampler(SamplerConfig{Interval: time.Second, Window: time.Minute, Timeout: time.Second, Clock: fake}, sources)
	if err != nil {
		b.Fatal(err)
	}
	sampler.Start() // as Run does
	b.Cleanup(sampler.Close)
	s := benchSampler{Sampler: sampler, clock: fake}
	for range 3 { // files opened, gauges created, buffers and maps grown
		s.Sample()
	}
	return s
}

// BenchmarkSample is one background sample of all five sources: reads, parsing, window bookkeeping. The steady
// state allocates nothing.
func BenchmarkSample(b *testing.B) {
	synth := b.TempDir()
	staticProc(b, synth, 128, 64)
	for _, c := range []struct {
		name   string
		dir    string
		perCPU bool
	}{
		{"fixture", "../testdata/proc/t0", true},
		{"proc", "/proc", false},
		{"proc-percpu", "/proc", true},
		{"synthetic-128cpu-64disk", synth, false},
		{"synthetic-128cpu-64disk-percpu", synth, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newBenchSampler(b, c.dir, c.perCPU)
			b.ReportAllocs()
			for b.Loop() {
				s.Sample()
			}
		})
	}
}

// BenchmarkSampleScale is the cost curve of a sample over machine size: CPUs (per-CPU gauges on) and disks.
func BenchmarkSampleScale(b *testing.B) {
	for _, size := range [][2]int{{2, 1}, {8, 1}, {32, 1}, {128, 1}, {2, 4}, {2, 16}, {2, 64}, {2, 256}, {128, 256}} {
		b.Run(fmt.Sprintf("cpus=%d/disks=%d", size[0], size[1]), func(b *testing.B) {
			dir := b.TempDir()
			staticProc(b, dir, size[0], size[1])
			s := newBenchSampler(b, dir, true)
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
				s := newBenchSampler(b, c.dir, true)
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
