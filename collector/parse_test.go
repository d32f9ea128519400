package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

// The fast parsers promise procfs's semantics: for any content, the source's parse (fast parser, or procfs when
// the fast parser declines) yields what procfs yields, or fails where procfs fails. These tests hold them to it
// by running procfs itself on the same bytes, written to a fresh tree.

// parityKind is one /proc file the sources parse.
type parityKind struct {
	file string
	// check parses data with the source's parse and with procfs on proc (whose file holds data), and reports
	// a difference, and whether the fast parser took the content (false: it was handed to procfs).
	check func(proc ProcFS, data []byte) (diff string, fast bool)
}

var parityKinds = []parityKind{
	{"stat", checkStat},
	{"meminfo", checkMeminfo},
	{"loadavg", checkLoadAvg},
	{"pressure/io", checkPSI},
	{"diskstats", checkDiskstats},
}

// bothFail compares the error outcomes; it returns a difference, or "" with done true when both failed.
func bothFail(err, want error) (diff string, done bool) {
	switch {
	case err != nil && want != nil:
		return "", true
	case err != nil:
		return fmt.Sprintf("source failed (%v) where procfs succeeded", err), true
	case want != nil:
		return fmt.Sprintf("source succeeded where procfs failed (%v)", want), true
	}
	return "", false
}

func checkStat(proc ProcFS, data []byte) (string, bool) {
	var r statReading
	fast := parseStat(data, &statReading{})
	err := NewCPU(proc, CPUConfig{}).(*cpuSource).parse(data, &r)
	want, werr := proc.fs.Stat()
	if d, done := bothFail(err, werr); done {
		return d, fast
	}
	if r.total != want.CPUTotal {
		return fmt.Sprintf("total %+v, procfs %+v", r.total, want.CPUTotal), fast
	}
	if len(r.cores) != len(want.CPU) {
		return fmt.Sprintf("%d cores, procfs %d", len(r.cores), len(want.CPU)), fast
	}
	for i, c := range r.cores {
		if w, ok := want.CPU[c.id]; !ok || w != c.stat {
			return fmt.Sprintf("cpu%d %+v, procfs %+v", c.id, c.stat, w), fast
		}
		if i > 0 && r.cores[i-1].id >= c.id {
			return fmt.Sprintf("cores out of order at %d", i), fast
		}
	}
	return "", fast
}

func checkMeminfo(proc ProcFS, data []byte) (string, bool) {
	fast := parseMeminfo(data, &meminfoReading{})
	got, err := NewMemory(proc).(*memorySource).parse(data)
	want, werr := proc.fs.Meminfo()
	if d, done := bothFail(err, werr); done {
		return d, fast
	}
	for _, f := range []struct {
		name      string
		got, want *uint64
	}{
		{"MemTotal", got.MemTotal, want.MemTotal}, {"MemTotalBytes", got.MemTotalBytes, want.MemTotalBytes},
		{"MemFree", got.MemFree, want.MemFree}, {"MemFreeBytes", got.MemFreeBytes, want.MemFreeBytes},
		{"MemAvailable", got.MemAvailable, want.MemAvailable}, {"MemAvailableBytes", got.MemAvailableBytes, want.MemAvailableBytes},
		{"Buffers", got.Buffers, want.Buffers}, {"BuffersBytes", got.BuffersBytes, want.BuffersBytes},
		{"Cached", got.Cached, want.Cached}, {"CachedBytes", got.CachedBytes, want.CachedBytes},
		{"SReclaimable", got.SReclaimable, want.SReclaimable}, {"SReclaimableBytes", got.SReclaimableBytes, want.SReclaimableBytes},
		{"SwapTotal", got.SwapTotal, want.SwapTotal}, {"SwapTotalBytes", got.SwapTotalBytes, want.SwapTotalBytes},
		{"SwapFree", got.SwapFree, want.SwapFree}, {"SwapFreeBytes", got.SwapFreeBytes, want.SwapFreeBytes},
	} {
		if (f.got == nil) != (f.want == nil) || (f.got != nil && *f.got != *f.want) {
			return fmt.Sprintf("%s %s, procfs %s", f.name, ptr(f.got), ptr(f.want)), fast
		}
	}
	return "", fast
}

func ptr(p *uint64) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprint(*p)
}

func checkLoadAvg(proc ProcFS, data []byte) (string, bool) {
	fast := parseLoadAvg(data, &procfs.LoadAvg{})
	got, err := NewLoad(proc).(*loadSource).parse(data)
	want, werr := proc.fs.LoadAvg()
	if d, done := bothFail(err, werr); done {
		return d, fast
	}
	if got != *want {
		return fmt.Sprintf("%+v, procfs %+v", got, *want), fast
	}
	return "", fast
}

