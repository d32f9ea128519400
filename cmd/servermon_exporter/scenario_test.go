package main

import (
	"math"
	"testing"

	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// scenario is a fake /proc of two CPUs and one disk (vda) whose counters advance deterministically: each step adds
// one interval of CPU, memory and disk activity shaped by a slow cycle, so the forecasts get a non-trivial series
// to learn. The counters move by whole ticks and requests rounded per step (not by fakeproc's Advance, whose rates
// accumulate unrounded), as the golden testdata/e2e.metrics was recorded with.
type scenario struct {
	*fakeproc.Tree
	dir     string
	step    int
	memUsed float64 // share of MemTotal
	// intervalTicks is the number of USER_HZ ticks per CPU in one interval.
	intervalTicks float64
}

func newScenario(t *testing.T, intervalSeconds float64) *scenario {
	t.Helper()
	dir := t.TempDir()
	tree, err := fakeproc.New(dir, fakeproc.Machine{CPUs: 2, MemTotal: 16000000, SwapTotal: 1000000,
		Disks:    []fakeproc.Disk{{Major: 254, Minor: 0, Name: "vda"}},
		Pressure: []fakeproc.Resource{fakeproc.PressureCPU, fakeproc.PressureIO}})
	if err != nil {
		t.Fatal(err)
	}
	tree.InPlace = true // the tests sample between writes
	t.Cleanup(func() { _ = tree.Close() })
	s := &scenario{Tree: tree, dir: dir, intervalTicks: fakeproc.UserHZ * intervalSeconds, memUsed: 0.4}
	s.CPU, s.PerCPU[0], s.PerCPU[1] = fakeproc.CPUTimes{}, fakeproc.CPUTimes{}, fakeproc.CPUTimes{}
	s.Mem.MemFree, s.Mem.Buffers, s.Mem.Cached, s.Mem.SwapFree = 1000000, 0, 0, 900000
	s.Load = fakeproc.LoadAvg{Load: [3]float64{0, 0.50, 0.25}, Running: 1, Threads: 100, LastPID: 1000}
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
	c := &s.CPU
	c.User += math.Round(total * busy * 0.7)
	c.System += math.Round(total * busy * 0.3)
	c.IOWait += math.Round(total * 0.02)
	c.Idle += total - math.Round(total*busy*0.7) - math.Round(total*busy*0.3) - math.Round(total*0.02)
	s.memUsed = 0.4 + 0.001*float64(s.step) + 0.02*math.Sin(phase/3)
	n := math.Trunc(50 + 40*math.Sin(phase))
	d := &s.Disks[0]
	d.Reads += n
	d.ReadSectors += 8 * n
	d.ReadMs += 2 * n
	d.Writes += math.Trunc(n / 2)
	d.WriteSectors += 16 * n
	d.IOMs += math.Trunc(math.Trunc(s.intervalTicks*10) * math.Trunc(1+n/45) / 3)
	d.WeightedMs += 3 * n
	d.Discards += math.Trunc(n / 10)
	d.DiscardSectors += 256 * math.Trunc(n/10)
	d.DiscardMs += 5 * math.Trunc(n/10)
	d.Flushes += math.Trunc(n / 4)
	d.FlushMs += math.Trunc(n / 2)
	s.Pressure[fakeproc.PressureCPU].Some.Total += 1000 * n
	s.write(t)
}

func (s *scenario) write(t *testing.T) {
	t.Helper()
	// Each CPU ran half of the host's ticks (rounded half to even).
	half := fakeproc.CPUTimes{User: math.RoundToEven(s.CPU.User / 2), System: math.RoundToEven(s.CPU.System / 2),
		Idle: math.RoundToEven(s.CPU.Idle / 2), IOWait: math.RoundToEven(s.CPU.IOWait / 2)}
	s.PerCPU[0], s.PerCPU[1] = half, half
	s.Mem.MemAvailable = uint64(math.RoundToEven(float64(s.Mem.MemTotal) * (1 - s.memUsed)))
	s.Load.Load[0] = 0.5 + float64(s.step%7)/10
	if err := s.Write(); err != nil {
		t.Fatal(err)
	}
}
