package selfmetrics

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/servermon/servermon_exporter/internal/clock"
)

// TestProcessMetricsMatchClientGolang compares the process_ families with those of client_golang's process
// collector, gathered just before: same names, help, types and, where the value cannot move in between, values.
func TestProcessMetricsMatchClientGolang(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	all, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := withoutNamespaceTotals(all)
	p, err := newProcessMetrics()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	text, err := p.appendMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	got, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("%v in:\n%s", err, text)
	}
	if len(got) != len(want) {
		t.Errorf("%d families, client_golang %d without the network namespace totals", len(got), len(want))
	}
	for name := range namespaceTotals {
		if _, ok := got[name]; ok {
			t.Errorf("%s rendered: it is the network namespace's total, left out on purpose", name)
		}
	}
	for _, w := range want {
		g, ok := got[w.GetName()]
		if !ok {
			t.Errorf("%s missing", w.GetName())
			continue
		}
		if g.GetHelp() != w.GetHelp() || g.GetType() != w.GetType() {
			t.Errorf("%s: help %q type %v, client_golang %q %v", w.GetName(), g.GetHelp(), g.GetType(), w.GetHelp(), w.GetType())
		}
		gv, wv := value(g), value(w)
		switch w.GetName() {
		case "process_max_fds", "process_virtual_memory_max_bytes", "process_start_time_seconds":
			if gv != wv {
				t.Errorf("%s = %v, client_golang %v", w.GetName(), gv, wv)
			}
		case "process_cpu_seconds_total":
			if gv < wv { // counters read after client_golang's
				t.Errorf("%s = %v, below client_golang's %v read before", w.GetName(), gv, wv)
			}
		default: // memory and descriptors move a little; they must be in the same range
			if gv < wv/2 || gv > wv*2 {
				t.Errorf("%s = %v, client_golang %v", w.GetName(), gv, wv)
			}
		}
	}
}

// namespaceTotals are the process families of client_golang that processMetrics leaves out (see its doc).
var namespaceTotals = map[string]bool{"process_network_receive_bytes_total": true, "process_network_transmit_bytes_total": true}

func withoutNamespaceTotals(mfs []*dto.MetricFamily) []*dto.MetricFamily {
	return slices.DeleteFunc(mfs, func(mf *dto.MetricFamily) bool { return namespaceTotals[mf.GetName()] })
}

