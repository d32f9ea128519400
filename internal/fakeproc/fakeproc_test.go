package fakeproc

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/prometheus/procfs/blockdevice"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func newTree(t *testing.T, m Machine) *Tree {
	t.Helper()
	tree, err := New(t.TempDir(), m)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func read(t *testing.T, tree *Tree, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tree.Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdvanceRatesAsProcfsReadsThem: what Advance puts in the files is what procfs reads back as the rates asked
// for, over the elapsed time.
func TestAdvanceRatesAsProcfsReadsThem(t *testing.T) {
	tree := newTree(t, Machine{CPUs: 4, MemTotal: 8 << 20, SwapTotal: 1 << 20,
		Disks:    []Disk{{Major: 8, Minor: 0, Name: "sda"}, {Major: 8, Minor: 16, Name: "sdb", Fields: 14}},
		Pressure: []Resource{PressureCPU, PressureIO, PressureMemory}})
	fs, err := procfs.NewFS(tree.Dir())
	if err != nil {
		t.Fatal(err)
	}
	bd, err := blockdevice.NewFS(tree.Dir(), tree.Dir())
	if err != nil {
		t.Fatal(err)
	}
	before, err := fs.Stat()
	if err != nil {
		t.Fatal(err)
	}
	disksBefore, err := bd.ProcDiskstats()
	if err != nil {
		t.Fatal(err)
	}
	l := Levels{CPU: CPUShares{User: 0.3, System: 0.1, IOWait: 0.05, Steal: 0.05}, MemUsed: 0.75, SwapUsed: 0.25, Load: 3,
		Disks: []DiskLevel{{ReadIOPS: 100, WriteIOPS: 50, ReadBytes: 4 << 20, WriteBytes: 1 << 20, ReadAwait: 2 * time.Millisecond,
			WriteAwait: 4 * time.Millisecond, Util: 0.4, Queue: 1.5, DiscardIOPS: 2, DiscardBytes: 1 << 20, FlushIOPS: 3,
			FlushAwait: time.Millisecond}},
		Stall: [resources]Stall{PressureCPU: {Some: 0.2}, PressureIO: {Some: 0.1, Full: 0.05}}}
	const sec = 10
	for range 100 {
		tree.Advance(sec*time.Second/100, l)
	}
	if err := tree.Write(); err != nil {
		t.Fatal(err)
	}
	after, err := fs.Stat()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		got, share float64
	}{
		{"user", after.CPUTotal.User - before.CPUTotal.User, 0.3},
		{"system", after.CPUTotal.System - before.CPUTotal.System, 0.1},
		{"iowait", after.CPUTotal.Iowait - before.CPUTotal.Iowait, 0.05},
		{"steal", after.CPUTotal.Steal - before.CPUTotal.Steal, 0.05},
		{"idle", after.CPUTotal.Idle - before.CPUTotal.Idle, 0.5},
		{"cpu3 user", after.CPU[3].User - before.CPU[3].User, 0.3 / 4},
	} {
		if want := sec * 4 * c.share; !near(c.got, want, 0.011) {
			t.Errorf("%s: %v CPU seconds in %d s, want %v", c.name, c.got, sec, want)
		}
	}
	if len(after.CPU) != 4 {
		t.Errorf("%d per-CPU lines, want 4", len(after.CPU))
	}

	mi, err := fs.Meminfo()
	if err != nil {
		t.Fatal(err)
	}
	if *mi.MemTotal != 8<<20 || *mi.MemAvailable != 2<<20 || *mi.SwapFree != 3<<18 || *mi.MemFree > *mi.MemAvailable {
		t.Errorf("meminfo: total %d available %d free %d swap free %d", *mi.MemTotal, *mi.MemAvailable, *mi.MemFree, *mi.SwapFree)
	}

	load, err := fs.LoadAvg()
	if err != nil {
		t.Fatal(err)
	}
	// After 10 s towards 3 with the kernel's 1, 5 and 15 minutes.
	for i, c := range []struct{ got, tau float64 }{{load.Load1, 60}, {load.Load5, 300}, {load.Load15, 900}} {
		if want := 3 * -math.Expm1(-sec/c.tau); !near(c.got, want, 0.006) {
			t.Errorf("load %d: %v, want %.2f", i, c.got, want)
		}
	}

	disks, err := bd.ProcDiskstats()
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != 2 || disks[0].DeviceName != "sda" || disks[0].IoStatsCount != 20 || disks[1].IoStatsCount != 14 {
		t.Fatalf("diskstats: %+v", disks)
	}
	d, d0 := disks[0].IOStats, disksBefore[0].IOStats
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"reads", d.ReadIOs - d0.ReadIOs, 100 * sec}, {"writes", d.WriteIOs - d0.WriteIOs, 50 * sec},
		{"read sectors", d.ReadSectors - d0.ReadSectors, 4 << 20 * sec / 512}, {"write sectors", d.WriteSectors - d0.WriteSectors, 1 << 20 * sec / 512},
		{"read ms", d.ReadTicks - d0.ReadTicks, 2 * 100 * sec}, {"write ms", d.WriteTicks - d0.WriteTicks, 4 * 50 * sec},
		{"io ms", d.IOsTotalTicks - d0.IOsTotalTicks, 400 * sec}, {"weighted ms", d.WeightedIOTicks - d0.WeightedIOTicks, 1500 * sec},
		{"discards", d.DiscardIOs - d0.DiscardIOs, 2 * sec}, {"discard sectors", d.DiscardSectors - d0.DiscardSectors, 1 << 20 * sec / 512},
		{"flushes", d.FlushRequestsCompleted - d0.FlushRequestsCompleted, 3 * sec}, {"flush ms", d.TimeSpentFlushing - d0.TimeSpentFlushing, 3 * sec},
	} {
		if diff := int64(c.got) - int64(c.want); diff < -1 || diff > 1 {
			t.Errorf("sda %s: %d in %d s, want %d", c.name, c.got, sec, c.want)
		}
	}
	if disks[1].ReadIOs != 0 || disks[1].IOsTotalTicks != 0 {
		t.Errorf("sdb has no level but moved: %+v", disks[1].IOStats)
	}

	for r, want := range map[string][2]uint64{"cpu": {2e6, 0}, "io": {1e6, 5e5}, "memory": {0, 0}} {
		psi, err := fs.PSIStatsForResource(r)
		if err != nil {
			t.Fatal(err)
		}
		if psi.Some == nil || psi.Full == nil || !near(float64(psi.Some.Total), float64(want[0]), 2) || !near(float64(psi.Full.Total), float64(want[1]), 2) {
			t.Errorf("pressure/%s: some %+v full %+v, want totals %v", r, psi.Some, psi.Full, want)
		}
	}
}

