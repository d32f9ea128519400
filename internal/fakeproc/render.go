package fakeproc

import (
	"math"
	"strconv"
)

// appendCount appends a counter as the kernel prints it: a whole number, never negative.
func appendCount(b []byte, v float64) []byte {
	switch {
	case !(v > 0): // also NaN
		return append(b, '0')
	case v >= math.MaxUint64:
		return strconv.AppendUint(b, math.MaxUint64, 10)
	}
	return strconv.AppendUint(b, uint64(v), 10)
}

// appendCount32 appends a counter the kernel keeps in 32 bits, wrapped as the kernel wraps it.
func appendCount32(b []byte, v float64) []byte {
	if !(v > 0) {
		return append(b, '0')
	}
	return strconv.AppendUint(b, uint64(math.Mod(math.Floor(v), 1<<32)), 10)
}

// appendPadded appends v right-aligned in width columns, as printf's %*d.
func appendPadded(b []byte, v uint64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], v, 10)
	for range width - len(d) {
		b = append(b, ' ')
	}
	return append(b, d...)
}

// appendCPU appends one "cpu" line of /proc/stat; name is "cpu " for the host-wide line (two spaces before its
// first number, as the kernel prints it) or "cpuN".
func appendCPU(b []byte, name string, id int, c *CPUTimes) []byte {
	b = append(b, name...)
	if id >= 0 {
		b = strconv.AppendInt(b, int64(id), 10)
	}
	cols := [...]float64{c.User, c.Nice, c.System, c.Idle, c.IOWait, c.IRQ, c.SoftIRQ, c.Steal, c.Guest, c.GuestNice}
	for _, v := range cols {
		b = append(b, ' ')
		b = appendCount(b, v)
	}
	return append(b, '\n')
}

func (t *Tree) appendStat(b []byte) []byte {
	b = appendCPU(b, "cpu ", -1, &t.CPU)
	for i := range t.PerCPU {
		b = appendCPU(b, "cpu", i, &t.PerCPU[i])
	}
	s := &t.Stat
	b = append(b, "intr "...)
	b = strconv.AppendUint(b, s.Intr, 10)
	for _, v := range s.IRQs {
		b = append(b, ' ')
		b = strconv.AppendUint(b, v, 10)
	}
	for _, l := range [...]struct {
		key string
		v   uint64
	}{{"\nctxt ", s.Ctxt}, {"\nbtime ", s.BootTime}, {"\nprocesses ", s.Processes},
		{"\nprocs_running ", s.ProcsRunning}, {"\nprocs_blocked ", s.ProcsBlocked}} {
		b = append(b, l.key...)
		b = strconv.AppendUint(b, l.v, 10)
	}
	b = append(b, "\nsoftirq"...)
	for _, v := range s.SoftIRQ {
		b = append(b, ' ')
		b = strconv.AppendUint(b, v, 10)
	}
	return append(b, '\n')
}

// Indices of the Meminfo fields in meminfoLines.
const (
	liveNone = iota
	liveMemTotal
	liveMemFree
	liveMemAvailable
	liveBuffers
	liveCached
	liveSwapCached
	liveSwapTotal
	liveSwapFree
)

// meminfoLines are the lines of /proc/meminfo of Linux 6.x in its order, the key padded to 16 columns as the
// kernel pads it; live names the Meminfo field a line shows, and the others show the value of a 24 GiB host.
var meminfoLines = [...]struct {
	key  string
	live int
	v    uint64
	kB   bool
}{
	{"MemTotal:       ", liveMemTotal, 0, true}, {"MemFree:        ", liveMemFree, 0, true},
	{"MemAvailable:   ", liveMemAvailable, 0, true}, {"Buffers:        ", liveBuffers, 0, true},
	{"Cached:         ", liveCached, 0, true}, {"SwapCached:     ", liveSwapCached, 0, true},
	{"Active:         ", liveNone, 503176, true}, {"Inactive:       ", liveNone, 892816, true},
	{"Active(anon):   ", liveNone, 151912, true}, {"Inactive(anon): ", liveNone, 0, true},
	{"Active(file):   ", liveNone, 351264, true}, {"Inactive(file): ", liveNone, 892816, true},
	{"Unevictable:    ", liveNone, 0, true}, {"Mlocked:        ", liveNone, 0, true},
	{"SwapTotal:      ", liveSwapTotal, 0, true}, {"SwapFree:       ", liveSwapFree, 0, true},
	{"Zswap:          ", liveNone, 0, true}, {"Zswapped:       ", liveNone, 0, true},
	{"Dirty:          ", liveNone, 180, true}, {"Writeback:      ", liveNone, 0, true},
	{"AnonPages:      ", liveNone, 149600, true}, {"Mapped:         ", liveNone, 205408, true},
	{"Shmem:          ", liveNone, 8740, true}, {"KReclaimable:   ", liveNone, 50232, true},
	{"Slab:           ", liveNone, 109092, true}, {"SReclaimable:   ", liveNone, 50232, true},
	{"SUnreclaim:     ", liveNone, 58860, true}, {"KernelStack:    ", liveNone, 3744, true},
	{"PageTables:     ", liveNone, 3736, true}, {"SecPageTables:  ", liveNone, 0, true},
	{"NFS_Unstable:   ", liveNone, 0, true}, {"Bounce:         ", liveNone, 0, true},
	{"WritebackTmp:   ", liveNone, 0, true}, {"CommitLimit:    ", liveNone, 12342016, true},
	{"Committed_AS:   ", liveNone, 1047524, true}, {"VmallocTotal:   ", liveNone, 34359738367, true},
	{"VmallocUsed:    ", liveNone, 20644, true}, {"VmallocChunk:   ", liveNone, 0, true},
	{"Percpu:         ", liveNone, 2304, true}, {"AnonHugePages:  ", liveNone, 0, true},
	{"ShmemHugePages: ", liveNone, 0, true}, {"ShmemPmdMapped: ", liveNone, 0, true},
	{"FileHugePages:  ", liveNone, 0, true}, {"FilePmdMapped:  ", liveNone, 0, true},
	{"Unaccepted:     ", liveNone, 0, true}, {"HugePages_Total:", liveNone, 0, false},
	{"HugePages_Free: ", liveNone, 0, false}, {"HugePages_Rsvd: ", liveNone, 0, false},
	{"HugePages_Surp: ", liveNone, 0, false}, {"Hugepagesize:   ", liveNone, 2048, true},
	{"Hugetlb:        ", liveNone, 0, true}, {"DirectMap4k:    ", liveNone, 114688, true},
}

