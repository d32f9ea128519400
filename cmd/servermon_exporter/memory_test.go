package main

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/forecaster"
	"github.com/servermon/servermon_exporter/internal/statefile"
)

var stateOut = flag.String("perf.state-out", "", "BenchmarkEightDaysOfForecasting writes the forecast state it reaches to this file")

// benchProc is a fake /proc of one disk (vda) whose counters advance by one second of activity per step.
type benchProc struct {
	dir                string
	step               int
	busy, idle, reads  float64
	ioTicks, psiStalls float64
}

func (p *benchProc) advance(tb testing.TB) {
	tb.Helper()
	p.step++
	phase := 2 * math.Pi * float64(p.step) / 86400 // a daily cycle
	load := 0.3 + 0.2*math.Sin(phase)
	p.busy += math.Round(200 * load)
	p.idle += 200 - math.Round(200*load)
	p.reads += math.Round(50 + 40*math.Sin(phase))
	p.ioTicks += math.Round(1000 * load)
	p.psiStalls += math.Round(100000 * load)
	for name, content := range map[string]string{
		"stat":         fmt.Sprintf("cpu  %.0f 0 0 %.0f 0 0 0 0 0 0\ncpu0 %.0f 0 0 %.0f 0 0 0 0 0 0\n", p.busy, p.idle, p.busy, p.idle),
		"meminfo":      fmt.Sprintf("MemTotal: 16000000 kB\nMemFree: 1000000 kB\nMemAvailable: %.0f kB\nSwapTotal: 1000000 kB\nSwapFree: 900000 kB\n", 16000000*(0.6-0.1*load)),
		"loadavg":      fmt.Sprintf("%.2f 0.50 0.25 1/100 1000\n", 2*load),
		"diskstats":    fmt.Sprintf(" 254 0 vda %.0f 0 %.0f 0 %.0f 0 %.0f 0 0 %.0f %.0f\n", p.reads, 8*p.reads, p.reads/2, 16*p.reads, p.ioTicks, 2*p.ioTicks),
		"pressure/cpu": fmt.Sprintf("some avg10=0.00 avg60=0.00 avg300=0.00 total=%.0f\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", p.psiStalls),
	} {
		path := filepath.Join(p.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
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
		p := &benchProc{dir: b.TempDir()}
		p.advance(b)
		cfg, err := parseFlags([]string{"--path.procfs=" + p.dir}, os.Stderr)
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
