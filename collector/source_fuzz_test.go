package collector

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// fuzzFiles are the /proc files FuzzSources feeds, in the order of its arguments.
var fuzzFiles = [...]string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu"}

// FuzzSources runs every source over fuzzed /proc contents, through Read and Update, as the sampler does: a good
// reading (fixture t0), the fuzzed one, then another good one (fixture t1), so that deltas from and to the fuzzed
// values are taken. The parity fuzz targets compare the parsers with procfs; this one checks what reaches /metrics:
// no panic, an exposition that parses, every value finite and not negative, every ratio within [0, 1].
func FuzzSources(f *testing.F) {
	fixture := func(dir string) [len(fuzzFiles)][]byte {
		var out [len(fuzzFiles)][]byte
		for i, name := range fuzzFiles {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "proc", dir, name))
			if err != nil {
				f.Fatal(err)
			}
			out[i] = b
		}
		return out
	}
	t0, t1 := fixture("t0"), fixture("t1")
	f.Add(t0[0], t0[1], t0[2], t0[3], t0[4])
	f.Add(t1[0], t1[1], t1[2], t1[3], t1[4])
	f.Add([]byte("cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3\n"), []byte("MemTotal: 1 kB\nMemAvailable: 2 kB\n"), []byte("1e308 2 3 1/1 1\n"),
		[]byte(" 8 0 s\"d\\a\n 8 1 \xff\xfe 1 2 3 4 5 6 7 8 9 10 11\n"), []byte("some avg10=0 avg60=0 avg300=0 total=18446744073709551615\n"))
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, []byte{})
	dir := f.TempDir()
	write := func(t *testing.T, files [len(fuzzFiles)][]byte) {
		for i, name := range fuzzFiles {
			writeProcFile(t, dir, name, files[i])
		}
	}
	f.Fuzz(func(t *testing.T, stat, meminfo, loadavg, diskstats, psi []byte) {
		write(t, t0)
		s := newTestSampler(t, allSources(t, dir), time.Second, time.Minute)
		s.Sample()
		for _, files := range [][len(fuzzFiles)][]byte{{stat, meminfo, loadavg, diskstats, psi}, t1} {
			write(t, files)
			s.clock.Advance(time.Second)
			s.Sample()
			body := s.AppendMetrics(nil)
			checkFuzzedExposition(t, body)
		}
	})
}

func checkFuzzedExposition(t *testing.T, body []byte) {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	for series, v := range parseSamples(t, body) {
		name, _, _ := strings.Cut(series, "{")
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			t.Errorf("%s = %v", series, v)
		case v < 0:
			t.Errorf("%s = %v is negative", series, v)
		case strings.HasSuffix(name, "_ratio") && v > 1:
			t.Errorf("%s = %v is above 1", series, v)
		}
	}
}

// FuzzMountinfo runs the filesystem source over fuzzed mountinfo contents between two good ones, with a statfs that
// answers for a few paths and fails for the rest: no panic, an exposition that parses with every label valid UTF-8
// and no series twice (parseSamples fails on one), every value finite and in range.
func FuzzMountinfo(f *testing.F) {
	good := "1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n2 1 254:16 / /mnt/my\\040disk ro - xfs /dev/vdb rw\n"
	f.Add([]byte(good))
	f.Add([]byte(testMountinfo))
	f.Add([]byte("3 1 0:1 / /a\\377\\376 rw - ext4 /dev/x\\012y rw\n4 1 0:1 / /a\\377\\375 rw - ext4 /dev/z rw\n"))
	f.Add([]byte("5 1 0:1 / / rw shared:1 master:2 - ext4 \"\\134 rw,a=b=c\n6 1 0:1 / / rw - ext4 - -\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, mountinfo []byte) {
		ft := newFSTest(t, good, nil)
		for _, p := range []string{"/", "/mnt/my disk", "/a\xff\xfe", "/srv"} {
			ft.statfs.SetBlocks(p, 100, 50, 40, 10, 5)
		}
		ft.sample()
		for _, content := range []string{string(mountinfo), good} {
			ft.proc.write("1/mountinfo", content)
			ft.clock.Advance(time.Second)
			ft.Sample()
			body := ft.AppendMetrics(nil)
			checkFuzzedExposition(t, body)
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range families {
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if !utf8.ValidString(l.GetValue()) {
							t.Errorf("%s: label %s=%q is not UTF-8", mf.GetName(), l.GetName(), l.GetValue())
						}
					}
				}
			}
		}
	})
}
