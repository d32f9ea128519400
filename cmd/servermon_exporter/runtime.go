package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/expfmt"

	"github.com/servermon/servermon_exporter/collector"
)

// runtimeMetrics is the registry of the exporter's own process: go_, process_ and servermon_build_info. Gathering
// it reads /proc/self, so it is done in the sampler's goroutine every refresh interval, never by a scrape; the
// encoded text is appended to every body until the next refresh.
type runtimeMetrics struct {
	registry *prometheus.Registry
	every    time.Duration
	last     time.Time
	text     []byte
	err      error
}

func newRuntimeMetrics(every time.Duration, extra ...prometheus.Collector) (*runtimeMetrics, error) {
	reg := prometheus.NewRegistry()
	cs := append([]prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("servermon"),
	}, extra...)
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering runtime collector: %w", err)
		}
	}
	return &runtimeMetrics{registry: reg, every: every}, nil
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
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			r.err = fmt.Errorf("encoding runtime metrics: %w", err)
			return
		}
	}
	r.text = buf.Bytes()
}

// ObserveSample refreshes the runtime metrics when they are due.
func (r *runtimeMetrics) ObserveSample(now time.Time, _ *collector.Store) { r.refresh(now) }

// AppendMetrics appends the latest gathered runtime metrics.
func (r *runtimeMetrics) AppendMetrics(b []byte) []byte { return append(b, r.text...) }
