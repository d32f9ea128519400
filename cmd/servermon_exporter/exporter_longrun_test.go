package main

import (
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/syncbuf"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// monthProc is a fake /proc for a month of five-minute samples: CPU, memory and two disks follow daily cycles,
// and every hour a "churn" disk is replaced by one with a new name, as containers' or hot-plugged devices are (720
// distinct names over the month). It is rewritten in place (the exporter samples between writes): replacing 26 000
// files would cost more than the month of samples itself.
type monthProc struct {
	*fakeproc.Tree
	levels fakeproc.Levels
	disks  [2]fakeproc.DiskLevel
}

func newMonthProc(t *testing.T) *monthProc {
	t.Helper()
	tree, err := fakeproc.New(t.TempDir(), fakeproc.Machine{CPUs: 2, MemTotal: 16000000, SwapTotal: 1000000,
		Disks: []fakeproc.Disk{{Major: 254, Minor: 0, Name: "vda", Fields: 14}, {Major: 254, Minor: 16, Name: "churn0", Fields: 14}}})
	if err != nil {
		t.Fatal(err)
	}
	tree.InPlace = true
	t.Cleanup(func() { _ = tree.Close() })
	p := &monthProc{Tree: tree}
	p.levels.Disks = p.disks[:]
	p.write(t, 0)
	return p
}

// write sets the files for sample n, taken at minute 5n, after the five minutes before it.
func (p *monthProc) write(t *testing.T, n int) {
	t.Helper()
	m := 5 * n
	day := math.Sin(2 * math.Pi * float64(m%1440) / 1440)
	busy := 0.25 + day/6 // of both CPUs
	p.levels.CPU = fakeproc.CPUShares{User: busy * 2 / 3, System: busy / 3}
	p.levels.MemUsed = 0.5 + day/8
	vda := (500 + 250*day) / 300 // reads per second
	p.disks[0] = fakeproc.DiskLevel{ReadIOPS: vda, ReadBytes: 4096 * vda, ReadAwait: time.Millisecond, Util: 0.1 + day/20,
		Queue: 0.1 + day/20}
	if m%60 == 0 {
		p.Disks[1] = fakeproc.Disk{Major: 254, Minor: 16, Name: "churn" + strconv.Itoa(m/60), Fields: 14} // a new device starts from zero
	}
	p.disks[1] = fakeproc.DiskLevel{ReadIOPS: 1.0 / 6, ReadBytes: 4096.0 / 6, Util: 0.01, Queue: 0.01}
	p.Advance(5*time.Minute, p.levels)
	if err := p.Write(); err != nil {
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
	cfg := mustParseFlags(t, "--path.procfs="+p.Dir(), "--sample.interval=5m", "--sample.window=15m", "--collector.timeout=1s",
		"--forecast.step=5m", "--no-collector.pressure", "--no-collector.load")
	cfg.runtimeEvery = 24 * time.Hour // process metrics read /proc/self: not what this test is about
	fake := clock.NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	exp, err := newExporter(cfg, slogText(&syncbuf.Buffer{}), fake)
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
