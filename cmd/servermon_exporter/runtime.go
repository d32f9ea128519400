package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/expfmt"

	"github.com/servermon/servermon_exporter/collector"
)

// runtimeMetrics are the metrics of the exporter's own process: go_ and servermon_build_info from a registry, and
// the process_ families client_golang's process collector would give, rendered by processMetrics for a fraction
// of its cost. Gathering reads /proc/self, so it is done in the sampler's goroutine every refresh interval, never
// by a scrape; the text is appended to every body until the next refresh.
type runtimeMetrics struct {
	registry *prometheus.Registry
	process  *processMetrics
	every    time.Duration
	last     time.Time
	text     []byte
	err      error
}

func newRuntimeMetrics(every time.Duration, extra ...prometheus.Collector) (*runtimeMetrics, error) {
	process, err := newProcessMetrics()
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	cs := append([]prometheus.Collector{
		collectors.NewGoCollector(),
		versioncollector.NewCollector("servermon"),
	}, extra...)
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering runtime collector: %w", err)
		}
	}
	return &runtimeMetrics{registry: reg, process: process, every: every}, nil
}

// refresh gathers the registry when the text is older than the refresh interval (or the clock went backwards).
func (r *runtimeMetrics) refresh(now time.Time) {
	if r.text != nil && now.Sub(r.last) < r.every && !now.Before(r.last) {
		return
	}
	r.last = now
	mfs, err := r.registry.Gather()
	if err != nil {
		r.err = fmt.Errorf("gathering runtime metrics: %w", err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(r.text)))
	enc := expfmt.NewEncoder(buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	processDone := false
	for _, mf := range mfs {
		if !processDone && mf.GetName() > "process_" { // families in name order, as Gather sorts them
			r.appendProcess(buf)
			processDone = true
		}
		if err := enc.Encode(mf); err != nil {
			r.err = fmt.Errorf("encoding runtime metrics: %w", err)
			return
		}
	}
	if !processDone {
		r.appendProcess(buf)
	}
	r.text = buf.Bytes()
}

func (r *runtimeMetrics) appendProcess(buf *bytes.Buffer) {
	b, err := r.process.appendMetrics(buf.AvailableBuffer())
	if err != nil {
		r.err = fmt.Errorf("gathering process metrics: %w", err)
	}
	buf.Write(b)
}

// ObserveSample refreshes the runtime metrics when they are due.
func (r *runtimeMetrics) ObserveSample(now time.Time, _ *collector.Store) { r.refresh(now) }

// AppendMetrics appends the latest gathered runtime metrics.
func (r *runtimeMetrics) AppendMetrics(b []byte) []byte { return append(b, r.text...) }

// applyRuntimeDefaults runs the exporter on one P (GOMAXPROCS=1, as node_exporter's --runtime.gomaxprocs defaults
// to) unless the GOMAXPROCS environment variable asks otherwise. The sampler's reads are handed to goroutines;
// with a second P idle, every handoff wakes another thread, which on a small VM costs more than the read itself
// (about 430 against 260 µs of CPU per second at defaults on the 2-vCPU benchmark VM, docs/benchmarks.md). Scrapes
// serve pre-rendered bodies, so one P also serves 50 parallel scrapers without errors.
func applyRuntimeDefaults() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
