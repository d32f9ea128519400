package main

import (
	"math"
	"syscall"
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

	// statfs answers for the filesystems of 1/mountinfo (set as the exporter's statfs in process; a child
	// process statfs'es the real /, and finds no other mount point).
	statfs *fakeproc.Statfs
}

// scenarioMountinfo lists the root filesystem, a data disk, a read-only backup disk whose mount point has a space
// (escaped as the kernel does), an NFS share, and /proc, which the default exclusions drop.
const scenarioMountinfo = `21 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
2 1 254:16 / /var/lib/data rw,relatime shared:2 - xfs /dev/vdb rw
3 1 254:32 / /mnt/backup\040disk ro,relatime shared:3 - ext4 /dev/vdc rw
4 1 0:50 / /mnt/nfs rw,relatime shared:4 - nfs4 server:/export rw,vers=4.2
`

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
	s := &scenario{Tree: tree, dir: dir, intervalTicks: fakeproc.UserHZ * intervalSeconds, memUsed: 0.4, statfs: fakeproc.NewStatfs()}
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

// setFilesystems sets what statfs answers at the current step, in 4 KiB blocks: / (10 GB, 5 % reserved for root)
// fills by 2 MB a step and uses an inode per step; /var/lib/data follows the slow cycle; the backup disk is full
// and does not change.
func (s *scenario) setFilesystems() {
	const blocks, reserved = 2500000, 125000
	rootFree := uint64(1500000 - 500*s.step)
	dataFree := uint64(400000 + 100000*math.Sin(2*math.Pi*float64(s.step)/60))
	s.statfs.SetBlocks("/", blocks, rootFree, rootFree-reserved, 655360, uint64(600000-s.step))
	s.statfs.SetBlocks("/var/lib/data", 1000000, dataFree, dataFree, 1000, 900)
	s.statfs.SetBlocks("/mnt/backup disk", 250000, 12500, 0, 65536, 60000)
	s.statfs.Set("/mnt/nfs", syscall.Statfs_t{Bsize: 1048576, Frsize: 1048576, Blocks: 100000, Bfree: 60000, Bavail: 60000, Files: 0})
}

func (s *scenario) write(t *testing.T) {
	t.Helper()
	// Each CPU ran half of the host's ticks (rounded half to even).
	half := fakeproc.CPUTimes{User: math.RoundToEven(s.CPU.User / 2), System: math.RoundToEven(s.CPU.System / 2),
		Idle: math.RoundToEven(s.CPU.Idle / 2), IOWait: math.RoundToEven(s.CPU.IOWait / 2)}
	s.PerCPU[0], s.PerCPU[1] = half, half
	s.Mem.MemAvailable = uint64(math.RoundToEven(float64(s.Mem.MemTotal) * (1 - s.memUsed)))
	s.Load.Load[0] = 0.5 + float64(s.step%7)/10
	s.setFilesystems()
	if err := s.WriteRaw("1/mountinfo", []byte(scenarioMountinfo)); err != nil { // a fault may have spoilt it
		t.Fatal(err)
	}
	if err := s.Write(); err != nil {
		t.Fatal(err)
	}
}
