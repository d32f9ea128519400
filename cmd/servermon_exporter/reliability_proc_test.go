package main

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/servermon/servermon_exporter/collector"
)

// procFault is one thing that can happen to /proc while the exporter runs: apply changes the files the scenario
// has just written; failing lists the collectors that may report failure meanwhile (the others must not).
type procFault struct {
	name    string
	apply   func(t *testing.T, dir string, i int)
	failing []string
	// hang, when set, is a mount point whose statfs hangs while the fault lasts.
	hang string
}

func writeProc(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeProc(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// diskLines renders n disks named prefix0…, whose counters grow with i (so rates exist from the second sample).
func diskLines(prefix string, n, i int) string {
	var b strings.Builder
	for d := range n {
		v := uint64(i*100 + d)
		fmt.Fprintf(&b, " 8 %d %s%d %d 0 %d %d %d 0 %d %d 0 %d %d\n", d, prefix, d, v, 8*v, 2*v, v/2, 16*v, v, 10*v, 3*v)
	}
	return b.String()
}

var procFaults = []procFault{
	{name: "meminfo vanishes", failing: []string{"memory"}, apply: func(t *testing.T, dir string, _ int) {
		removeProc(t, dir, "meminfo")
	}},
	{name: "stat and diskstats vanish", failing: []string{"cpu", "disk"}, apply: func(t *testing.T, dir string, _ int) {
		removeProc(t, dir, "stat")
		removeProc(t, dir, "diskstats")
	}},
	{name: "pressure directory vanishes", apply: func(t *testing.T, dir string, _ int) {
		removeProc(t, dir, "pressure") // a kernel without PSI: not a failure
	}},
	{name: "every file truncated mid-line", failing: []string{"cpu", "memory", "load", "pressure", "disk", "filesystem"}, apply: func(t *testing.T, dir string, _ int) {
		for _, name := range []string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu", "pressure/io", "1/mountinfo"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			writeProc(t, dir, name, string(b[:len(b)/3]))
		}
	}},
	{name: "garbage lines", failing: []string{"cpu", "memory", "load", "pressure", "disk", "filesystem"}, apply: func(t *testing.T, dir string, _ int) {
		garbage := "\x00\xff\xfe garbage {}\"\\\n"
		for _, name := range []string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu", "1/mountinfo"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			writeProc(t, dir, name, garbage+string(b)+garbage)
		}
	}},
	{name: "empty files", failing: []string{"cpu", "memory", "load", "pressure"}, apply: func(t *testing.T, dir string, _ int) {
		for _, name := range []string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu", "1/mountinfo"} { // no mounts: not a fault
			writeProc(t, dir, name, "")
		}
	}},
	{name: "numbers out of range", failing: []string{"cpu", "memory", "load", "pressure", "disk"}, apply: func(t *testing.T, dir string, _ int) {
		max := "18446744073709551615"
		writeProc(t, dir, "stat", "cpu  "+strings.Repeat(max+" ", 10)+"\ncpu0 -5 -5 -5 -5 0 0 0 0 0 0\n")
		writeProc(t, dir, "meminfo", "MemTotal: 1000 kB\nMemAvailable: 99999999999999999999 kB\nSwapTotal: 10 kB\nSwapFree: 20 kB\n")
		writeProc(t, dir, "loadavg", "1e308 -1 NaN 1/1 1\n")
		writeProc(t, dir, "diskstats", " 8 0 vda "+strings.Repeat(max+" ", 11)+"\n 8 1 vdb "+strings.Repeat("99999999999999999999999 ", 11)+"\n")
		writeProc(t, dir, "pressure/cpu", "some avg10=1e400 avg60=-1 avg300=NaN total=-1\n")
	}},
	{name: "mountinfo vanishes", failing: []string{"filesystem"}, apply: func(t *testing.T, dir string, _ int) {
		removeProc(t, dir, "1/mountinfo") // and there is no self/mountinfo to fall back on
	}},
	{name: "mounts come and go", apply: func(t *testing.T, dir string, i int) {
		var b strings.Builder
		for m := range 1 + i%4 {
			fmt.Fprintf(&b, "%d 1 254:%d / /mnt/churn%d-%d rw - ext4 /dev/vd%c rw\n", 100+m, m, i%3, m, 'e'+m)
		}
		writeProc(t, dir, "1/mountinfo", scenarioMountinfo+b.String())
	}},
	{name: "a mount's statfs hangs", hang: "/var/lib/data"},
	{name: "counters go backwards", apply: func(t *testing.T, dir string, i int) {
		// Every counter restarts low: CPU hot-plug, disk re-created, PSI reset.
		writeProc(t, dir, "stat", fmt.Sprintf("cpu  %d 0 %d %d 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\n", i, i, 10*i))
		writeProc(t, dir, "diskstats", " 254 0 vda 1 0 1 1 1 0 1 1 0 1 1\n")
		writeProc(t, dir, "pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n")
	}},
	{name: "32-bit counters wrap", apply: func(t *testing.T, dir string, i int) {
		// Kernels with 32-bit diskstats fields wrap at 2^32: the sample before the wrap is near it.
		v := uint64(1<<32 - 1000 + i*300)
		v %= 1 << 32
		writeProc(t, dir, "diskstats", fmt.Sprintf(" 254 0 vda %d 0 %d %d %d 0 %d %d 0 %d %d\n", v, v, v, v, v, v, v, v))
	}},
	{name: "devices appear and disappear", apply: func(t *testing.T, dir string, i int) {
		writeProc(t, dir, "diskstats", diskLines(fmt.Sprintf("churn%d-", i%3), 1+i%4, i))
	}},
	{name: "zero disks", apply: func(t *testing.T, dir string, _ int) {
		writeProc(t, dir, "diskstats", "")
	}},
	{name: "hundreds of disks", apply: func(t *testing.T, dir string, i int) {
		writeProc(t, dir, "diskstats", diskLines("sd", 300, i))
	}},
}

