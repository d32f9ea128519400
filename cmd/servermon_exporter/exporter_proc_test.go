package main

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// procFault is one thing that can happen to /proc while the exporter runs: apply changes the files the scenario
// has just written; failing lists the collectors that may report failure meanwhile (the others must not).
type procFault struct {
	name    string
	apply   func(p *fakeProc, i int)
	failing []string
	// hang, when set, is a mount point whose statfs hangs while the fault lasts.
	hang string
}

// fakeProc applies faults to a scenario's tree, failing the test when a file cannot be written or removed.
type fakeProc struct {
	t    *testing.T
	tree *fakeproc.Tree
}

func (p fakeProc) write(name, content string) {
	p.t.Helper()
	if err := p.tree.WriteRaw(name, []byte(content)); err != nil {
		p.t.Fatal(err)
	}
}

func (p fakeProc) rewrite(name string, edit func([]byte) []byte) {
	p.t.Helper()
	if err := p.tree.Rewrite(name, edit); err != nil {
		p.t.Fatal(err)
	}
}

func (p fakeProc) remove(name string) {
	p.t.Helper()
	if err := p.tree.Remove(name); err != nil {
		p.t.Fatal(err)
	}
}

// diskLines renders n disks named prefix0…, whose counters grow with i (so rates exist from the second sample).
func diskLines(prefix string, n, i int) string {
	disks := make([]fakeproc.Disk, n)
	for d := range disks {
		v := float64(i*100 + d)
		disks[d] = fakeproc.Disk{Major: 8, Minor: uint32(d), Name: prefix + strconv.Itoa(d), Fields: 14, Reads: v,
			ReadSectors: 8 * v, ReadMs: 2 * v, Writes: math.Trunc(v / 2), WriteSectors: 16 * v, WriteMs: v, IOMs: 10 * v,
			WeightedMs: 3 * v}
	}
	return string(fakeproc.AppendDiskstats(nil, disks))
}

