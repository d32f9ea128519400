package main

import (
	"flag"
	"log/slog"
	"math"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/fakeproc"
	"github.com/servermon/servermon_exporter/internal/forecaster"
	"github.com/servermon/servermon_exporter/internal/statefile"
)

var stateOut = flag.String("perf.state-out", "", "BenchmarkEightDaysOfForecasting writes the forecast state it reaches to this file")

// benchProc is a fake /proc of two CPUs and one disk (vda) on a daily cycle, advanced a second at a time.
type benchProc struct {
	*fakeproc.Tree
	step   int
	levels fakeproc.Levels
	disks  [1]fakeproc.DiskLevel
}

func newBenchProc(tb testing.TB) *benchProc {
	tb.Helper()
	tree, err := fakeproc.New(tb.TempDir(), fakeproc.Machine{CPUs: 2, MemTotal: 16000000, SwapTotal: 1000000,
		Disks:    []fakeproc.Disk{{Major: 254, Minor: 0, Name: "vda", Fields: 14}},
		Pressure: []fakeproc.Resource{fakeproc.PressureCPU}})
	if err != nil {
		tb.Fatal(err)
	}
	tree.InPlace = true // the benchmark samples between writes
	tb.Cleanup(func() { _ = tree.Close() })
	p := &benchProc{Tree: tree}
	p.levels.Disks = p.disks[:]
	p.advance(tb)
	return p
}

// advance moves the host one second on.
func (p *benchProc) advance(tb testing.TB) {
	tb.Helper()
	p.step++
	phase := 2 * math.Pi * float64(p.step) / 86400 // a daily cycle
	load := 0.3 + 0.2*math.Sin(phase)
	iops := 50 + 40*math.Sin(phase)
	l := &p.levels
	l.CPU = fakeproc.CPUShares{User: load}
	l.MemUsed, l.SwapUsed, l.Load = 0.4+0.1*load, 0.1, 2*load
	p.disks[0] = fakeproc.DiskLevel{ReadIOPS: iops, ReadBytes: 4096 * iops, WriteIOPS: iops / 2, WriteBytes: 8192 * iops,
		Util: load, Queue: 2 * load}
	l.Stall[fakeproc.PressureCPU].Some = 0.1 * load
	p.Advance(time.Second, *l)
	if err := p.Write(); err != nil {
		tb.Fatal(err)
	}
}

func liveHeap() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// BenchmarkEightDaysOfForecasting runs the exporter at its defaults (four horizons up to 24h, eight days of
// history) through eight days of a fake host on a fake clock: the days before now loaded as a backfill would load
// them, then two hours through the sampler, sample by sample. It reports the heap, and what one forecast series
// holds; -perf.state-out keeps the state file for measuring the real binary's RSS with it.
func BenchmarkEightDaysOfForecasting(b *testing.B) {
	for b.Loop() {
		p := newBenchProc(b)
		cfg, err := parseFlags([]string{"--path.procfs=" + p.Dir()}, os.Stderr)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
		fake := clock.NewFake(start)
		before := liveHeap()
		e, err := newExporter(cfg, slog.New(slog.DiscardHandler), fake)
		if err != nil {
			b.Fatal(err)
		}
		sampleFor := func(d time.Duration) {
			for range int(d / time.Second) {
				e.sampler.Sample()
				p.advance(b)
				fake.Advance(time.Second)
			}
		}
		f := e.forecasts
		f.Hold()
		sampleFor(time.Minute)
		fresh := liveHeap()

		// The days before, as a backfill loads them.
		holdings, live := f.Holdings()
		from := live.Add(-cfg.forecast.History)
		values := make([]float64, int(cfg.forecast.History/cfg.forecast.Step))
		for i := range values {
			values[i] = 0.3 + 0.2*math.Sin(2*math.Pi*float64(i)*cfg.forecast.Step.Hours()/24)
		}
		for _, h := range holdings {
			if _, err := f.Backfill(h.Target, h.LabelNames, h.LabelValues, from, values); err != nil {
				b.Fatal(err)
			}
		}
		f.Release()
		sampleFor(time.Hour)
		full := liveHeap()
		sampleFor(time.Hour)
		after := liveHeap()

		views := f.Views(0)
		n := float64(len(views))
		b.ReportMetric(n, "series")
		b.ReportMetric((full-before)/n, "heap-B/series")
		b.ReportMetric(full/(1<<20), "heap-MiB")
		b.ReportMetric((full-fresh)/n, "history-B/series")
		b.ReportMetric(after-full, "growth-B/h")
		if hs := views[0].HistorySeconds; hs < 7*86400 {
			b.Fatalf("history %v s, want 8 days", hs)
		}
		if *stateOut != "" {
			if err := forecaster.NewKeeper(f, statefile.New(*stateOut, fake), nil).Save(); err != nil {
				b.Fatal(err)
			}
		}
		e.close()
	}
}
