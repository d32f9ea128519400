// Package selfmetrics renders the metrics of the exporter's own process: the go_ and process_ families of
// client_golang's Go and process collectors, servermon_build_info, and servermon_self_errors_total, the failures of
// gathering them and of the startup memory trim.
//
// go_ and process_ are rendered here rather than through client_golang's collectors, which build a protobuf message
// per metric and parse /proc/self with regular expressions, for several times the cost (docs/benchmarks.md). The
// parity tests compare every name, HELP, type and stable value with client_golang's own output. When client_golang
// is bumped, those tests name any HELP string that changed: copy the new text into gometrics.go or process.go.
package selfmetrics

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/expfmt"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

// Operations whose failures servermon_self_errors_total counts.
const (
	opProcess = "process_metrics"
	opTrim    = "memory_trim"
)

// Metrics is a collector.Observer and an exposition.Producer. Gathering reads /proc/self, so it is done in the
// sampling goroutine (ObserveSample), never by a scrape; the text is appended to every body until the next
// refresh, which comes once a scrape has taken it (see due).
type Metrics struct {
	goStats   *goMetrics
	process   *processMetrics
	buildInfo []byte // constant: encoded once
	every     time.Duration
	logger    *slog.Logger
	// trimAfter is how long after the first sample the startup memory is trimmed; 0 never trims.
	trimAfter time.Duration

	// Touched by the sampling goroutine only.
	started, last time.Duration // monotonic times of the first sample and of the latest refresh
	hasStarted    bool
	trimmed       bool
	scratch       []byte
	lastErr       map[string]string // the latest error message logged per operation

	mu     sync.Mutex // guards what a scrape reads
	text   []byte
	served bool // a scrape has taken text since it was rendered
	errors map[string]float64
}

// DefaultTrimAfter is how long after its first sample the exporter trims its startup memory: by then the web
// server serves and the first scrapes have come, so what is resident is what keeps being used.
const DefaultTrimAfter = 30 * time.Second

// runtimeMaxAge bounds the age of the runtime text when nothing scrapes it.
const runtimeMaxAge = time.Minute

// New returns the exporter's own metrics, refreshed every refresh once scraped, trimming the startup memory
// trimAfter after the first sample (never when 0). Failures are logged once per distinct message.
func New(refresh, trimAfter time.Duration, logger *slog.Logger) (*Metrics, error) {
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
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Metrics{goStats: newGoMetrics(), process: process, buildInfo: info.Bytes(), every: refresh,
		trimAfter: trimAfter, logger: logger, lastErr: map[string]string{},
		errors: map[string]float64{opProcess: 0, opTrim: 0}}, nil
}

// due reports whether the text must be rendered again: it is older than the refresh interval and a scrape has
// taken it since (so with scrapes every 15 s it is rendered 4 times a minute, not 6), or it is older than
// runtimeMaxAge. A scrape sees values at most one scrape interval old, and counters such as
// process_cpu_seconds_total stay monotonic. Called with mu held.
func (m *Metrics) due(now time.Duration) bool {
	if m.text == nil {
		return true
	}
	age := now - m.last
	return age >= m.every && (m.served || age >= max(m.every, runtimeMaxAge))
}

// ObserveSample trims the startup memory once, and refreshes the text when it is due.
func (m *Metrics) ObserveSample(now clock.Reading, _ *collector.Store) {
	m.trimOnce(now.Mono)
	m.mu.Lock()
	due := m.due(now.Mono)
	m.mu.Unlock()
	if !due {
		return
	}
	// Rendered outside the lock, into the buffer no scrape holds: a scrape copies the text it takes.
	b := m.goStats.appendMetrics(m.scratch[:0])
	b, err := m.process.appendMetrics(b)
	m.fail(opProcess, err)
	b = append(b, m.buildInfo...)
	m.mu.Lock()
	m.scratch, m.text = m.text, b
	m.last, m.served = now.Mono, false
	m.mu.Unlock()
}

// trimOnce runs trimStartupMemory trimAfter after the first sample, whether scrapes have come or not.
func (m *Metrics) trimOnce(now time.Duration) {
	if m.trimmed || m.trimAfter <= 0 {
		return
	}
	if !m.hasStarted {
		m.started, m.hasStarted = now, true
	}
	if now-m.started < m.trimAfter {
		return
	}
	m.trimmed = true
	m.fail(opTrim, trimStartupMemory())
}

// fail counts err, if any, against op and logs it once per distinct message; nil clears the message, so a
// failure that comes back is logged again.
func (m *Metrics) fail(op string, err error) {
	if err == nil {
		delete(m.lastErr, op)
		return
	}
	m.mu.Lock()
	m.errors[op]++
	m.mu.Unlock()
	if msg := err.Error(); m.lastErr[op] != msg {
		m.lastErr[op] = msg
		m.logger.Warn("exporter self-metrics", "operation", op, "err", err)
	}
}

// AppendMetrics appends the latest gathered text and the error counts. It may be called from any goroutine.
func (m *Metrics) AppendMetrics(b []byte) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.served = true
	b = append(b, m.text...)
	b = exposition.AppendHeader(b, "servermon_self_errors_total", "Failures of the exporter's own process metrics (process_metrics) and of its startup memory trim (memory_trim).", exposition.Counter)
	for _, op := range [...]string{opTrim, opProcess} {
		b = exposition.AppendSample(b, "servermon_self_errors_total", `{operation="`+op+`"}`, m.errors[op])
	}
	return b
}

// Close closes the files the process metrics keep open.
func (m *Metrics) Close() error { return m.process.Close() }

// ApplyRuntimeDefaults sets the Go runtime up for an agent on every host, unless the environment (GOMAXPROCS,
// GOGC) asks otherwise.
//
// One P (GOMAXPROCS=1, as node_exporter's --runtime.gomaxprocs defaults to): the sampler hands reads to
// goroutines, and with a second P idle every handoff wakes another thread, which costs more than the read itself.
// Scrapes serve pre-rendered bodies, so one P also serves 50 parallel scrapers without errors.
//
// GOGC=50: the exporter makes little garbage, so collections stay minutes apart and CPU does not measurably
// change, while the peak heap after bursts of scrapes, and the heap of hosts with many forecast series, are a
// third smaller. docs/benchmarks.md has both measurements.
func ApplyRuntimeDefaults() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}
