package fakeproc

import "strconv"

// NewStatic writes the benchmarks' tree into dir: a host of cpus CPUs and disks NVMe disks (nvme<d>n1, each with
// two partitions nvme<d>n1p1 and p2), eight idle loop devices, 24 GiB of memory, 4 GiB of swap and PSI, whose
// counters differ from line to line. The files are the same for the same size, so an exporter's cost on them can
// be compared with another's; parsing and rendering cost the same whatever the values. Advance moves the counters
// on like any tree's.
func NewStatic(dir string, cpus, disks int) (*Tree, error) {
	m := Machine{CPUs: cpus, MemTotal: 24684032, SwapTotal: 4194300,
		Pressure: []Resource{PressureCPU, PressureIO, PressureMemory}}
	for i := range 8 {
		m.Disks = append(m.Disks, Disk{Major: 7, Minor: uint32(i), Name: "loop" + strconv.Itoa(i)})
	}
	for d := range disks {
		name := "nvme" + strconv.Itoa(d) + "n1"
		for p := range 3 {
			n := name
			if p > 0 {
				n += "p" + strconv.Itoa(p)
			}
			s := float64(d*3 + p + 1)
			m.Disks = append(m.Disks, Disk{Major: 259, Minor: uint32(d*3 + p), Name: n,
				Reads: 59473 * s, ReadsMerged: 9784 * s, ReadSectors: 2446170 * s, ReadMs: 52200 * s,
				Writes: 44224 * s, WritesMerged: 54585 * s, WriteSectors: 4240328 * s, WriteMs: 28821 * s,
				IOMs: 18240 * s, WeightedMs: 85631 * s,
				Discards: 48224, DiscardsMerged: 51, DiscardSectors: 2646968, DiscardMs: 4457, Flushes: 2745, FlushMs: 151})
		}
	}
	t, err := New(dir, m)
	if err != nil {
		return nil, err
	}
	cpu := func(base uint64) CPUTimes {
		return CPUTimes{User: float64(base * 7), Nice: float64(base), System: float64(base * 3), Idle: float64(base * 50),
			IOWait: float64(base / 2), IRQ: float64(base / 10), SoftIRQ: float64(base / 9), Steal: float64(base / 100)}
	}
	t.CPU = cpu(1000003 * uint64(cpus))
	for i := range t.PerCPU {
		t.PerCPU[i] = cpu(1000003 + uint64(i)*17)
	}
	t.Stat.Intr = 123456789
	for i := range t.Stat.IRQs { // per-CPU vectors make intr grow with the machine
		t.Stat.IRQs[i] = uint64(i) * 7919 % 100000 * uint64(i%3)
	}
	t.Stat.Ctxt, t.Stat.Processes, t.Stat.ProcsRunning = 987654321, 4321, 3
	t.Stat.SoftIRQ = [11]uint64{55555, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	t.Mem = Meminfo{MemTotal: 24684032, MemFree: 23173640, MemAvailable: 24205860, Buffers: 59504, Cached: 1187028,
		SwapTotal: 4194300, SwapFree: 4194300}
	t.Load = LoadAvg{Load: [3]float64{0.42, 0.75, 0.50}, Running: 2, Threads: 300 + uint64(cpus), LastPID: 12345}
	for r := range t.Pressure {
		t.Pressure[r] = PSI{
			Some: PSILine{Avg10: 0.12, Avg60: 1.50, Avg300: 0.25, Total: 1000000 * float64(r+1)},
			Full: PSILine{Avg60: 0.10, Avg300: 0.05, Total: 500000 * float64(r+1)},
		}
	}
	return t, t.Write()
}