func checkPSI(proc ProcFS, data []byte) (string, bool) {
	fast := parsePSI(data, &psiReading{})
	got, err := NewPressure(proc).(*pressureSource).parse(1, data) // io, as parityKinds names it
	want, werr := proc.fs.PSIStatsForResource("io")
	if d, done := bothFail(err, werr); done {
		return d, fast
	}
	if got.hasSome != (want.Some != nil) || (got.hasSome && got.some != *want.Some) {
		return fmt.Sprintf("some %v %+v, procfs %+v", got.hasSome, got.some, want.Some), fast
	}
	if got.hasFull != (want.Full != nil) || (got.hasFull && got.full != *want.Full) {
		return fmt.Sprintf("full %v %+v, procfs %+v", got.hasFull, got.full, want.Full), fast
	}
	return "", fast
}

func checkDiskstats(proc ProcFS, data []byte) (string, bool) {
	_, fast := parseDiskstats(data, nil)
	src := NewDisk(proc, DiskConfig{}).(*diskSource)
	err := src.parse(data)
	want, werr := proc.bd.ProcDiskstats()
	if d, done := bothFail(err, werr); done {
		return d, fast
	}
	if len(src.lines) != len(want) {
		return fmt.Sprintf("%d devices, procfs %d", len(src.lines), len(want)), fast
	}
	for i, l := range src.lines {
		w := want[i]
		if l.major != w.MajorNumber || l.minor != w.MinorNumber || string(l.name) != w.DeviceName || l.stats != w.IOStats || l.count != w.IoStatsCount {
			return fmt.Sprintf("line %d: %d %d %q %+v (%d fields), procfs %d %d %q %+v (%d fields)", i, l.major, l.minor, l.name,
				l.stats, l.count, w.MajorNumber, w.MinorNumber, w.DeviceName, w.IOStats, w.IoStatsCount), fast
		}
	}
	return "", fast
}