func value(mf *dto.MetricFamily) float64 {
	m := mf.GetMetric()[0]
	if mf.GetType() == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestRuntimeMetricsMatchClientGolang compares the whole runtime text with what a registry of client_golang's Go,
// process and version collectors encodes: the same HELP and TYPE lines and the same series, in the same order, and
// the same values where they cannot move in between.
func TestRuntimeMetricsMatchClientGolang(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("servermon"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for _, mf := range withoutNamespaceTotals(mfs) {
		if _, err := expfmt.MetricFamilyToText(&want, mf); err != nil {
			t.Fatal(err)
		}
	}
	m := newMetrics(t, 10*time.Second, 0)
	m.ObserveSample(clock.Reading{Wall: time.Now()}, nil)
	if n := m.errors[opProcess]; n != 0 {
		t.Fatalf("%v process metric errors", n)
	}
	text := string(m.text)
	gotLines, wantLines := strings.Split(text, "\n"), strings.Split(want.String(), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d lines, client_golang %d:\n%s", len(gotLines), len(wantLines), text)
	}
	stable := map[string]bool{"go_gc_gogc_percent": true, "go_gc_gomemlimit_bytes": true, "go_info": true,
		"go_sched_gomaxprocs_threads": true, "process_max_fds": true, "process_start_time_seconds": true,
		"process_virtual_memory_max_bytes": true, "servermon_build_info": true}
	for i, g := range gotLines {
		w := wantLines[i]
		if strings.HasPrefix(w, "#") {
			if g != w {
				t.Errorf("line %d: %q, client_golang %q", i+1, g, w)
			}
			continue
		}
		gs, _, _ := strings.Cut(g, " ")
		ws, _, _ := strings.Cut(w, " ")
		name, _, _ := strings.Cut(ws, "{")
		if gs != ws || (stable[name] && g != w) {
			t.Errorf("line %d: %q, client_golang %q", i+1, g, w)
		}
	}
}

// newMetrics returns Metrics refreshed every refresh and trimming after trimAfter, closed with the test.
func newMetrics(tb testing.TB, refresh, trimAfter time.Duration) *Metrics {
	tb.Helper()
	m, err := New(refresh, trimAfter, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

// TestRuntimeRefreshFollowsScrapes checks the runtime text is rendered again once it is older than the refresh
// interval and a scrape has taken it, and after runtimeMaxAge without scrapes.
func TestRuntimeRefreshFollowsScrapes(t *testing.T) {
	m := newMetrics(t, 10*time.Second, 0)
	step := func(at time.Duration, scrape bool, wantLast time.Duration) {
		t.Helper()
		m.ObserveSample(clock.Reading{Mono: at}, nil)
		if scrape {
			if !strings.Contains(string(m.AppendMetrics(nil)), "go_goroutines ") {
				t.Fatal("no runtime text")
			}
		}
		if m.last != wantLast {
			t.Errorf("at %s: text rendered at %s, want %s", at, m.last, wantLast)
		}
	}
	step(0, false, 0)                           // first sample renders
	step(11*time.Second, false, 0)              // old, but nobody took it
	step(12*time.Second, true, 0)               // taken now
	step(13*time.Second, false, 13*time.Second) // taken and old: rendered again
	step(20*time.Second, true, 13*time.Second)  // taken, but younger than the interval
	step(23*time.Second, false, 23*time.Second) //
	step(80*time.Second, false, 23*time.Second) // not taken, younger than runtimeMaxAge
	step(83*time.Second, false, 83*time.Second) // not taken, but a minute old
}

// TestStartupTrimDoesNotWaitForScrapes: the trim comes trimAfter after the first sample even when nothing scrapes,
// so the text is not rendered again then.
func TestStartupTrimDoesNotWaitForScrapes(t *testing.T) {
	m := newMetrics(t, 10*time.Second, DefaultTrimAfter)
	m.ObserveSample(clock.Reading{}, nil)
	m.ObserveSample(clock.Reading{Mono: DefaultTrimAfter - time.Second}, nil)
	if m.trimmed {
		t.Fatal("trimmed before trimAfter")
	}
	m.ObserveSample(clock.Reading{Mono: DefaultTrimAfter}, nil)
	if !m.trimmed || m.errors[opTrim] != 0 {
		t.Errorf("not trimmed at trimAfter without scrapes (%v errors)", m.errors[opTrim])
	}
	if m.last != 0 {
		t.Errorf("text rendered again at %s without a scrape", m.last)
	}
}

// TestFailuresAreCountedAndLoggedOnce breaks the process metrics (their files closed under them) and checks the
// failure is counted at every refresh, logged once, and rendered.
func TestFailuresAreCountedAndLoggedOnce(t *testing.T) {
	var logs bytes.Buffer
	m, err := New(time.Second, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m.ObserveSample(clock.Reading{Mono: time.Duration(i) * time.Minute}, nil)
		m.AppendMetrics(nil)
	}
	body := string(m.AppendMetrics(nil))
	if !strings.Contains(body, `servermon_self_errors_total{operation="process_metrics"} 3`) ||
		!strings.Contains(body, `servermon_self_errors_total{operation="memory_trim"} 0`) {
		t.Errorf("error counts not rendered:\n%s", body)
	}
	if n := strings.Count(logs.String(), "process_metrics"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(body, "process_resident_memory_bytes") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("a failed process read must drop its families and keep the others:\n%s", body)
	}
}

// BenchmarkRuntimeRefresh is one gathering of the go_, process_ and build-info metrics, done every 10 s.
func BenchmarkRuntimeRefresh(b *testing.B) {
	m := newMetrics(b, 10*time.Second, 0)
	now := time.Duration(0)
	b.ReportAllocs()
	for b.Loop() {
		now += 10 * time.Second
		m.AppendMetrics(nil) // as a scrape does, so the next sample refreshes
		m.ObserveSample(clock.Reading{Mono: now}, nil)
	}
	if m.errors[opProcess] != 0 {
		b.Fatal("process metrics failed")
	}
}

// TestTrimStartupMemory checks the trim runs, lowers the file-backed RSS of this (test) binary, and leaves it
// working: the runtime, maps, interfaces and the process metrics still run afterwards. Run it on a
// position-independent build too (.ci/run does: go test -buildmode=pie), whose read-only relocated data must not
// be dropped.
func TestTrimStartupMemory(t *testing.T) {
	before := rssFile(t)
	if err := trimStartupMemory(); err != nil {
		t.Fatal(err)
	}
	if after := rssFile(t); after >= before {
		t.Errorf("file-backed RSS %d kB before the trim, %d kB after", before, after)
	}
	runtime.GC()
	m := newMetrics(t, time.Second, 0)
	m.ObserveSample(clock.Reading{}, nil)
	var sb strings.Builder
	for k, v := range map[string]any{"a": 1, "b": "x", "c": 2.5} {
		fmt.Fprintf(&sb, "%s=%v;", k, v)
	}
	if !strings.Contains(string(m.AppendMetrics(nil)), "process_resident_memory_bytes") || sb.Len() == 0 {
		t.Error("the process metrics stopped working after the trim")
	}
}

func TestCleanExecutableMappings(t *testing.T) {
	smaps := `5615476f6000-561547e07000 r--p 0072e000 fe:00 42                    /usr/bin/servermon_exporter
Rss:                5892 kB
Anonymous:             0 kB
VmFlags: rd mr mw me sd
561547e07000-561547fa5000 r--p 00e3f000 fe:00 42                    /usr/bin/servermon_exporter
Rss:                1636 kB
Anonymous:          1400 kB
VmFlags: rd mr mw me ac sd
561546fc8000-5615476f6000 r-xp 00000000 fe:00 42                    /usr/bin/servermon_exporter
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
561547fa5000-56154801d000 rw-p 00fdd000 fe:00 42                    /usr/bin/servermon_exporter
Anonymous:             0 kB
VmFlags: rd wr mr mw me ac sd
7f0000000000-7f0000001000 r--p 00000000 fe:00 43                    /usr/lib/other.so
Anonymous:             0 kB
VmFlags: rd mr mw me sd
7f0000002000-7f0000003000 r-xp 00000000 fe:00 42                    /usr/bin/servermon_exporter
VmFlags: rd ex mr mw me sd
`
	got, err := cleanExecutableMappings([]byte(smaps), 42)
	if err != nil {
		t.Fatal(err)
	}
	// The written RELRO segment, the writable data, another file and a mapping without an Anonymous field stay.
	want := []mapping{{0x5615476f6000, 0x561547e07000}, {0x561546fc8000, 0x5615476f6000}}
	if !slices.Equal(got, want) {
		t.Errorf("mappings %x, want %x", got, want)
	}
	if _, err := cleanExecutableMappings([]byte("zz-yy r-xp 0 fe:00 42 /x\n"), 42); err == nil {
		t.Error("a malformed range was accepted")
	}
}

func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