// TestKernelSpelling checks the files against the kernel's formats, byte for byte where the kernel pads.
func TestKernelSpelling(t *testing.T) {
	tree := newTree(t, Machine{CPUs: 2, MemTotal: 16000000, Disks: []Disk{{Major: 259, Minor: 0, Name: "nvme0n1", Fields: 14},
		{Major: 259, Minor: 1, Name: "nvme0n1p1", Fields: 18}, {Major: 7, Minor: 12, Name: "loop12"}}})
	tree.Disks[0].Reads, tree.Disks[0].ReadMs = 12, 1<<32+5 // a 32-bit field wraps as the kernel's does
	tree.Load.Load = [3]float64{0.005, 1.5, 12.345}
	if err := tree.Write(); err != nil {
		t.Fatal(err)
	}
	if got, want := read(t, tree, "diskstats"), " 259       0 nvme0n1 12 0 0 5 0 0 0 0 0 0 0\n"+
		" 259       1 nvme0n1p1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"+
		"   7      12 loop12 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"; got != want {
		t.Errorf("diskstats:\n%q\nwant\n%q", got, want)
	}
	stat := read(t, tree, "stat")
	if !strings.HasPrefix(stat, "cpu  0 0 0 17280000 0 0 0 0 0 0\ncpu0 0 0 0 8640000 0 0 0 0 0 0\ncpu1 ") ||
		!strings.Contains(stat, "\nintr 0 0 ") || !strings.Contains(stat, "\nbtime 1700000000\n") ||
		!strings.HasSuffix(stat, "\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n") {
		t.Errorf("stat:\n%s", stat)
	}
	mi := read(t, tree, "meminfo")
	for _, line := range []string{"MemTotal:       16000000 kB\n", "SwapTotal:             0 kB\n", "HugePages_Total:       0\n",
		"VmallocTotal:   34359738367 kB\n"} {
		if !strings.Contains(mi, line) {
			t.Errorf("meminfo lacks %q:\n%s", line, mi)
		}
	}
	if got := read(t, tree, "loadavg"); got != "0.01 1.50 12.35 1/120 1000\n" && got != "0.00 1.50 12.35 1/120 1000\n" {
		t.Errorf("loadavg %q", got)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir(), "pressure")); !os.IsNotExist(err) {
		t.Errorf("a machine without PSI has a pressure directory: %v", err)
	}
}

