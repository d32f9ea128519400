package main

import (
	"bytes"
	"os"
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
	r, err := newRuntimeMetrics(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.refresh(time.Now())
	if r.err != nil {
		t.Fatal(r.err)
	}
	gotLines, wantLines := strings.Split(string(r.text), "\n"), strings.Split(want.String(), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d lines, client_golang %d:\n%s", len(gotLines), len(wantLines), r.text)
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

// TestRuntimeRefreshFollowsScrapes checks the runtime text is rendered again once it is older than the refresh
// interval and a scrape has taken it, and after runtimeMaxAge without scrapes.
func TestRuntimeRefreshFollowsScrapes(t *testing.T) {
	r, err := newRuntimeMetrics(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1.7e9, 0)
	step := func(at time.Duration, scrape bool, wantLast time.Duration) {
		t.Helper()
		r.ObserveSample(t0.Add(at), nil)
		if scrape {
			if len(r.AppendMetrics(nil)) == 0 {
				t.Fatal("no runtime text")
			}
		}
		if got := r.last.Sub(t0); got != wantLast {
			t.Errorf("at %s: text rendered at %s, want %s", at, got, wantLast)
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
	step(82*time.Second, false, 82*time.Second) // the clock went backwards
}

// TestStartupTrimDoesNotWaitForScrapes: the trim comes trimAfter after the first sample even when nothing scrapes,
// so the text is not rendered again then.
func TestStartupTrimDoesNotWaitForScrapes(t *testing.T) {
	r, err := newRuntimeMetrics(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1.7e9, 0)
	r.ObserveSample(t0, nil)
	r.ObserveSample(t0.Add(trimAfter-time.Second), nil)
	if r.trimmed {
		t.Fatal("trimmed before trimAfter")
	}
	r.ObserveSample(t0.Add(trimAfter), nil)
	if !r.trimmed || r.err != nil {
		t.Errorf("not trimmed at trimAfter without scrapes (err %v)", r.err)
	}
	if !r.last.Equal(t0) {
		t.Errorf("text rendered again at %s without a scrape", r.last.Sub(t0))
	}
}

// BenchmarkRuntimeRefresh is one gathering of the go_, process_ and build-info metrics, done every 10 s.
func BenchmarkRuntimeRefresh(b *testing.B) {
	r, err := newRuntimeMetrics(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Unix(1.7e9, 0)
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Second)
		r.served = true // as after a scrape
		r.refresh(now)
	}
	if r.err != nil {
		b.Fatal(r.err)
	}
}

// TestTrimStartupMemory checks the trim runs and lowers the file-backed RSS of this (test) binary.
func TestTrimStartupMemory(t *testing.T) {
	before := rssFile(t)
	if err := trimStartupMemory(); err != nil {
		t.Fatal(err)
	}
	if after := rssFile(t); after >= before {
		t.Errorf("file-backed RSS %d kB before the trim, %d kB after", before, after)
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
