// Package backfill loads forecast history from a Prometheus-compatible query API when the exporter starts, so that
// forecasts are served within seconds instead of after hours of live samples.
//
// For every forecast target it fills what the forecaster does not hold yet (nothing on a fresh start, the gap since
// the state file's newest step after an outage), up to --forecast.history back from the first live step, on the
// forecaster's step grid. It reads the exporter's own observed gauges (servermon_<target>) first and node_exporter's
// series for what those do not cover, with one PromQL expression per target and source (sources.go). The load is
// bounded: a deadline, a cap on the bytes read, a limit on concurrent queries, chunks under Prometheus' 11,000
// points per series. Faults are retried with backoff, logged once per cause and counted; whatever happens the
// forecaster is released, so live forecasting goes on with or without the history. docs/backfill.md has the
// details and the measurements.
package backfill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// Defaults of the bounds on one backfill.
const (
	// DefaultTimeout is the deadline of the whole backfill, retries included.
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxBytes caps the bytes of answers read (docs/backfill.md).
	DefaultMaxBytes = 128 << 20
	// DefaultConcurrency is the most queries in flight at once.
	DefaultConcurrency = 2
)

const (
	// maxPoints is the most steps one range query asks for, under Prometheus' limit of 11,000 points per series.
	maxPoints = 10000
	// maxAttempts bounds the tries of one query; the waits between them double from firstBackoff.
	maxAttempts  = 6
	firstBackoff = 500 * time.Millisecond
	// backfillSlice is the most steps handed to the forecaster at once, so that scrapes and samples wait for its
	// lock for a few milliseconds at a time rather than for the whole history of a series.
	backfillSlice = 1440
	// evalBefore is how long before the end of a step it is evaluated: Prometheus' windows are open at the
	// start and closed at the end, the exporter's steps the other way round.
	evalBefore = time.Millisecond
	// causeNoSeries: the selector matches no series of either source.
	causeNoSeries = "no_series"
)

// Config configures a backfill.
type Config struct {
	// URL is the base URL of the query API (Prometheus, Thanos Query, Mimir, VictoriaMetrics).
	URL string
	// Selector is the label matchers of this host's series, without braces (CheckSelector).
	Selector string
	// HTTP is the HTTP client configuration, in Prometheus' own format.
	HTTP config.HTTPClientConfig
	// Step and History are the forecaster's.
	Step, History time.Duration
	// Timeout, MaxBytes and Concurrency bound the backfill; zero means the default.
	Timeout     time.Duration
	MaxBytes    int64
	Concurrency int
	// Window is --sample.window: the exporter's own gauges are means over it, which the own source centres.
	Window time.Duration
	// Disk and Filesystem filter the disks and mounts as the collectors do (only their filters are used).
	Disk       collector.DiskConfig
	Filesystem collector.FilesystemConfig
	// Logger receives the backfill's log; nil discards it.
	Logger *slog.Logger
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

// Forecaster is what a backfill needs of the forecaster (*forecaster.Forecaster), held before its first sample.
type Forecaster interface {
	Holdings() ([]forecaster.Holding, time.Time)
	Backfill(t *collector.Target, names, values []string, start time.Time, steps []float64) (int, error)
	Release()
}

// Backfiller loads history into a forecaster once, and reports how it went as metrics (an exposition.Producer).
type Backfiller struct {
	cfg    Config
	logger *slog.Logger
	client *client
	sem    chan struct{}
	stats  *stats
	logged sync.Map // causes logged already
	// backoff is the first wait between two tries of a query, firstBackoff but in tests.
	backoff time.Duration
}

// New returns a backfiller; the HTTP configuration and the selector must be valid.
func New(cfg Config) (*Backfiller, error) {
	if err := CheckSelector(cfg.Selector); err != nil {
		return nil, fmt.Errorf("backfill selector %q: %w", cfg.Selector, err)
	}
	if err := cfg.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("backfill HTTP configuration: %w", err)
	}
	if cfg.Step <= 0 || cfg.History < cfg.Step {
		return nil, fmt.Errorf("backfill: step %s and history %s", cfg.Step, cfg.History)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.MaxBytes = cmp.Or(cfg.MaxBytes, DefaultMaxBytes)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, DefaultConcurrency)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c, err := newClient(cfg.URL, cfg.HTTP, cfg.MaxBytes)
	if err != nil {
		return nil, err
	}
	return &Backfiller{cfg: cfg, logger: cfg.Logger.With("component", "backfill"), client: c,
		sem: make(chan struct{}, cfg.Concurrency), stats: newStats(), backoff: firstBackoff}, nil
}