// TestProcFaultsWhileRunning runs the exporter over a fake /proc that the scenario advances every sample, and
// applies each fault for several samples in turn, then lets the files recover. Throughout, /metrics must answer 200
// with an exposition that parses and lints, whose ratios lie in [0, 1] and whose values are finite and not negative
// (the time-until-threshold may be +Inf); collectors not touched by the fault keep reporting success; and after
// each fault every collector succeeds again and the gauges are back, without a restart.
func TestProcFaultsWhileRunning(t *testing.T) {
	e := newTestExporter(t, "--collector.cpu.per-cpu")
	dir := e.scenario.dir
	sample := func(apply func(i int), i int) map[string]float64 {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "pressure"), 0o755); err != nil { // a fault may have removed it
			t.Fatal(err)
		}
		e.scenario.advance(t)
		if apply != nil {
			apply(i)
		}
		e.sampler.Sample()
		e.clock.Advance(10 * e.cfg.sampler.Interval / 10)
		resp, body := e.get(t, "/metrics")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("sample %d: status %d", i, resp.StatusCode)
		}
		return checkExposition(t, body)
	}
	for i := range 5 {
		sample(nil, i)
	}
	i := 5
	for _, f := range procFaults {
		failed := map[string]bool{}
		apply := func(i int) {
			if f.apply != nil {
				f.apply(t, dir, i)
			}
		}
		release := func() {}
		if f.hang != "" {
			release = e.scenario.hang(f.hang)
		}
		for range 4 {
			got := sample(apply, i)
			i++
			if f.hang != "" {
				hung := false
				for k, v := range got {
					hung = hung || strings.HasPrefix(k, "servermon_filesystem_device_error") && strings.Contains(k, `mountpoint="`+f.hang+`"`) && v == 1
				}
				if !hung {
					t.Errorf("%s: the hung mount is not reported in servermon_filesystem_device_error", f.name)
				}
			}
			for _, c := range collector.Collectors() {
				if got[`servermon_collector_success{collector="`+c.Name+`"}`] != 1 {
					failed[c.Name] = true
					if !contains(f.failing, c.Name) {
						t.Errorf("%s: collector %s failed although its files are intact", f.name, c.Name)
					}
				}
			}
		}
		// A fault that no collector noticed would make this test prove nothing about it.
		if len(f.failing) > 0 && len(failed) == 0 {
			t.Errorf("%s: no collector reported a failure", f.name)
		}
		t.Logf("%s: failed %v", f.name, keys(failed))
		release()
		var got map[string]float64
		for range 3 {
			got = sample(nil, i)
			i++
		}
		for _, c := range collector.Collectors() {
			if got[`servermon_collector_success{collector="`+c.Name+`"}`] != 1 {
				t.Errorf("after %s: collector %s did not recover", f.name, c.Name)
			}
		}
		for _, series := range []string{"servermon_cpu_usage_ratio", "servermon_memory_usage_ratio", "servermon_load1",
			`servermon_disk_utilization_ratio{device="vda"}`, `servermon_pressure_stalled_ratio{resource="cpu",kind="some"}`,
			`servermon_filesystem_usage_ratio{device="/dev/vdb",mountpoint="/var/lib/data",fstype="xfs"}`} {
			if _, ok := got[series]; !ok {
				t.Errorf("after %s: %s missing", f.name, series)
			}
		}
		if f.name == "hundreds of disks" {
			continue
		}
		for k := range got {
			if strings.Contains(k, `filesystem_device_error`) && got[k] != 0 {
				t.Errorf("after %s: %s = %v", f.name, k, got[k])
			}
			if strings.Contains(k, `device="churn`) || strings.Contains(k, `device="sd`) || strings.Contains(k, `mountpoint="/mnt/churn`) {
				t.Errorf("after %s: series of a vanished disk: %s", f.name, k)
				break
			}
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for _, c := range collector.Collectors() {
		if m[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkExposition parses a /metrics body strictly, lints it and checks every value; it returns the samples.
func checkExposition(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	got := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		series, value := line[:sp], line[sp+1:]
		var v float64
		if _, err := fmt.Sscan(value, &v); err != nil && value != "+Inf" {
			t.Fatalf("bad value in %q", line)
		}
		if value == "+Inf" {
			v = math.Inf(1)
		}
		got[series] = v
		name, _, _ := strings.Cut(series, "{")
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		switch {
		case math.IsNaN(v):
			t.Errorf("%s is NaN", series)
		case math.IsInf(v, 0) && name != "servermon_forecast_seconds_until_threshold":
			t.Errorf("%s is %v", series, v)
		case v < 0:
			t.Errorf("%s = %v is negative", series, v)
		case strings.HasSuffix(name, "_ratio") && name != "servermon_forecast_error_ratio" && v > 1:
			t.Errorf("%s = %v is above 1", series, v)
		}
	}
	return got
}
