package collector

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