var procFaults = []procFault{
	{name: "meminfo vanishes", failing: []string{"memory"}, apply: func(p *fakeProc, _ int) {
		p.remove("meminfo")
	}},
	{name: "stat and diskstats vanish", failing: []string{"cpu", "disk"}, apply: func(p *fakeProc, _ int) {
		p.remove("stat")
		p.remove("diskstats")
	}},
	{name: "pressure directory vanishes", apply: func(p *fakeProc, _ int) {
		p.remove("pressure") // a kernel without PSI: not a failure
	}},
	{name: "every file truncated mid-line", failing: []string{"cpu", "memory", "load", "pressure", "disk", "filesystem"}, apply: func(p *fakeProc, _ int) {
		for _, name := range []string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu", "pressure/io", "1/mountinfo"} {
			p.rewrite(name, func(b []byte) []byte { return b[:len(b)/3] })
		}
	}},
	{name: "garbage lines", failing: []string{"cpu", "memory", "load", "pressure", "disk", "filesystem"}, apply: func(p *fakeProc, _ int) {
		garbage := "\x00\xff\xfe garbage {}\"\\\n"
		for _, name := range []string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu", "1/mountinfo"} {
			p.rewrite(name, func(b []byte) []byte { return []byte(garbage + string(b) + garbage) })
		}
	}},
	{name: "empty files", failing: []string{"cpu", "memory", "load", "pressure"}, apply: func(p *fakeProc, _ int) {
		for _, name := range []string{"stat", "meminfo", "loadavg", "diskstats", "pressure/cpu", "1/mountinfo"} { // no mounts: not a fault
			p.write(name, "")
		}
	}},
	{name: "numbers out of range", failing: []string{"cpu", "memory", "load", "pressure", "disk"}, apply: func(p *fakeProc, _ int) {
		max := "18446744073709551615"
		p.write("stat", "cpu  "+strings.Repeat(max+" ", 10)+"\ncpu0 -5 -5 -5 -5 0 0 0 0 0 0\n")
		p.write("meminfo", "MemTotal: 1000 kB\nMemAvailable: 99999999999999999999 kB\nSwapTotal: 10 kB\nSwapFree: 20 kB\n")
		p.write("loadavg", "1e308 -1 NaN 1/1 1\n")
		p.write("diskstats", " 8 0 vda "+strings.Repeat(max+" ", 11)+"\n 8 1 vdb "+strings.Repeat("99999999999999999999999 ", 11)+"\n")
		p.write("pressure/cpu", "some avg10=1e400 avg60=-1 avg300=NaN total=-1\n")
	}},
	{name: "mountinfo vanishes", failing: []string{"filesystem"}, apply: func(p *fakeProc, _ int) {
		p.remove("1/mountinfo") // and there is no self/mountinfo to fall back on
	}},
	{name: "mounts come and go", apply: func(p *fakeProc, i int) {
		var b strings.Builder
		for m := range 1 + i%4 {
			fmt.Fprintf(&b, "%d 1 254:%d / /mnt/churn%d-%d rw - ext4 /dev/vd%c rw\n", 100+m, m, i%3, m, 'e'+m)
		}
		p.write("1/mountinfo", scenarioMountinfo+b.String())
	}},
	{name: "an NFS mount's statfs hangs", hang: "/mnt/nfs"},
	{name: "counters go backwards", apply: func(p *fakeProc, i int) {
		// Every counter restarts low: CPU hot-plug, disk re-created, PSI reset.
		p.write("stat", fmt.Sprintf("cpu  %d 0 %d %d 0 0 0 0 0 0\ncpu0 1 0 1 1 0 0 0 0 0 0\n", i, i, 10*i))
		p.write("diskstats", " 254 0 vda 1 0 1 1 1 0 1 1 0 1 1\n")
		p.write("pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n")
	}},
	{name: "32-bit counters wrap", apply: func(p *fakeProc, i int) {
		// Kernels with 32-bit diskstats fields wrap at 2^32: the sample before the wrap is near it.
		v := uint64(1<<32 - 1000 + i*300)
		v %= 1 << 32
		p.write("diskstats", fmt.Sprintf(" 254 0 vda %d 0 %d %d %d 0 %d %d 0 %d %d\n", v, v, v, v, v, v, v, v))
	}},
	{name: "devices appear and disappear", apply: func(p *fakeProc, i int) {
		p.write("diskstats", diskLines(fmt.Sprintf("churn%d-", i%3), 1+i%4, i))
	}},
	{name: "zero disks", apply: func(p *fakeProc, _ int) {
		p.write("diskstats", "")
	}},
	{name: "hundreds of disks", apply: func(p *fakeProc, i int) {
		p.write("diskstats", diskLines("sd", 300, i))
	}},
}

// TestProcFaultsWhileRunning runs the exporter over a fake /proc that the scenario advances every sample, and
// applies each fault for several samples in turn, then lets the files recover. Throughout, /metrics must answer 200
// with an exposition that parses and lints, whose ratios lie in [0, 1] and whose values are finite and not negative
// (the time-until-threshold may be +Inf); collectors not touched by the fault keep reporting success; and after
// each fault every collector succeeds again and the gauges are back, without a restart.
func TestProcFaultsWhileRunning(t *testing.T) {
	e := newTestExporter(t, "--collector.cpu.per-cpu")
	p := &fakeProc{t: t, tree: e.scenario.Tree}
	sample := func(apply func(i int), i int) map[string]float64 {
		t.Helper()
		e.scenario.advance(t) // rewrites what a fault removed or spoilt

		if apply != nil {
			apply(i)
		}
		e.sampler.Sample()
		e.clock.Advance(10 * e.cfg.sampler.Interval / 10)
		return checkExposition(t, e.getOK(t, "/metrics"))
	}
	for i := range 5 {
		sample(nil, i)
	}
	i := 5
	for _, f := range procFaults {
		failed := map[string]bool{}
		apply := func(i int) {
			if f.apply != nil {
				f.apply(p, i)
			}
		}
		release := func() {}
		if f.hang != "" {
			release = e.scenario.statfs.Block(f.hang)
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