func TestNewRejectsImpossibleMachines(t *testing.T) {
	for _, m := range []Machine{{CPUs: 0}, {CPUs: 1, Disks: []Disk{{Name: "sda", Fields: 11}}}} {
		if _, err := New(t.TempDir(), m); err == nil {
			t.Errorf("%+v accepted", m)
		}
	}
}

// TestNewStaticIsTheBenchmarkTree pins lines of the benchmarks' tree: bench/compare measures node_exporter and
// servermon_exporter on it, and results compare across runs only if it stays the same.
func TestNewStaticIsTheBenchmarkTree(t *testing.T) {
	tree, err := NewStatic(t.TempDir(), 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"stat": {"cpu  28000084 4000012 12000036 200000600 2000006 400001 444445 40000 0 0\n",
			"cpu3 7000378 1000054 3000162 50002700 500027 100005 111117 10000 0 0\n", "intr 123456789 0 7919 31676 0 ",
			"\nctxt 987654321\nbtime 1700000000\nprocesses 4321\nprocs_running 3\nprocs_blocked 0\nsoftirq 55555 1 2 3 4 5 6 7 8 9 10\n"},
		"meminfo":      {"MemTotal:       24684032 kB\nMemFree:        23173640 kB\nMemAvailable:   24205860 kB\n", "DirectMap4k:      114688 kB\n"},
		"loadavg":      {"0.42 0.75 0.50 2/304 12345\n"},
		"diskstats":    {"   7       7 loop7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", " 259       5 nvme1n1p2 356838 58704 14677020 313200 265344 327510 25441968 172926 0 109440 513786 48224 51 2646968 4457 2745 151\n"},
		"pressure/io":  {"some avg10=0.12 avg60=1.50 avg300=0.25 total=2000000\nfull avg10=0.00 avg60=0.10 avg300=0.05 total=1000000\n"},
		"pressure/cpu": {"total=1000000\n"},
	} {
		got := read(t, tree, name)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%.600s", name, w, got)
			}
		}
	}
	if n := strings.Count(read(t, tree, "diskstats"), "\n"); n != 8+2*3 {
		t.Errorf("%d diskstats lines, want 14", n)
	}
}

