package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
)

// monthProc writes a fake /proc for a month of five-minute samples as cheaply as possible: CPU, memory and two
// disks follow daily cycles, and every hour a "churn" disk is replaced by one with a new name, as containers' or
// hot-plugged devices are (720 distinct names over the month).
type monthProc struct {
	dir                 string
	user, system, idle  uint64
	vdaReads, vdaTicks  uint64
	churnReads, churnIO uint64
	// The files stay open: 130 000 opens and closes would cost more than the month of samples itself.
	stat, mem, disk *os.File
	buf             []byte
}

func newMonthProc(t *testing.T) *monthProc {
	t.Helper()
	p := &monthProc{dir: t.TempDir()}
	for _, f := range []struct {
		dst  **os.File
		name string
	}{{&p.stat, "stat"}, {&p.mem, "meminfo"}, {&p.disk, "diskstats"}} {
		file, err := os.Create(filepath.Join(p.dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { file.Close() })
		*f.dst = file
	}
	if err := os.MkdirAll(filepath.Join(p.dir, "pressure"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"loadavg":      "0.50 0.40 0.30 1/100 1000\n",
		"pressure/cpu": "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n",
	} {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.write(t, 0)
	return p
}

// write sets the files for sample n, taken at minute 5n.
func (p *monthProc) write(t *testing.T, n int) {
	m := 5 * n
	day := 2 * math.Pi * float64(m%1440) / 1440
	busy := uint64(15000 + 10000*math.Sin(day)) // of 60000 ticks per five minutes on 2 CPUs
	p.user += busy * 2 / 3
	p.system += busy / 3
	p.idle += 60000 - busy
	p.vdaReads += 500 + uint64(250*math.Sin(day))
	p.vdaTicks += 30000 + uint64(15000*math.Sin(day))
	if m%60 == 0 {
		p.churnReads, p.churnIO = 0, 0 // a new device starts from zero
	}
	p.churnReads += 50
	p.churnIO += 3000
	avail := 8000000 - 2000000*math.Sin(day)
	p.set(t, p.stat, fmt.Appendf(p.buf[:0], "cpu  %d 0 %d %d 0 0 0 0 0 0\n", p.user, p.system, p.idle))
	p.set(t, p.mem, fmt.Appendf(p.buf[:0], "MemTotal: 16000000 kB\nMemFree: 1000000 kB\nMemAvailable: %.0f kB\nSwapTotal: 1000000 kB\nSwapFree: 900000 kB\n", avail))
	p.set(t, p.disk, fmt.Appendf(p.buf[:0], " 254 0 vda %d 0 %d %d 0 0 0 0 0 %d %d\n 254 16 churn%d %d 0 %d 0 0 0 0 0 0 %d %d\n",
		p.vdaReads, 8*p.vdaReads, p.vdaReads, p.vdaTicks, p.vdaTicks, m/60, p.churnReads, 8*p.churnReads, p.churnIO, p.churnIO))
}

// set replaces the content of f; the sampler only reads between two calls.
func (p *monthProc) set(t *testing.T, f *os.File, b []byte) {
	p.buf = b
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// heapInUse returns the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestMonthOfSamples runs the exporter for a simulated month at one sample every five minutes (forecast step 5m,
// the default 8 days of history and 5m/1h/6h/24h horizons), 8640 samples with a disk replaced every hour. From day
// 10 (history full) to day 30 the heap in use, the goroutines, the forecast series and the series exposed must stay
// flat. (One-minute samples, 43 200 of them, take half a minute under the race detector for the same coverage.)
func TestMonthOfSamples(t *testing.T) {
	p := newMonthProc(t)
	cfg := mustParseFlags(t, "--path.procfs="+p.dir, "--sample.interval=5m", "--sample.window=15m", "--collector.timeout=1s",
		"--forecast.step=5m", "--no-collector.pressure", "--no-collector.load")
	cfg.runtimeEvery = 24 * time.Hour // process metrics read /proc/self: not what this test is about
	fake := clock.NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	exp, err := newExporter(cfg, slogText(&syncBuffer{}), fake)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.close()
	type snapshot struct {
		heap       uint64
		goroutines int
		targets    int
		series     int
	}
	take := func() snapshot {
		body, err := exp.body.Bytes(false)
		if err != nil {
			t.Fatal(err)
		}
		return snapshot{heap: heapInUse(), goroutines: runtime.NumGoroutine(), targets: exp.forecasts.SeriesCount(),
			series: strings.Count(string(withoutRuntime(body)), "\n") - strings.Count(string(withoutRuntime(body)), "# ")}
	}
	const perDay = 288
	var day10 snapshot
	for m := range 30 * perDay {
		exp.sampler.Sample()
		fake.Advance(5 * time.Minute)
		p.write(t, m+1)
		if m+1 == 10*perDay {
			day10 = take()
		}
	}
	day30 := take()
	t.Logf("day 10: %+v; day 30: %+v", day10, day30)
	if day30.goroutines > day10.goroutines {
		t.Errorf("goroutines grew from %d to %d", day10.goroutines, day30.goroutines)
	}
	if day30.targets != day10.targets || day30.series != day10.series {
		t.Errorf("forecast series %d → %d, exposed series %d → %d: something accumulates", day10.targets, day30.targets, day10.series, day30.series)
	}
	// 480 hourly disks came and went between the two snapshots; keeping even 4 KiB of each would show.
	if grown := int64(day30.heap) - int64(day10.heap); grown > 1<<20 {
		t.Errorf("heap in use grew by %d KiB from day 10 to day 30", grown>>10)
	}
	body, _ := exp.body.Bytes(false)
	for _, want := range []string{`servermon_forecast_cpu_usage_ratio{horizon="24h",bound="point"}`, `servermon_forecast_disk_utilization_ratio{device="vda",horizon="24h",bound="upper"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("after a month: %s missing", want)
		}
	}
}
