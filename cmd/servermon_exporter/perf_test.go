package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestProcessMetricsMatchClientGolang compares the process_ families with those of client_golang's process
// collector, gathered just before: same names, help, types and, where the value cannot move in between, values.
func TestProcessMetricsMatchClientGolang(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
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
		t.Errorf("%d families, client_golang %d", len(got), len(want))
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
		case "process_cpu_seconds_total", "process_network_receive_bytes_total", "process_network_transmit_bytes_total":
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

func value(mf *dto.MetricFamily) float64 {
	m := mf.GetMetric()[0]
	if mf.GetType() == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
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
		r.refresh(now)
	}
	if r.err != nil {
		b.Fatal(r.err)
	}
}
