package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/expfmt"

	"github.com/servermon/servermon_exporter/collector"
)

// runtimeMetrics are the metrics of the exporter's own process: the go_ and process_ families of client_golang's Go
// and process collectors, rendered by goMetrics and processMetrics for a fraction of their cost, and
// servermon_build_info. Gathering reads /proc/self, so it is done in the sampler's goroutine every refresh interval,
// never by a scrape; the text is appended to every body until the next refresh, which comes once a scrape has taken
// it (see due).
type runtimeMetrics struct {
	goStats   *goMetrics
	process   *processMetrics
	buildInfo []byte // constant: encoded once
	every     time.Duration
	last      time.Time
	text      []byte
	served    bool // a scrape has taken text since it was rendered
	err       error
	// started is the time of the first refresh; at the first one a trimAfter later, trimStartupMemory runs.
	started time.Time
	trimmed bool
}

// trimAfter is how long after its first sample the exporter trims its startup memory: by then the web server
// serves and the first scrapes have come, so what is resident is what keeps being used.
const trimAfter = 30 * time.Second

func newRuntimeMetrics(every time.Duration) (*runtimeMetrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(versioncollector.NewCollector("servermon")); err != nil {
		return nil, fmt.Errorf("registering the build info collector: %w", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gathering the build info: %w", err)
	}
	var info bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&info, mf); err != nil {
			return nil, fmt.Errorf("encoding the build info: %w", err)
		}
	}
	process, err := newProcessMetrics()
	if err != nil {
		return nil, err
	}
	return &runtimeMetrics{goStats: newGoMetrics(), process: process, buildInfo: info.Bytes(), every: every}, nil
}

// runtimeMaxAge bounds the age of the runtime text when nothing scrapes it.
const runtimeMaxAge = time.Minute

// due reports whether the text must be rendered again: it is older than the refresh interval and a scrape has
// taken it since (so with scrapes every 15 s it is rendered 4 times a minute, not 6), or it is older than
// runtimeMaxAge, or the clock went backwards. A scrape sees values at most one scrape interval old, and counters
// such as process_cpu_seconds_total stay monotonic.
func (r *runtimeMetrics) due(now time.Time) bool {
	if r.text == nil || now.Before(r.last) {
		return true
	}
	age := now.Sub(r.last)
	return age >= r.every && (r.served || age >= max(r.every, runtimeMaxAge))
}

// refresh renders the runtime metrics when they are due, in family name order: go_, process_,
// servermon_build_info.
func (r *runtimeMetrics) refresh(now time.Time) {
	if !r.due(now) {
		return
	}
	r.last = now
	b := r.goStats.appendMetrics(r.text[:0]) // AppendMetrics copies the text, so its buffer is free again
	b, err := r.process.appendMetrics(b)
	if err != nil {
		r.err = fmt.Errorf("gathering process metrics: %w", err)
	}
	r.text, r.served = append(b, r.buildInfo...), false
}

// ObserveSample trims the startup memory once, and refreshes the runtime metrics when they are due.
func (r *runtimeMetrics) ObserveSample(now time.Time, _ *collector.Store) {
	r.trimOnce(now)
	r.refresh(now)
}

// trimOnce runs trimStartupMemory trimAfter after the first sample, whether scrapes have come or not.
func (r *runtimeMetrics) trimOnce(now time.Time) {
	if r.trimmed {
		return
	}
	if r.started.IsZero() {
		r.started = now
	}
	if now.Sub(r.started) < trimAfter {
		return
	}
	r.trimmed = true
	if err := trimStartupMemory(); err != nil {
		r.err = err
	}
}

// AppendMetrics appends the latest gathered runtime metrics.
func (r *runtimeMetrics) AppendMetrics(b []byte) []byte {
	r.served = true
	return append(b, r.text...)
}

// applyRuntimeDefaults sets the Go runtime up for an agent on every host, unless the environment (GOMAXPROCS,
// GOGC) asks otherwise; the figures are from docs/benchmarks.md, on a 2-vCPU VM.
//
// One P (GOMAXPROCS=1, as node_exporter's --runtime.gomaxprocs defaults to): the sampler hands reads to
// goroutines, and with a second P idle every handoff wakes another thread, which costs more than the read itself
// (about 430 against 260 µs of CPU per second at the defaults). Scrapes serve pre-rendered bodies, so one P also
// serves 50 parallel scrapers without errors.
//
// GOGC=50: the heap may grow by half its live size between collections instead of doubling. The exporter makes
// little garbage (a few KiB a second, plus about 3 KiB per scrape), so collections stay minutes apart at 4 scrapes
// a minute and CPU does not measurably change, while the peak heap after bursts of scrapes, and the heap of
// hosts with many forecast series, are a third smaller (RSS after 10 000 back-to-back scrapes 16.6 -> 14.5 MiB).
func applyRuntimeDefaults() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}
