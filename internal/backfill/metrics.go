package backfill

import (
	"slices"
	"sync"
	"time"

	"github.com/servermon/servermon_exporter/internal/exposition"
)

// Query kinds, as the label source="…" of the query counters spells them: the sources, and the discovery query
// that finds which sources hold this host's series.
const sourceDiscovery = "discovery"

var querySources = []string{sourceDiscovery, SourceServermon, SourceNode}

// stats are the backfill's own metrics. They are written by the backfill's goroutines and rendered by scrapes.
type stats struct {
	mu       sync.Mutex
	started  time.Time
	finished time.Time // zero while running
	running  bool
	success  bool
	// by source
	samples, series, queries map[string]float64
	querySeconds             map[string]float64
	errors                   map[string]float64 // by cause
	bytes                    float64
}

func newStats() *stats {
	return &stats{samples: map[string]float64{}, series: map[string]float64{}, queries: map[string]float64{},
		querySeconds: map[string]float64{}, errors: map[string]float64{}}
}

// AppendMetrics renders the servermon_forecast_backfill_* families.
func (b *Backfiller) AppendMetrics(out []byte) []byte {
	s := b.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	gauge := func(name, help string, v float64) {
		out = exposition.AppendHeader(out, name, help, exposition.Gauge)
		out = exposition.AppendSample(out, name, "", v)
	}
	bySource := func(name, help, typ string, m map[string]float64, sources []string) {
		out = exposition.AppendHeader(out, name, help, typ)
		for _, src := range sources {
			out = exposition.AppendSample(out, name, exposition.Labels([]string{"source"}, []string{src}), m[src])
		}
	}
	gauge("servermon_forecast_backfill_running", "Whether the backfill of forecast history from Prometheus is running.", boolValue(s.running))
	gauge("servermon_forecast_backfill_success", "Whether the backfill of forecast history from Prometheus finished and loaded every target it queried (0 while it runs and after a failure).", boolValue(s.success))
	elapsed := 0.0
	switch {
	case !s.finished.IsZero():
		elapsed = s.finished.Sub(s.started).Seconds()
	case s.running:
		elapsed = b.now().Sub(s.started).Seconds()
	}
	gauge("servermon_forecast_backfill_duration_seconds", "Time the backfill took, or has taken so far while it runs.", elapsed)
	sources := []string{SourceServermon, SourceNode}
	bySource("servermon_forecast_backfill_samples_total", "Forecast steps loaded from Prometheus into the forecast series, by source.", exposition.Counter, s.samples, sources)
	bySource("servermon_forecast_backfill_series", "Forecast series that received history from Prometheus, by source.", exposition.Gauge, s.series, sources)
	bySource("servermon_forecast_backfill_queries_total", "Queries sent to Prometheus by the backfill, retries included, by source (discovery: which sources hold this host's series).", exposition.Counter, s.queries, querySources)
	bySource("servermon_forecast_backfill_query_seconds_total", "Time spent waiting for Prometheus' answers, by source.", exposition.Counter, s.querySeconds, querySources)
	out = exposition.AppendHeader(out, "servermon_forecast_backfill_errors_total", "Failed backfill queries and refusals, by cause.", exposition.Counter)
	causes := []string{causeUnreachable, causeTimeout, causeUnauthorized, causeForbidden, causeBadQuery, causeUnavailable,
		causeServer, causeBadResponse, causeByteCap, causeSeveralHosts, causeNoSeries}
	for c := range s.errors {
		if !slices.Contains(causes, c) {
			causes = append(causes, c)
		}
	}
	for _, c := range causes {
		out = exposition.AppendSample(out, "servermon_forecast_backfill_errors_total", exposition.Labels([]string{"cause"}, []string{c}), s.errors[c])
	}
	out = exposition.AppendHeader(out, "servermon_forecast_backfill_response_bytes_total", "Bytes of Prometheus' answers read by the backfill.", exposition.Counter)
	return exposition.AppendSample(out, "servermon_forecast_backfill_response_bytes_total", "", s.bytes)
}

// update changes the stats under their lock.
func (s *stats) update(f func(s *stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
