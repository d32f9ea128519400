package collector

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func expectSamples(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s missing", k)
			continue
		}
		if !approx(g, w) {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
}

func expectAbsent(t *testing.T, got map[string]float64, prefixes ...string) {
	t.Helper()
	for k := range got {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				t.Errorf("%s present, want absent", k)
			}
		}
	}
}

// TestTwoSnapshots checks every gauge against values worked out by hand from testdata/proc/t0 and t1, taken 10 s
// apart.
func TestTwoSnapshots(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), 10*time.Second, time.Minute)
	s.Sample()

	// First sample: instantaneous gauges exist, rates do not (absent, not 0 or NaN).
	first := s.metrics(t)
	expectSamples(t, first, map[string]float64{
		"servermon_memory_usage_ratio": 0.5,
		"servermon_load1":              0.5,
	})
	expectAbsent(t, first, "servermon_cpu_", "servermon_disk_", "servermon_pressure_")

	p.load("t1")
	s.clock.Advance(10 * time.Second)
	s.Sample()
	got := s.metrics(t)
	expectSamples(t, got, map[string]float64{
		// mpstat: %busy = Δ(total − idle − iowait)/Δtotal; Δ = user 600, nice 0, system 200, idle 1000, iowait 100,
		// irq 40, softirq 60, steal 0 → total 2000, busy 900.
		"servermon_cpu_usage_ratio":                0.45,
		"servermon_cpu_usage_peak_ratio":           0.45,
		`servermon_cpu_mode_ratio{mode="user"}`:    0.3,
		`servermon_cpu_mode_ratio{mode="nice"}`:    0,
		`servermon_cpu_mode_ratio{mode="system"}`:  0.1,
		`servermon_cpu_mode_ratio{mode="idle"}`:    0.5,
		`servermon_cpu_mode_ratio{mode="iowait"}`:  0.05,
		`servermon_cpu_mode_ratio{mode="irq"}`:     0.02,
		`servermon_cpu_mode_ratio{mode="softirq"}`: 0.03,
		`servermon_cpu_mode_ratio{mode="steal"}`:   0,
		`servermon_cpu_core_usage_ratio{cpu="0"}`:  0.65, // (1000 − 300 − 50)/1000
		`servermon_cpu_core_usage_ratio{cpu="1"}`:  0.25, // (1000 − 700 − 50)/1000
		// free: used share = 1 − MemAvailable/MemTotal: t0 1 − 4/8 = 0.5, t1 1 − 2/8 = 0.75; window mean 0.625.
		"servermon_memory_usage_ratio":      0.625,
		"servermon_memory_usage_peak_ratio": 0.75,
		"servermon_memory_total_bytes":      8000000 * 1024,
		"servermon_memory_available_bytes":  3000000 * 1024,
		"servermon_swap_total_bytes":        2000000 * 1024,
		"servermon_swap_usage_ratio":        0.375, // mean of 1 − 1.5/2 and 1 − 1/2
		// loadavg: t1's values, not a mean with t0's (node_load1's semantics).
		"servermon_load1":  1.5,
		"servermon_load5":  0.6,
		"servermon_load15": 0.35,
		// PSI: Δtotal µs / 10 s.
		`servermon_pressure_stalled_ratio{resource="cpu",kind="some"}`:    0.05,
		`servermon_pressure_stalled_ratio{resource="cpu",kind="full"}`:    0.12,
		`servermon_pressure_stalled_ratio{resource="io",kind="some"}`:     0.2,
		`servermon_pressure_stalled_ratio{resource="io",kind="full"}`:     0.05,
		`servermon_pressure_stalled_ratio{resource="memory",kind="some"}`: 0.01,
		`servermon_pressure_stalled_ratio{resource="memory",kind="full"}`: 0.005,
		// iostat -x over 10 s for sda: r/s = 200/10, rkB/s = 20000·512/10 B, r_await = 400 ms/200,
		// w/s = 100/10, wkB/s = 8000·512/10 B, w_await = 1000 ms/100, aqu-sz = 12000 ms/10000 ms, %util = 5000/10000.
		`servermon_disk_reads_per_second{device="sda"}`:       20,
		`servermon_disk_read_bytes_per_second{device="sda"}`:  1024000,
		`servermon_disk_read_await_seconds{device="sda"}`:     0.002,
		`servermon_disk_writes_per_second{device="sda"}`:      10,
		`servermon_disk_write_bytes_per_second{device="sda"}`: 409600,
		`servermon_disk_write_await_seconds{device="sda"}`:    0.01,
		`servermon_disk_queue_length{device="sda"}`:           1.2,
		`servermon_disk_utilization_ratio{device="sda"}`:      0.5,
		`servermon_disk_utilization_peak_ratio{device="sda"}`: 0.5,
		// d/s = 50/10, dkB/s = 20000·512/10 B, d_await = 300 ms/50, f/s = 20/10, f_await = 60 ms/20.
		`servermon_disk_discards_per_second{device="sda"}`:      5,
		`servermon_disk_discard_bytes_per_second{device="sda"}`: 1024000,
		`servermon_disk_discard_await_seconds{device="sda"}`:    0.006,
		`servermon_disk_flushes_per_second{device="sda"}`:       2,
		`servermon_disk_flush_await_seconds{device="sda"}`:      0.003,
		// nvme0n1's lines have the discard fields but not the flush ones (18 fields, Linux 4.18 to 5.4).
		`servermon_disk_discards_per_second{device="nvme0n1"}`:   0,
		`servermon_disk_discard_await_seconds{device="nvme0n1"}`: 0,
		// sdc's have neither (14 fields, before 4.18): its other rates are there.
		`servermon_disk_reads_per_second{device="sdc"}`:       5,
		`servermon_disk_reads_per_second{device="nvme0n1"}`:   0,
		`servermon_disk_read_await_seconds{device="nvme0n1"}`: 0, // no reads: 0, as iostat prints
		`servermon_disk_utilization_ratio{device="nvme0n1"}`:  0,
		`servermon_collector_success{collector="cpu"}`:        1,
		`servermon_collector_success{collector="disk"}`:       1,
		`servermon_collector_success{collector="memory"}`:     1,
		`servermon_collector_success{collector="load"}`:       1,
		`servermon_collector_success{collector="pressure"}`:   1,
		"servermon_sample_window_seconds":                     60,
		"servermon_sample_interval_seconds":                   10,
		"servermon_samples_total":                             2,
	})
	// Partitions, loop devices are excluded by default; dm-0's counters went backwards, so it has no rate yet.
	expectAbsent(t, got, `servermon_disk_reads_per_second{device="sda1"}`, `servermon_disk_reads_per_second{device="loop0"}`,
		`servermon_disk_reads_per_second{device="nvme0n1p1"}`, `servermon_disk_reads_per_second{device="dm-0"}`)
	// Fields the kernel does not have are absent, not 0.
	expectAbsent(t, got, `servermon_disk_flushes_per_second{device="nvme0n1"}`, `servermon_disk_flush_await_seconds{device="nvme0n1"}`,
		`servermon_disk_discards_per_second{device="sdc"}`, `servermon_disk_discard_bytes_per_second{device="sdc"}`,
		`servermon_disk_discard_await_seconds{device="sdc"}`, `servermon_disk_flushes_per_second{device="sdc"}`,
		`servermon_disk_flush_await_seconds{device="sdc"}`)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestCollectorTable checks the table against the sources it builds, and the forecast targets against the