// TestFaultHooksAndRecovery: the hooks put their content in place, and the next Write restores the tree's own.
func TestFaultHooksAndRecovery(t *testing.T) {
	tree := newTree(t, Machine{CPUs: 1, MemTotal: 1 << 20, Pressure: []Resource{PressureCPU}})
	want := read(t, tree, "pressure/cpu")
	if err := tree.Remove("pressure"); err != nil {
		t.Fatal(err)
	}
	if err := tree.Rewrite("meminfo", func(b []byte) []byte { return b[:len(b)/3] }); err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteRaw("stat", []byte("garbage\x00\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tree.Dir(), "pressure", "cpu")); !os.IsNotExist(err) {
		t.Errorf("pressure/cpu still there: %v", err)
	}
	if got := read(t, tree, "stat"); got != "garbage\x00\n" {
		t.Errorf("stat %q", got)
	}
	if err := tree.Write(); err != nil { // nothing changed in the state: the files come back all the same
		t.Fatal(err)
	}
	if got := read(t, tree, "pressure/cpu"); got != want {
		t.Errorf("pressure/cpu after Write: %q, want %q", got, want)
	}
	if !strings.HasPrefix(read(t, tree, "stat"), "cpu  ") || !strings.HasSuffix(read(t, tree, "meminfo"), "kB\n") {
		t.Error("stat or meminfo not restored")
	}
	entries, _ := os.ReadDir(tree.Dir())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestReadersNeverSeeHalfAFile reads the files while a writer rewrites them as fast as it can: every read is a
// whole file.
func TestReadersNeverSeeHalfAFile(t *testing.T) {
	var disks []Disk
	for i := range 200 { // a diskstats of several pages
		disks = append(disks, Disk{Major: 8, Minor: uint32(i), Name: "sd" + string(rune('a'+i%26)) + strings.Repeat("x", i%7)})
	}
	tree := newTree(t, Machine{CPUs: 64, MemTotal: 1 << 30, Disks: disks})
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			tree.Advance(time.Second, Levels{CPU: Busy(float64(i%10) / 10), Disks: []DiskLevel{{ReadIOPS: 1e6}}})
			if err := tree.Write(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	deadline := time.Now().Add(300 * time.Millisecond)
	reads := 0
	for time.Now().Before(deadline) {
		for _, c := range []struct {
			name  string
			lines int
		}{{"stat", 1 + 64 + 7}, {"diskstats", 200}} {
			b, err := os.ReadFile(filepath.Join(tree.Dir(), c.name))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(b, []byte("\n")); n != c.lines || b[len(b)-1] != '\n' {
				t.Fatalf("%s read with %d lines, want %d", c.name, n, c.lines)
			}
			reads++
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d whole reads", reads)
}

// TestAdvanceAndUnchangedWriteAllocateNothing: a harness driving hundreds of trees pays for the system calls of
// the files that changed, not for rendering.
func TestAdvanceAndUnchangedWriteAllocateNothing(t *testing.T) {
	tree, err := NewStatic(t.TempDir(), 16, 4)
	if err != nil {
		t.Fatal(err)
	}
	l := Levels{CPU: Busy(0.5), MemUsed: 0.5, Load: 2, Disks: make([]DiskLevel, len(tree.Disks))}
	if n := testing.AllocsPerRun(100, func() { tree.Advance(time.Second, l) }); n != 0 {
		t.Errorf("Advance: %v allocations", n)
	}
	if err := tree.Write(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := tree.Write(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Write of unchanged files: %v allocations", n)
	}
}

// BenchmarkAdvanceAndWrite is one tick of a fleet harness for one host: advance a second and rewrite the files.
func BenchmarkAdvanceAndWrite(b *testing.B) {
	tree, err := New(b.TempDir(), Machine{CPUs: 8, MemTotal: 32 << 20, SwapTotal: 4 << 20,
		Disks:    []Disk{{Major: 8, Minor: 0, Name: "sda"}, {Major: 8, Minor: 16, Name: "sdb"}},
		Pressure: []Resource{PressureCPU, PressureIO, PressureMemory}})
	if err != nil {
		b.Fatal(err)
	}
	l := Levels{CPU: Busy(0.4), MemUsed: 0.6, Load: 3, Disks: []DiskLevel{{ReadIOPS: 100, Util: 0.3}, {WriteIOPS: 10}},
		Stall: [resources]Stall{PressureCPU: {Some: 0.01}}}
	b.ReportAllocs()
	for b.Loop() {
		tree.Advance(time.Second, l)
		if err := tree.Write(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInPlace: an InPlace tree keeps its files (same inode) and rewrites them, and a fault hook's replacement is
// picked up by the next Write.
func TestInPlace(t *testing.T) {
	tree := newTree(t, Machine{CPUs: 1, MemTotal: 1 << 20, Pressure: []Resource{PressureIO}})
	tree.InPlace = true
	t.Cleanup(func() { _ = tree.Close() })
	ino := func(name string) uint64 {
		fi, err := os.Stat(filepath.Join(tree.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	if err := tree.Write(); err != nil { // nothing changed: nothing written
		t.Fatal(err)
	}
	tree.Advance(time.Second, Levels{CPU: Busy(1), Load: 100})
	if err := tree.Write(); err != nil {
		t.Fatal(err)
	}
	before := ino("stat")
	tree.Advance(time.Second, Levels{CPU: Busy(1), Load: 5})
	if err := tree.Write(); err != nil {
		t.Fatal(err)
	}
	if ino("stat") != before {
		t.Error("stat replaced although InPlace")
	}
	if got := read(t, tree, "loadavg"); !strings.HasSuffix(got, " 5/110 1000\n") {
		t.Errorf("loadavg %q", got)
	}
	if err := tree.Remove("pressure"); err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteRaw("stat", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if err := tree.Write(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(read(t, tree, "stat"), "cpu  140 0 60 ") || read(t, tree, "pressure/io") == "" {
		t.Errorf("not restored after the hooks: stat %.40q", read(t, tree, "stat"))
	}
	tree.Advance(time.Second, Levels{CPU: Busy(1)})
	if n := testing.AllocsPerRun(20, func() {
		tree.Advance(time.Second, Levels{CPU: Busy(1)})
		if err := tree.Write(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("InPlace Advance and Write: %v allocations", n)
	}
}

// TestAdvanceByZeroSetsGauges: a driver's first step, with no time elapsed, sets memory and swap but moves no
// counter.
func TestAdvanceByZeroSetsGauges(t *testing.T) {
	tree := newTree(t, Machine{CPUs: 2, MemTotal: 1000, SwapTotal: 100})
	before := tree.CPU
	tree.Advance(0, Levels{CPU: Busy(1), MemUsed: 0.25, SwapUsed: 0.5, Load: 4})
	if tree.Mem.MemAvailable != 750 || tree.Mem.SwapFree != 50 || tree.CPU != before || tree.Load.Load[0] != 0 {
		t.Errorf("after Advance(0): mem %+v, cpu %+v, load %v", tree.Mem, tree.CPU, tree.Load.Load)
	}
}