func (b *Backfiller) now() time.Time { return b.cfg.Now() }

// Run loads the history into f and releases it, whatever happens; f must have been held before its first sample.
// It returns once done, after at most the timeout, or when ctx ends. The error says why history is missing; the
// exporter runs on without it.
func (b *Backfiller) Run(ctx context.Context, f Forecaster) (err error) {
	defer f.Release()
	b.stats.update(func(s *stats) { s.started, s.running = b.now(), true })
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	b.logger.Info("loading forecast history from Prometheus", "url", b.cfg.URL, "selector", b.cfg.Selector)
	loaded, err := b.run(ctx, f)
	var took time.Duration
	b.stats.update(func(s *stats) {
		s.finished, s.running, s.success = b.now(), false, err == nil
		took = s.finished.Sub(s.started)
		s.bytes = float64(b.client.read.Load())
	})
	if err != nil {
		b.logger.Error("forecast history not loaded from Prometheus, forecasting from live samples", "err", err,
			"steps_loaded", loaded, "took", took.Round(time.Millisecond))
		return err
	}
	b.logger.Info("forecast history loaded from Prometheus", "steps_loaded", loaded, "took", took.Round(time.Millisecond),
		"bytes", b.client.read.Load())
	return nil
}

// plan is what one target needs: its series held, and the steps [from, end) to ask for.
type plan struct {
	target   *collector.Target
	m        mapping
	from     time.Time
	held     map[string]forecaster.Holding // by seriesKey
	earliest time.Time                     // the oldest step any series may take: end − History
}

// run does the backfill and returns the steps loaded.
func (b *Backfiller) run(ctx context.Context, f Forecaster) (int, error) {
	holdings, end, err := waitLive(ctx, f)
	if err != nil {
		return 0, err
	}
	plans := b.plans(holdings, end)
	if len(plans) == 0 {
		b.logger.Info("the forecast state already holds the history up to now: nothing to load")
		return 0, nil
	}
	from := end
	for _, p := range plans {
		from = minTime(from, p.from)
	}
	intervals, err := b.discover(ctx, from, end)
	if err != nil {
		return 0, err
	}
	var (
		mu     sync.Mutex
		total  int
		failed []error
		wg     sync.WaitGroup
	)
	for _, p := range plans {
		wg.Go(func() {
			n, err := b.load(ctx, f, p, end, intervals)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil {
				failed = append(failed, fmt.Errorf("%s: %w", p.target.Name, err))
			}
		})
	}
	wg.Wait()
	return total, errors.Join(failed...)
}