// families the sources produce: each target is produced by a family, each target family's target is registered.
func TestCollectorTable(t *testing.T) {
	p := newFakeProc(t, "t1")
	proc, err := NewProcFS(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range Collectors() {
		if src := c.New(proc, Config{}); src.Name() != c.Name {
			t.Errorf("collector %q builds a source named %q", c.Name, src.Name())
		}
		if seen[c.Name] || c.Reads == "" {
			t.Errorf("collector %q listed twice or without what it reads", c.Name)
		}
		seen[c.Name] = true
	}
	s := newTestSampler(t, NewSources(proc, Config{}, func(string) bool { return true }), time.Second, time.Minute)
	s.Sample()
	s.clock.Advance(time.Second)
	p.load("t0")
	s.Sample()
	produced := map[*Target]bool{}
	s.store.Each(func(g *Gauge) {
		if tg := g.Family().Target; tg != nil {
			if TargetByName(tg.Name) != tg {
				t.Errorf("family %s forecasts %q, which Targets does not list", g.Family().Name, tg.Name)
			}
			if tg.PerDevice() != (len(g.Family().LabelNames) > 0) {
				t.Errorf("target %q: per device %v, but family %s has labels %v", tg.Name, tg.PerDevice(), g.Family().Name, g.Family().LabelNames)
			}
			produced[tg] = true
		}
	})
	names := map[string]bool{}
	for _, tg := range Targets() {
		if !produced[tg] {
			t.Errorf("target %q is produced by no family", tg.Name)
		}
		if names[tg.Name] || tg.Title == "" || !(tg.Min < tg.Max) || (tg.ThresholdFlag != "") != (tg.ThresholdDefault > 0) {
			t.Errorf("target %+v: duplicate name, no title, bad bounds or threshold", tg)
		}
		names[tg.Name] = true
	}
}

// TestThresholdFlags: targets sharing a threshold flag share its default, and every flag and group is listed once.
func TestThresholdFlags(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range ThresholdFlags() {
		if seen[f.Name] || len(f.Targets) == 0 || !(f.Default > 0 && f.Default <= 1) {
			t.Errorf("threshold flag %+v: listed twice, without targets or with a bad default", f)
		}
		seen[f.Name] = true
		for _, name := range f.Targets {
			if tg := TargetByName(name); tg.ThresholdFlag != f.Name || tg.ThresholdDefault != f.Default {
				t.Errorf("target %s: flag %q default %v, listed under %q with %v", name, tg.ThresholdFlag, tg.ThresholdDefault, f.Name, f.Default)
			}
		}
	}
	for _, tg := range Targets() {
		if tg.ThresholdFlag != "" && !seen[tg.ThresholdFlag] {
			t.Errorf("target %s's flag %q is not listed", tg.Name, tg.ThresholdFlag)
		}
	}
	groups := SeriesGroups()
	for i, g := range groups {
		if slices.Contains(groups[i+1:], g) || g.DefaultMax <= 0 {
			t.Errorf("series group %+v listed twice or without a default cap", g)
		}
	}
}
