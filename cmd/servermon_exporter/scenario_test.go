package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
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

	// The filesystems of 1/mountinfo, answered by statfs (set as the exporter's statfs in process; a child
	// process statfs'es the real /, and finds no other mount point). mu guards them: a statfs runs on a
	// goroutine of its own.
	mu      sync.Mutex
	fsStats map[string]syscall.Statfs_t
	hung    map[string]chan struct{}
}

// scenarioMountinfo lists the root filesystem, a data disk, a read-only backup disk whose mount point has a space
// (escaped as the kernel does), and /proc, which the default exclusions drop.
const scenarioMountinfo = `21 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
2 1 254:16 / /var/lib/data rw,relatime shared:2 - xfs /dev/vdb rw
3 1 254:32 / /mnt/backup\040disk ro,relatime shared:3 - ext4 /dev/vdc rw
`

func newScenario(t *testing.T, intervalSeconds float64) *scenario {
	t.Helper()
	s := &scenario{dir: t.TempDir(), intervalTicks: 100 * intervalSeconds, memUsed: 0.4, hung: map[string]chan struct{}{}}
	for _, d := range []string{"pressure", "1"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
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

// setFilesystems sets what statfs answers at the current step, in 4 KiB blocks: / (10 GB, 5 % reserved for root)
// fills by 2 MB a step and uses an inode per step; /var/lib/data follows the slow cycle; the backup disk is full
// and does not change.
func (s *scenario) setFilesystems() {
	const blocks, reserved = 2500000, 125000
	rootFree := uint64(1500000 - 500*s.step)
	dataFree := uint64(400000 + 100000*math.Sin(2*math.Pi*float64(s.step)/60))
	stats := map[string]syscall.Statfs_t{
		"/":                {Bsize: 4096, Frsize: 4096, Blocks: blocks, Bfree: rootFree, Bavail: rootFree - reserved, Files: 655360, Ffree: uint64(600000 - s.step)},
		"/var/lib/data":    {Bsize: 4096, Frsize: 4096, Blocks: 1000000, Bfree: dataFree, Bavail: dataFree, Files: 1000, Ffree: 900},
		"/mnt/backup disk": {Bsize: 4096, Frsize: 4096, Blocks: 250000, Bfree: 12500, Bavail: 0, Files: 65536, Ffree: 60000},
	}
	s.mu.Lock()
	s.fsStats = stats
	s.mu.Unlock()
}

// statfs answers for the scenario's filesystems; a mount point it does not know does not exist.
func (s *scenario) statfs(path string, st *syscall.Statfs_t) error {
	s.mu.Lock()
	hung := s.hung[path]
	s.mu.Unlock()
	if hung != nil {
		<-hung
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.fsStats[path]
	if !ok {
		return syscall.ENOENT
	}
	*st = v
	return nil
}

// hang makes statfs of path hang, as on an NFS mount whose server is gone, until release is called.
func (s *scenario) hang(path string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hung[path] = ch
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		delete(s.hung, path)
		s.mu.Unlock()
		close(ch)
	})
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
		"1/mountinfo":  scenarioMountinfo,
	}
	s.setFilesystems()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
