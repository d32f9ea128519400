package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// scenario writes a fake /proc whose counters advance deterministically: each step adds one interval of CPU,
// memory and disk activity shaped by a slow cycle, so the forecasts get a non-trivial series to learn.
type scenario struct {
	dir string
	// Cumulative counters.
	user, system, idle, iowait    float64 // USER_HZ ticks, 2 CPUs
	reads, readSectors, readTicks uint64
	writes, writeSectors          uint64
	ioTicks, weighted             uint64
	discards, discardSectors      uint64
	discardTicks                  uint64
	flushes, flushTicks           uint64
	psiSome                       uint64
	step                          int
	memUsed                       float64 // share of MemTotal
	// intervalTicks is the number of USER_HZ ticks per CPU in one interval.
	intervalTicks float64
}

func newScenario(t *testing.T, intervalSeconds float64) *scenario {
	t.Helper()
	s := &scenario{dir: t.TempDir(), intervalTicks: 100 * intervalSeconds, memUsed: 0.4}
	if err := os.MkdirAll(filepath.Join(s.dir, "pressure"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.write(t)
	return s
}

// advance moves the counters on by one interval and rewrites the files.
func (s *scenario) advance(t *testing.T) {
	t.Helper()
	s.step++
	phase := 2 * math.Pi * float64(s.step) / 60
	busy := 0.3 + 0.2*math.Sin(phase) // share of 2 CPUs
	total := 2 * s.intervalTicks
	s.user += math.Round(total * busy * 0.7)
	s.system += math.Round(total * busy * 0.3)
	s.iowait += math.Round(total * 0.02)
	s.idle += total - math.Round(total*busy*0.7) - math.Round(total*busy*0.3) - math.Round(total*0.02)
	s.memUsed = 0.4 + 0.001*float64(s.step) + 0.02*math.Sin(phase/3)
	n := uint64(50 + 40*math.Sin(phase))
	s.reads += n
	s.readSectors += 8 * n
	s.readTicks += 2 * n
	s.writes += n / 2
	s.writeSectors += 16 * n
	s.ioTicks += uint64(s.intervalTicks*10) * (1 + n/45) / 3
	s.weighted += 3 * n
	s.discards += n / 10
	s.discardSectors += 256 * (n / 10)
	s.discardTicks += 5 * (n / 10)
	s.flushes += n / 4
	s.flushTicks += n / 2
	s.psiSome += 1000 * n
	s.write(t)
}

func (s *scenario) write(t *testing.T) {
	t.Helper()
	const memTotal = 16000000
	files := map[string]string{
		"stat": fmt.Sprintf("cpu  %.0f 0 %.0f %.0f %.0f 0 0 0 0 0\ncpu0 %.0f 0 %.0f %.0f %.0f 0 0 0 0 0\ncpu1 %.0f 0 %.0f %.0f %.0f 0 0 0 0 0\n",
			s.user, s.system, s.idle, s.iowait, s.user/2, s.system/2, s.idle/2, s.iowait/2, s.user/2, s.system/2, s.idle/2, s.iowait/2),
		"meminfo": fmt.Sprintf("MemTotal: %d kB\nMemFree: 1000000 kB\nMemAvailable: %.0f kB\nBuffers: 0 kB\nCached: 0 kB\nSwapTotal: 1000000 kB\nSwapFree: 900000 kB\n",
			memTotal, memTotal*(1-s.memUsed)),
		"loadavg":      fmt.Sprintf("%.2f 0.50 0.25 1/100 1000\n", 0.5+float64(s.step%7)/10),
		"diskstats":    fmt.Sprintf(" 254 0 vda %d 0 %d %d %d 0 %d 0 0 %d %d %d 0 %d %d %d %d\n", s.reads, s.readSectors, s.readTicks, s.writes, s.writeSectors, s.ioTicks, s.weighted, s.discards, s.discardSectors, s.discardTicks, s.flushes, s.flushTicks),
		"pressure/cpu": fmt.Sprintf("some avg10=0.00 avg60=0.00 avg300=0.00 total=%d\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", s.psiSome),
		"pressure/io":  "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