func (t *Tree) appendMeminfo(b []byte) []byte {
	m := &t.Mem
	live := [...]uint64{liveMemTotal: m.MemTotal, liveMemFree: m.MemFree, liveMemAvailable: m.MemAvailable,
		liveBuffers: m.Buffers, liveCached: m.Cached, liveSwapCached: m.SwapCached, liveSwapTotal: m.SwapTotal,
		liveSwapFree: m.SwapFree}
	for _, l := range meminfoLines {
		v := l.v
		if l.live != liveNone {
			v = live[l.live]
		}
		b = append(b, l.key...)
		b = appendPadded(b, v, 8)
		if l.kB {
			b = append(b, " kB"...)
		}
		b = append(b, '\n')
	}
	return b
}

func (t *Tree) appendLoadAvg(b []byte) []byte {
	l := &t.Load
	for _, v := range l.Load {
		b = strconv.AppendFloat(b, max(v, 0), 'f', 2, 64)
		b = append(b, ' ')
	}
	b = strconv.AppendUint(b, l.Running, 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, l.Threads, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, l.LastPID, 10)
	return append(b, '\n')
}

func appendPSI(b []byte, p PSI) []byte {
	for _, l := range [...]struct {
		kind string
		line *PSILine
	}{{"some", &p.Some}, {"full", &p.Full}} {
		b = append(b, l.kind...)
		b = append(b, " avg10="...)
		b = strconv.AppendFloat(b, max(l.line.Avg10, 0), 'f', 2, 64)
		b = append(b, " avg60="...)
		b = strconv.AppendFloat(b, max(l.line.Avg60, 0), 'f', 2, 64)
		b = append(b, " avg300="...)
		b = strconv.AppendFloat(b, max(l.line.Avg300, 0), 'f', 2, 64)
		b = append(b, " total="...)
		b = appendCount(b, l.line.Total)
		b = append(b, '\n')
	}
	return b
}

// AppendDiskstats appends the lines of /proc/diskstats for disks to b, as the kernel prints them ("%4d %7d %s"
// and the counters), each with its own field count (20 unless it is 14 or 18).
func AppendDiskstats(b []byte, disks []Disk) []byte {
	for i := range disks {
		d := &disks[i]
		b = appendPadded(b, uint64(d.Major), 4)
		b = append(b, ' ')
		b = appendPadded(b, uint64(d.Minor), 7)
		b = append(b, ' ')
		b = append(b, d.Name...)
		fields := [...]struct {
			v    float64
			wrap bool
		}{{d.Reads, false}, {d.ReadsMerged, false}, {d.ReadSectors, false}, {d.ReadMs, true},
			{d.Writes, false}, {d.WritesMerged, false}, {d.WriteSectors, false}, {d.WriteMs, true},
			{d.InFlight, true}, {d.IOMs, true}, {d.WeightedMs, true},
			{d.Discards, false}, {d.DiscardsMerged, false}, {d.DiscardSectors, false}, {d.DiscardMs, true},
			{d.Flushes, false}, {d.FlushMs, true}}
		n := len(fields)
		switch d.Fields {
		case 14:
			n = 11
		case 18:
			n = 15
		}
		for _, f := range fields[:n] {
			b = append(b, ' ')
			if f.wrap {
				b = appendCount32(b, f.v)
			} else {
				b = appendCount(b, f.v)
			}
		}
		b = append(b, '\n')
	}
	return b
}