// oracle writes data as the file of a fresh tree and returns that tree.
func oracle(tb testing.TB, file string, data []byte) ProcFS {
	tb.Helper()
	dir := tb.TempDir()
	writeProcFile(tb, dir, file, data)
	proc, err := NewProcFS(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return proc
}

// expectParity checks every file of the tree at dir, which is in the kernel's spelling: the fast parsers must take
// it, and agree with procfs.
func expectParity(t *testing.T, dir string) {
	t.Helper()
	for _, k := range parityKinds {
		data, err := os.ReadFile(filepath.Join(dir, k.file))
		if err != nil {
			t.Fatal(err)
		}
		diff, fast := k.check(oracle(t, k.file, data), data)
		if diff != "" {
			t.Errorf("%s/%s: %s", dir, k.file, diff)
		}
		if !fast {
			t.Errorf("%s/%s: the fast parser declined the kernel's spelling, every read would go through procfs", dir, k.file)
		}
	}
}

func TestParsersMatchProcfsOnFixtures(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("..", "testdata", "proc", "*"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, dir := range fixtures {
		expectParity(t, dir)
	}
}

func TestParsersMatchProcfsOnSyntheticTrees(t *testing.T) {
	for _, size := range [][2]int{{1, 0}, {2, 1}, {16, 8}, {128, 64}, {256, 256}} {
		dir := t.TempDir()
		staticProc(t, dir, size[0], size[1])
		expectParity(t, dir)
	}
}

// TestParsersMatchProcfsOnThisMachine checks the fast parsers take this kernel's files, so that the exporter does
// not quietly fall back to procfs on every read.
func TestParsersMatchProcfsOnThisMachine(t *testing.T) {
	dir := t.TempDir()
	for _, k := range parityKinds {
		data, err := os.ReadFile(filepath.Join("/proc", k.file))
		if err != nil {
			t.Fatalf("this machine's /proc: %v", err) // Linux-only, PSI enabled: the test machines are
		}
		writeProcFile(t, dir, k.file, data)
	}
	expectParity(t, dir)
}

// parityCases are contents off the kernel's spelling, where the fast parsers must either decline or agree.
var parityCases = map[string][]string{
	"stat": {
		"cpu  1 2 3 4 5 6 7 8 9 10 11 12\ncpu0 1 2\n", "cpu-1 1 2 3\n", "cpu+1 1 2 3\n", "cpu01 5 6\ncpu1 7 8\n",
		"cpu1 1\ncpu0 2\n", "cpu  1.5 2 3\n", "cpu  1_0 2\n", "cpu\n", "cpu 18446744073709551616 1\n",
		"cpu  1 2\r\ncpu0 3 4\r\n", "cpu\v1 2\n", "\u00a0cpu 1 2\n", "intr 1 2 x\n", "intr 1 2 18446744073709551616\n",
		"intr 000000000000000000001\n", "ctxt -1\n", "btime\n", "softirq 1 2 3\n", "softirq 1 2 3 4 5 6 7 8 9 10 11 x\n",
		"cpufreq 1 2\n", "cpu  1 2 3 4 5 6 7 8 9 10 x\n", "cpu 1\x002\n", "cpu 1 2", "\n\n\ncpu 3\n",
		"cpu9223372036854775808 1\n", "cpu 1e3 2\n",
	},
	"meminfo": {
		"MemTotal: 010 kB\n", "MemTotal: 0x10 kB\n", "MemTotal: 0 kB\n", "MemTotal: 1 MB\n", "MemTotal: 1 kB extra\n",
		"MemTotal:\n", "\n", "MemTotal: 18014398509481984 kB\n", "MemTotal: 1_0 kB\n", "MemTotal: 5\nMemTotal: 6 kB\n",
		"MemTotal: 1 kB\r\n", "MemTotal:\t1\tkB\n", "Mem Total: 1 kB\n", "MemTotal: +1 kB\n",
		"MemTotal: 1 kB\n" + strings.Repeat("x", 70000) + " 1\n",
	},
	"loadavg": {
		"1 2 3", "1.5 2.25 3.125 1/2 3\n", "-1.0 2 3\n", "1. 2 3\n", ".5 2 3\n", "1e2 2 3\n", "inf 2 3\n", "1 2\n",
		"1\t2\n3\n", "1,0 2 3\n", "1.0 2.0 3.0x\n", "  1 2 3", "1 2 3\u00a0x", "0x1p-2 1 1\n", "1234567890123456 1 1\n",
	},
	"pressure/io": {
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", "some avg10=1 avg60=2 avg300=3 total=4 trailing\n",
		"some avg10=1.00 avg60=2.00 avg300=3.00 total=4x\n", "some  avg10=1.00 avg60=2.00 avg300=3.00 total=4\n",
		"some avg10= 1.00 avg60=2.00 avg300=3.00 total=4\n", "some avg10=1.00 avg60=2.00 avg300=3.00 total=\n",
		"some\n", "some avg10=1.00\n", "full avg10=0.00 avg60=0.00 avg300=0.00 total=1\n", "other line\nsome avg10=0 avg60=0 avg300=0 total=9\r\n",
		"some\tavg10=1.00 avg60=2.00 avg300=3.00 total=4\n", "some avg10=1e2 avg60=2.00 avg300=3.00 total=4\n",
		"some avg10=1.00 avg60=2.00 avg300=3.00 total=18446744073709551616\n", "some avg10=1.00 avg60=2.00 avg300=3.00 total=1_0\n",
	},
	"diskstats": {
		"   8       0 sda 1 2 3\n", "8 0 sda " + strings.Repeat("1 ", 17) + "\n", "8 0 sda " + strings.Repeat("1 ", 25) + "\n",
		"8 0 sda " + strings.Repeat("1 ", 11) + "x\n", "8 0 sda " + strings.Repeat("1 ", 20) + "x\n", "4294967296 0 sda" + strings.Repeat(" 1", 17) + "\n",
		"8 0\n", "8\n", "x 0 sda 1\n", "8 0 s\u00e9 " + strings.Repeat("1 ", 11) + "\n", "8 0 sda " + strings.Repeat("1 ", 11) + "\r\n",
		"8 0 sda 1_0" + strings.Repeat(" 1", 16) + "\n", "  \n\n", "8 0 sda" + strings.Repeat(" 1", 17) + "\n8 0 sda" + strings.Repeat(" 2", 17) + "\n",
	},
}

func TestParsersMatchProcfsOffTheKernelSpelling(t *testing.T) {
	for _, k := range parityKinds {
		for _, c := range parityCases[k.file] {
			if diff, _ := k.check(oracle(t, k.file, []byte(c)), []byte(c)); diff != "" {
				t.Errorf("%s %q: %s", k.file, c, diff)
			}
		}
	}
}

// fuzzParity is the body of the fuzz targets: any content, parity or both failing, and no panic.
func fuzzParity(f *testing.F, file string, check func(ProcFS, []byte) (string, bool)) {
	for _, dir := range []string{"t0", "t1"} {
		if b, err := os.ReadFile(filepath.Join("..", "testdata", "proc", dir, file)); err == nil {
			f.Add(b)
		}
	}
	for _, c := range parityCases[file] {
		f.Add([]byte(c))
	}
	// One tree for all inputs: the fuzz function runs one input at a time per process, and a fresh directory per
	// input would cost more than the parsing.
	dir := f.TempDir()
	proc, err := NewProcFS(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		writeProcFile(t, dir, file, data)
		if diff, _ := check(proc, data); diff != "" {
			t.Errorf("%q: %s", data, diff)
		}
	})
}

func FuzzStatParity(f *testing.F)      { fuzzParity(f, "stat", checkStat) }
func FuzzMeminfoParity(f *testing.F)   { fuzzParity(f, "meminfo", checkMeminfo) }
func FuzzLoadAvgParity(f *testing.F)   { fuzzParity(f, "loadavg", checkLoadAvg) }
func FuzzPSIParity(f *testing.F)       { fuzzParity(f, "pressure/io", checkPSI) }
func FuzzDiskstatsParity(f *testing.F) { fuzzParity(f, "diskstats", checkDiskstats) }