// waitLive waits for the forecaster's first live sample, which tells where the history must end.
func waitLive(ctx context.Context, f Forecaster) ([]forecaster.Holding, time.Time, error) {
	for {
		holdings, live := f.Holdings()
		if !live.IsZero() {
			return holdings, live, nil
		}
		select {
		case <-ctx.Done():
			return nil, time.Time{}, fmt.Errorf("no live sample before the backfill's deadline: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// plans returns the targets that miss history before end, each with the steps to ask for.
func (b *Backfiller) plans(holdings []forecaster.Holding, end time.Time) []*plan {
	earliest := end.Add(-b.cfg.History).Truncate(b.cfg.Step)
	byTarget := map[string]*plan{}
	var out []*plan
	for _, t := range collector.Targets() {
		m, ok := mappings[t.Name]
		if !ok {
			b.logger.Debug("no backfill source for target", "target", t.Name)
			continue
		}
		p := &plan{target: t, m: m, held: map[string]forecaster.Holding{}, earliest: earliest}
		byTarget[t.Name] = p
		out = append(out, p)
	}
	for _, p := range out {
		if !p.target.PerDevice() {
			p.from = earliest // until a holding says otherwise
		}
	}
	for _, h := range holdings {
		p := byTarget[h.Target.Name]
		if p == nil {
			continue
		}
		p.held[seriesKey(h.LabelValues)] = h
		from := maxTime(earliest, h.Next)
		if p.target.PerDevice() {
			if p.from.IsZero() || from.Before(p.from) {
				p.from = from
			}
			continue
		}
		p.from = from
	}
	return slices.DeleteFunc(out, func(p *plan) bool {
		if p.from.IsZero() { // a per-device target with no device live: the whole history of what Prometheus has
			p.from = earliest
		}
		return !p.from.Before(end)
	})
}

// recentWindow is the window of a second estimate of each source's scrape interval, beside the one over the whole
// span: a host scraped for only part of the span (an exporter installed a day ago, a Prometheus that keeps less
// than --forecast.history) has fewer samples in it than its scrape interval gives, and the span's estimate alone
// would be as much too long, the windows of rangeFor as much too wide, and the history they load smoothed over as
// many scrapes. The hour before the first live sample is normally scraped throughout; where it is not (an outage),
// the span's estimate stands.
const recentWindow = time.Hour

// discover finds which sources hold this host's series between from and end, refuses a selector that matches
// several hosts, and estimates each source's scrape interval (for rangeFor).
func (b *Backfiller) discover(ctx context.Context, from, end time.Time) (map[string]time.Duration, error) {
	span := end.Sub(from)
	recent := min(span, recentWindow)
	// count_over_time drops the metric name: label_replace keeps the source and the window apart.
	count := func(metric, source string, window time.Duration, name string) string {
		return fmt.Sprintf(`label_replace(label_replace(count_over_time(%s{%s}[%s]), "source", %q, "", ""), "window", %q, "", "")`,
			metric, b.cfg.Selector, promDuration(window), source, name)
	}
	var parts []string
	for _, w := range []struct {
		d    time.Duration
		name string
	}{{span, "span"}, {recent, "recent"}} {
		parts = append(parts, count("servermon_build_info", SourceServermon, w.d, w.name), count("node_exporter_build_info", SourceNode, w.d, w.name))
	}
	expr := strings.Join(parts, " or ")
	var vec model.Vector
	err := b.do(ctx, sourceDiscovery, func(ctx context.Context) (err error) {
		vec, err = b.client.query(ctx, expr, end)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finding this host's series: %w", err)
	}
	hosts := map[string]bool{}
	most := map[[2]string]float64{} // the most samples of one series of each source in each window
	for _, s := range vec {
		hosts[hostOf(string(s.Metric[model.InstanceLabel]))] = true
		key := [2]string{string(s.Metric["source"]), string(s.Metric["window"])}
		most[key] = max(most[key], float64(s.Value))
	}
	if len(hosts) > 1 {
		names := make([]string, 0, len(hosts))
		for h := range hosts {
			names = append(names, h)
		}
		slices.Sort(names)
		err := &queryError{cause: causeSeveralHosts, err: fmt.Errorf("the selector %s matches the series of %d hosts (%s): "+
			"refusing to mix their history; set --forecast.backfill.selector to pick one", b.cfg.Selector, len(names), strings.Join(names, ", "))}
		b.count(err)
		return nil, err
	}
	intervals := map[string]time.Duration{}
	for _, src := range []string{SourceServermon, SourceNode} {
		// Upper bounds of the interval: a series present for part of a window only makes its estimate larger,
		// which widens the windows (rangeFor) and never empties them. The smaller of the two is the closer one.
		if n := most[[2]string{src, "span"}]; n > 0 {
			iv := float64(span) / n
			if r := most[[2]string{src, "recent"}]; r > 0 {
				iv = min(iv, float64(recent)/r)
			}
			intervals[src] = time.Duration(iv).Round(time.Second)
		}
	}
	if len(intervals) == 0 {
		err := &queryError{cause: causeNoSeries, err: fmt.Errorf("no servermon_build_info or node_exporter_build_info series match %s in the %s before the first live sample",
			b.cfg.Selector, span)}
		b.count(err)
		return nil, err
	}
	var found []any
	for _, src := range []string{SourceServermon, SourceNode} {
		if iv, ok := intervals[src]; ok {
			found = append(found, src+"_scrape_interval", iv)
		}
	}
	b.logger.Info("sources of forecast history found", found...)
	return intervals, nil
}

// series is the history of one forecast series over a plan's steps, NaN where missing.
type series struct {
	labelValues []string
	values      []float64
	source      []string // the source of each value, "" where missing
}

// load queries one target's sources and hands what it found to the forecaster. A target whose queries fail loads
// nothing: a history with a hole where a chunk failed would be interpolated over the hole.
func (b *Backfiller) load(ctx context.Context, f Forecaster, p *plan, end time.Time, intervals map[string]time.Duration) (int, error) {
	steps := int(end.Sub(p.from) / b.cfg.Step)
	found := map[string]*series{}
	nodeEnd := end
	if iv, ok := intervals[SourceServermon]; ok {
		expr := expand(ownExpr(p.target, p.m), b.cfg.Selector, rangeFor(b.cfg.Step, iv, false))
		if err := b.fetch(ctx, SourceServermon, expr, p, steps, end, b.ownShift(p.m), found); err != nil {
			return 0, err
		}
		// node_exporter fills what is older than the exporter's own series, up to the newest first step of them.
		nodeEnd = p.from
		for _, s := range found {
			first := slices.IndexFunc(s.values, func(v float64) bool { return !math.IsNaN(v) })
			if first < 0 {
				first = steps
			}
			nodeEnd = maxTime(nodeEnd, p.from.Add(time.Duration(first)*b.cfg.Step))
		}
		if len(found) == 0 {
			nodeEnd = end
		}
	}
	if iv, ok := intervals[SourceNode]; ok && p.m.node != "" && nodeEnd.After(p.from) {
		expr := expand(p.m.node, b.cfg.Selector, rangeFor(b.cfg.Step, iv, p.m.counters))
		if err := b.fetch(ctx, SourceNode, expr, p, steps, nodeEnd, 0, found); err != nil {
			return 0, err
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	total := 0
	for _, k := range keys {
		n, err := b.hand(f, p, found[k])
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// hand gives one series' history to the forecaster, oldest first, in slices.
func (b *Backfiller) hand(f Forecaster, p *plan, s *series) (int, error) {
	var names []string
	if len(s.labelValues) > 0 {
		names = p.m.labels
	}
	total := 0
	for lo := 0; lo < len(s.values); lo += backfillSlice {
		hi := min(lo+backfillSlice, len(s.values))
		n, err := f.Backfill(p.target, names, s.labelValues, p.from.Add(time.Duration(lo)*b.cfg.Step), s.values[lo:hi])
		if err != nil {
			// The forecaster refuses a series beyond --forecast.max-<group>-series: the other series go on.
			b.logger.Warn("forecast history not loaded", "target", p.target.Name, "labels", s.labelValues, "err", err)
			return total, nil
		}
		total += n
	}
	// The forecaster takes the values after what the series holds; count those by source.
	from := p.earliest
	if h, ok := p.held[seriesKey(s.labelValues)]; ok {
		from = maxTime(from, h.Next)
	}
	bySource := map[string]float64{}
	for i, src := range s.source {
		if src != "" && !p.from.Add(time.Duration(i)*b.cfg.Step).Before(from) {
			bySource[src]++
		}
	}
	b.stats.update(func(st *stats) {
		for src, n := range bySource {
			st.samples[src] += n
			st.series[src]++
		}
	})
	return total, nil
}

// ownShift is how much later than a node_exporter expression the own expression of a target is evaluated: a
// scrape of a window mean is the mean of the window before it, so the scrapes half a window after a step are those
// of the step. load1 is exposed as the latest read, not a window mean.
func (b *Backfiller) ownShift(m mapping) time.Duration {
	if m.latest {
		return 0
	}
	return (b.cfg.Window / 2).Truncate(time.Millisecond)
}

// fetch runs expr over the steps [from, to) of p, in chunks, and merges the series found into found: a step
// already known keeps its value, so that the first source queried wins. steps is the number of steps of the plan.
// The expression of a step starting at S is evaluated at S + step − 1ms + shift. A step whose evaluation would
// reach the first live step is not asked for: its samples could be the live exporter's.
func (b *Backfiller) fetch(ctx context.Context, source, expr string, p *plan, steps int, to time.Time, shift time.Duration, found map[string]*series) error {
	step := b.cfg.Step
	last := min(int(to.Sub(p.from)/step), steps-int((shift+step-1)/step))
	for lo := 0; lo < last; lo += maxPoints {
		hi := min(lo+maxPoints, last)
		// Evaluated at S + step − 1ms, the window (S + step − 1ms − range, S + step − 1ms] holds, with the range
		// of one step, the samples of [S, S + step): those the exporter averages into the step live.
		at := func(i int) time.Time { return p.from.Add(time.Duration(i)*step - evalBefore + shift) }
		r := v1.Range{Start: at(lo + 1), End: at(hi), Step: step}
		var m model.Matrix
		err := b.do(ctx, source, func(ctx context.Context) (err error) {
			m, err = b.client.queryRange(ctx, expr, r)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s query %s: %w", source, expr, err)
		}
		b.merge(source, m, p, steps, shift, found)
	}
	return nil
}

// merge adds one answer's series to found.
func (b *Backfiller) merge(source string, m model.Matrix, p *plan, steps int, shift time.Duration, found map[string]*series) {
	step := b.cfg.Step
	for _, ss := range m {
		values := make([]string, len(p.m.labels))
		ok := true
		for i, l := range p.m.labels {
			values[i] = string(ss.Metric[model.LabelName(l)])
			ok = ok && values[i] != ""
		}
		if !ok || (p.m.keep != nil && !p.m.keep(&b.cfg, values)) {
			continue
		}
		key := seriesKey(values)
		s := found[key]
		if s == nil {
			s = &series{labelValues: values, values: make([]float64, steps), source: make([]string, steps)}
			for i := range s.values {
				s.values[i] = math.NaN()
			}
			found[key] = s
		}
		for _, sp := range ss.Values {
			at := sp.Timestamp.Time().Add(evalBefore - step - shift)
			i := int(at.Sub(p.from) / step)
			v := float64(sp.Value)
			if at.Before(p.from) || i >= steps || !at.Equal(p.from.Add(time.Duration(i)*step)) || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if s.source[i] == "" {
				s.values[i], s.source[i] = v, source
			}
		}
	}
}

// do runs one query with retries: a fault is retried with doubling waits up to maxAttempts tries, unless retrying
// cannot help; each is counted by cause and logged once per cause.
func (b *Backfiller) do(ctx context.Context, source string, query func(context.Context) error) error {
	wait := b.backoff
	for attempt := 1; ; attempt++ {
		if err := b.acquire(ctx); err != nil {
			return classify(ctx, err)
		}
		start := b.now()
		err := query(ctx)
		<-b.sem
		b.stats.update(func(s *stats) {
			s.queries[source]++
			s.querySeconds[source] += b.now().Sub(start).Seconds()
			s.bytes = float64(b.client.read.Load())
		})
		if err == nil {
			return nil
		}
		var qe *queryError
		if !errors.As(err, &qe) {
			qe = classify(ctx, err)
		}
		b.count(qe)
		if qe.permanent() || attempt == maxAttempts || ctx.Err() != nil {
			return qe
		}
		select {
		case <-ctx.Done():
			return classify(ctx, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (b *Backfiller) acquire(ctx context.Context) error {
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// count counts a fault and logs it the first time its cause is seen.
func (b *Backfiller) count(qe *queryError) {
	b.stats.update(func(s *stats) { s.errors[qe.cause]++ })
	if _, seen := b.logged.LoadOrStore(qe.cause, true); !seen {
		b.logger.Warn("backfill query failed (logged once per cause; retried up to the bound when retrying can help)",
			"cause", qe.cause, "err", qe.err)
	}
}

// seriesKey identifies a series of a target by its label values.
func seriesKey(values []string) string { return strings.Join(values, "\xff") }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
