// Package forecaster ties the collector to the forecast models: it feeds the newest value of every forecast
// target's gauge, resampled to the forecast step, into one forecast.Series per gauge, and publishes the forecasts
// as metric families. It also encodes its series for the state file (state.go), keeps them there (Keeper), and
// shows them to people and scripts (View).
//
// A Forecaster is a collector.Observer and an exposition.Producer. The sampler calls ObserveSample in its own
// goroutine; scrapes render, the state saver encodes and the forecast page reads from other goroutines, so every
// method takes the Forecaster's lock.
package forecaster

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

// Config configures the forecaster.
type Config struct {
	// Step, History, Horizons and AnomalyThreshold configure every series (forecast.Config).
	Step, History    time.Duration
	Horizons         []time.Duration
	AnomalyThreshold float64
	// Thresholds are the levels of the times until threshold, by collector.Target.ThresholdFlag; a target whose
	// flag is missing uses its ThresholdDefault.
	Thresholds map[string]float64
	// MaxSeries caps the number of series of the per-device targets of each collector.SeriesGroup, by name; a
	// group missing or at 0 is not capped.
	MaxSeries map[string]int
	// Logger receives the forecaster's warnings; nil discards them.
	Logger *slog.Logger
}

// seriesConfig returns the forecast configuration of a target.
func (c *Config) seriesConfig(t *collector.Target) forecast.Config {
	fc := forecast.DefaultConfig()
	fc.Step, fc.History, fc.Horizons, fc.AnomalyThreshold = c.Step, c.History, c.Horizons, c.AnomalyThreshold
	fc.Min, fc.Max = t.Min, t.Max
	return fc
}

// threshold returns the level of a target's time until threshold, 0 when it has none.
func (c *Config) threshold(t *collector.Target) float64 {
	if t.ThresholdFlag == "" {
		return 0
	}
	if v, ok := c.Thresholds[t.ThresholdFlag]; ok {
		return v
	}
	return t.ThresholdDefault
}

// Forecaster forecasts every target gauge of the sampler's store.
type Forecaster struct {
	cfg    Config
	logger *slog.Logger
	hLabel []string // horizon label values, in cfg.Horizons order

	mu     sync.Mutex
	series map[string]*series
	sorted []*series // by target name, then labels
	// byGauge finds a gauge's series without building its key, every sample for every target gauge. A gauge
	// re-created by the store (after an outage) gets a new entry; stale ones are pruned (pruneByGauge).
	byGauge map[*collector.Gauge]*series

	// The forecasts' time axis is the wall clock at the first sample plus monotonic time since, so a wall clock
	// stepped by NTP neither reorders steps nor tears a gap into the history.
	anchorWall time.Time
	anchorMono time.Duration
	anchored   bool
	// resumeAt is the start of the step after the newest one restored from the state file.
	resumeAt time.Time

	stateLoadErrors, stateSaveErrors, stateSkipped float64
	// held keeps the live steps in their series until Release (backfill.go).
	held bool

	perGroup      map[string]int // per-device series held, by target group
	refused       int            // per-device series refused in the latest sample
	refusedLogged map[string]bool
}

// series is the forecast of one gauge, e.g. disk_utilization_ratio of device sda.
type series struct {
	target      *collector.Target
	labelNames  []string
	labelValues []string
	labels      string // the gauge's labels, rendered: {device="sda"} or ""
	resampler   *forecast.Resampler
	fc          *forecast.Series
	fill        *forecast.Fill // the time until threshold of a Fill target, nil for the others
	capacity    float64        // what the gauge's ratio was a share of at its latest step, 0 when unknown
	threshold   float64        // 0 when the target has none
	touched     bool
	sampled     bool             // a sample came: the step it fell in is known
	skipFirst   bool             // the first step is partial and left out (see ObserveSample)
	gauge       *collector.Gauge // the gauge it was fed from last
	heldSteps   []heldStep       // live steps kept while the forecaster is held

	// Pre-rendered label sets.
	bounds    [][3]string // [horizon][point, lower, upper]: {labels…,horizon=…,bound=…}
	perTarget string      // {target=…,labels…}
	perHorz   []string    // {target=…,labels…,horizon=…}
	eta       string      // {target=…,labels…,threshold=…}
}

var boundNames = [3]string{"point", "lower", "upper"}

// New returns a forecaster; cfg must give a valid forecast configuration.
func New(cfg Config) (*Forecaster, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Forecaster{cfg: cfg, logger: cfg.Logger, series: map[string]*series{}, byGauge: map[*collector.Gauge]*series{},
		perGroup: map[string]int{}, refusedLogged: map[string]bool{}}
	for _, h := range cfg.Horizons {
		f.hLabel = append(f.hLabel, exposition.FormatDuration(h))
	}
	for _, t := range collector.Targets() {
		if _, err := forecast.NewSeries(cfg.seriesConfig(t)); err != nil {
			return nil, fmt.Errorf("forecast configuration: %w", err)
		}
	}
	return f, nil
}

// seriesKey identifies the series of a target and a gauge's labels.
func seriesKey(target, labels string) string { return target + labels }

// errSeriesLimit refuses a per-device series beyond --forecast.max-<group>-series.
var errSeriesLimit = errors.New("forecast series limit reached")

// add returns the series of target t with the given labels, creating it (empty) on first use. Per-device series
// are capped by group, host-wide ones are not: a host with hundreds of disks must not crowd out its memory
// forecast. Called with mu held.
func (f *Forecaster) add(t *collector.Target, names, values []string) (*series, error) {
	labels := exposition.Labels(names, values)
	key := seriesKey(t.Name, labels)
	if s, ok := f.series[key]; ok {
		return s, nil
	}
	if t.PerDevice() {
		if limit := f.cfg.MaxSeries[t.Group.Name]; limit > 0 && f.perGroup[t.Group.Name] >= limit {
			return nil, errSeriesLimit
		}
	}
	fc, err := forecast.NewSeries(f.cfg.seriesConfig(t))
	if err != nil {
		return nil, err
	}
	s := &series{target: t, labelNames: slices.Clone(names), labelValues: slices.Clone(values), labels: labels,
		fc: fc, resampler: forecast.NewResampler(f.cfg.Step), threshold: f.cfg.threshold(t)}
	if t.Fill {
		if s.fill, err = forecast.NewFill(forecast.DefaultFillConfig(f.cfg.Step)); err != nil {
			return nil, err
		}
	}
	s.render(f.hLabel)
	f.series[key] = s
	if t.PerDevice() {
		f.perGroup[t.Group.Name]++
	}
	i, _ := slices.BinarySearchFunc(f.sorted, s, compareSeries)
	f.sorted = slices.Insert(f.sorted, i, s)
	return s, nil
}

func compareSeries(a, b *series) int {
	return cmp.Or(cmp.Compare(a.target.Name, b.target.Name), cmp.Compare(a.labels, b.labels))
}

// render pre-renders the series' label sets.
func (s *series) render(hLabel []string) {
	names := append([]string{"target"}, s.labelNames...)
	values := append([]string{s.target.Name}, s.labelValues...)
	s.perTarget = exposition.Labels(names, values)
	for _, h := range hLabel {
		s.perHorz = append(s.perHorz, exposition.Labels(append(names, "horizon"), append(values, h)))
		var b [3]string
		for i, bound := range boundNames {
			b[i] = exposition.Labels(append(slices.Clone(s.labelNames), "horizon", "bound"), append(slices.Clone(s.labelValues), h, bound))
		}
		s.bounds = append(s.bounds, b)
	}
	if s.threshold > 0 {
		s.eta = exposition.Labels(append(names, "threshold"), append(values, exposition.FormatFloat(s.threshold)))
	}
}

// ObserveSample feeds the newest interval of every target gauge to its resampler, and a finished step to the
// series. Per-device series whose gauge is gone (a disk that disappeared) are dropped with their history; host-wide
// ones keep theirs through a collector outage, which the series sees as a gap.
func (f *Forecaster) ObserveSample(now clock.Reading, st *collector.Store) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := f.axis(now)
	for _, s := range f.sorted {
		s.touched = false
	}
	f.refused = 0
	st.Each(func(g *collector.Gauge) {
		t := g.Family().Target
		if t == nil {
			return
		}
		s := f.byGauge[g]
		if s == nil {
			var err error
			if s, err = f.add(t, g.Family().LabelNames, g.LabelValues()); err != nil {
				// The configuration was validated at start, so only a series limit can refuse one.
				f.refused++
				if !f.refusedLogged[t.Group.Name] {
					f.refusedLogged[t.Group.Name] = true
					f.logger.Warn("not forecasting every device", "group", t.Group.Name, "limit", f.cfg.MaxSeries[t.Group.Name],
						"flag", "--forecast.max-"+t.Group.Name+"-series")
				}
				return
			}
			f.byGauge[g] = s
		}
		s.touched, s.gauge = true, g
		v, ok := g.Latest()
		if !ok {
			return
		}
		s.followCapacity(g.Capacity())
		if !s.sampled {
			// The step a series starts in holds samples from its first one on only: its mean is the mean of the
			// step's end, off the step's mean by half the trend over the part missed. On a filling filesystem
			// that is a step the fill estimator takes for an abrupt change, withholding the ETA for minutes after
			// every start with a backfill. It is left out unless it starts within a twentieth of the step; the
			// series, and the history a backfill puts before it, continue across the gap.
			s.sampled = true
			s.skipFirst = time.Duration(at.UnixNano()%int64(f.cfg.Step)) > f.cfg.Step/20
		}
		if start, mean, done := s.resampler.Add(at, v); done {
			if s.skipFirst {
				s.skipFirst = false
			} else {
				f.push(s, start, mean)
			}
		}
	})
	f.sorted = slices.DeleteFunc(f.sorted, func(s *series) bool {
		if s.touched || !s.target.PerDevice() {
			return false
		}
		delete(f.series, seriesKey(s.target.Name, s.labels))
		f.perGroup[s.target.Group.Name]--
		s.gauge = nil
		return true
	})
	if len(f.byGauge) > len(f.sorted) {
		f.pruneByGauge()
	}
}

// resizeTolerance is the smallest relative change of a ratio's capacity taken as a resize. Smaller changes (a
// filesystem whose size follows its pool's, a rounding) are left to the models, which see them as data.
const resizeTolerance = 0.01

// followCapacity rescales what s holds when the capacity its ratio is a share of changed (a filesystem resize):
// the same used bytes are then a different ratio, which the series must not take for a fill or a cleanup.
func (s *series) followCapacity(c float64) {
	if c <= 0 {
		return
	}
	if s.capacity > 0 && math.Abs(c/s.capacity-1) > resizeTolerance {
		factor := s.capacity / c
		s.fc.Rescale(factor)
		s.resampler.Rescale(factor)
		if s.fill != nil {
			s.fill.Rescale(factor)
		}
		for i := range s.heldSteps {
			s.heldSteps[i].mean *= factor
		}
	}
	s.capacity = c
}

// pushStep pushes a finished step to the series and its fill estimator.
func (s *series) pushStep(start time.Time, mean float64) bool {
	if s.fill != nil {
		s.fill.Push(start, mean)
	}
	return s.fc.Push(start, mean)
}

// secondsUntil is the series' time until its threshold: the fill trend's for a Fill target, the forecast's upper
// bound's for the others; expected is the point forecast's (the fill trend's again for a Fill target).
func (s *series) secondsUntil() (earliest, expected float64, ok bool) {
	if s.fill != nil {
		if earliest, ok = s.fill.SecondsUntil(s.threshold); !ok {
			// Before the estimator has seen its recent window, a filesystem already past the threshold still is.
			_, v, has := s.fc.Last()
			return 0, 0, has && v >= s.threshold
		}
		return earliest, earliest, true
	}
	earliest, ok = s.fc.SecondsUntil(s.threshold)
	expected, _ = s.fc.ExpectedSecondsUntil(s.threshold)
	return earliest, expected, ok
}

// axis returns the forecast time of a reading: the wall time of the first one plus the monotonic time since.
// Called with mu held.
func (f *Forecaster) axis(now clock.Reading) time.Time {
	if !f.anchored {
		f.anchorWall, f.anchorMono, f.anchored = now.Wall, now.Mono, true
		// A state saved by a process whose axis ran ahead of this wall clock (it started before NTP stepped the
		// clock back, which its monotonic axis never follows) would have every step refused until the clock caught
		// up, for as long as the offset. Continuing that axis keeps the history going at once.
		if f.resumeAt.After(f.anchorWall) {
			f.logger.Warn("forecast state is ahead of the wall clock, continuing its time axis", "ahead", f.resumeAt.Sub(f.anchorWall))
			f.anchorWall = f.resumeAt
		}
	}
	return f.anchorWall.Add(now.Mono - f.anchorMono)
}

// pruneByGauge forgets the gauges that no series is fed from any more: those of dropped series, and the old gauge
// of a series whose gauge the store re-created.
func (f *Forecaster) pruneByGauge() {
	for g, s := range f.byGauge {
		if s.gauge != g {
			delete(f.byGauge, g)
		}
	}
}

// AppendMetrics renders the forecast families. Families and series without a forecast yet are left out, but for
// the warm-up families, which show every configured horizon from the first step on.
func (f *Forecaster) AppendMetrics(b []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < len(f.sorted); {
		j := i
		for j < len(f.sorted) && f.sorted[j].target == f.sorted[i].target {
			j++
		}
		b = f.appendForecasts(b, f.sorted[i:j])
		i = j
	}
	b = f.appendPerSeries(b, "servermon_forecast_seconds_until_threshold",
		"Time until the forecast reaches the threshold: the upper bound of its prediction interval, and for filesystems the trend of their fill without its steps and cleanup cycles; +Inf when it does not within the range the history supports.",
		func(s *series) (string, float64, bool) {
			if s.threshold == 0 {
				return "", 0, false
			}
			v, _, ok := s.secondsUntil()
			return s.eta, v, ok
		})
	b = f.appendPerSeries(b, "servermon_anomaly_score",
		"Surprise of the newest forecast step's value: its distance from the one-step forecast in units of the series' own recent one-step error spread (the larger of 1.4826 MAD and a scaled 99th percentile, so ordinary bursts score low).",
		func(s *series) (string, float64, bool) {
			v, _, ok := s.fc.Anomaly()
			return s.perTarget, v, ok
		})
	b = f.appendPerSeries(b, "servermon_anomalous",
		fmt.Sprintf("Whether the anomaly score of the newest forecast step exceeds %g (--forecast.anomaly-threshold).", f.cfg.AnomalyThreshold),
		func(s *series) (string, float64, bool) {
			_, a, ok := s.fc.Anomaly()
			return s.perTarget, boolValue(a), ok
		})
	b = f.appendPerHorizon(b, "servermon_forecast_error_ratio",
		"Rolling mean absolute error of the forecast divided by that of the naive forecast (the last value), from forecasts scored against what happened; below 1 the forecast beats naive.",
		func(s *series, h int) (float64, bool) { return s.fc.ErrorRatio(h) })
	b = f.appendPerSeries(b, "servermon_forecast_history_seconds", "Span of history the forecast series holds.",
		func(s *series) (string, float64, bool) { return s.perTarget, s.fc.HistorySeconds(), true })
	b = f.appendPerHorizon(b, "servermon_forecast_ready", "Whether the forecast at this horizon is served (1) or still warming up (0).",
		func(s *series, h int) (float64, bool) { return boolValue(s.fc.WarmupSteps(h) == 0), true })
	b = f.appendPerHorizon(b, "servermon_forecast_warmup_seconds",
		"Time until the forecast at this horizon is served, with samples coming as now; 0 once it is.",
		func(s *series, h int) (float64, bool) { return f.warmupSeconds(s, h), true })
	b = exposition.AppendHeader(b, "servermon_forecast_series", "Series being forecast.", exposition.Gauge)
	b = exposition.AppendSample(b, "servermon_forecast_series", "", float64(len(f.sorted)))
	b = exposition.AppendHeader(b, "servermon_forecast_series_refused", "Per-device series not forecast because of --forecast.max-<group>-series.", exposition.Gauge)
	b = exposition.AppendSample(b, "servermon_forecast_series_refused", "", float64(f.refused))
	b = exposition.AppendHeader(b, "servermon_forecast_state_load_errors_total", "Forecast state files that could not be loaded (renamed aside, started fresh).", exposition.Counter)
	b = exposition.AppendSample(b, "servermon_forecast_state_load_errors_total", "", f.stateLoadErrors)
	b = exposition.AppendHeader(b, "servermon_forecast_state_save_errors_total", "Failed writes of the forecast state file.", exposition.Counter)
	b = exposition.AppendSample(b, "servermon_forecast_state_save_errors_total", "", f.stateSaveErrors)
	b = exposition.AppendHeader(b, "servermon_forecast_state_series_skipped_total", "Series of a loaded state file left out: of a target this version does not know, with labels it cannot use, or in a format it cannot read.", exposition.Counter)
	return exposition.AppendSample(b, "servermon_forecast_state_series_skipped_total", "", f.stateSkipped)
}

// warmupSeconds is the time until horizon h of s is served: its warm-up steps, the first of which ends with the
// step being resampled now.
func (f *Forecaster) warmupSeconds(s *series, h int) float64 {
	steps := s.fc.WarmupSteps(h)
	if steps <= 0 {
		return 0
	}
	return float64(steps) * f.cfg.Step.Seconds()
}

// appendForecasts renders servermon_forecast_<target> for the series of one target.
func (f *Forecaster) appendForecasts(b []byte, ss []*series) []byte {
	name := "servermon_forecast_" + ss[0].target.Name
	header := false
	for _, s := range ss {
		for h := range f.hLabel {
			p, ok := s.fc.Forecast(h)
			if !ok {
				continue
			}
			if !header {
				b = exposition.AppendHeader(b, name, fmt.Sprintf("Forecast of servermon_%s (mean over a %s step) at each horizon: the point forecast and the bounds of its %g%% prediction interval.", ss[0].target.Name, exposition.FormatDuration(f.cfg.Step), forecast.DefaultCoverage*100), exposition.Gauge)
				header = true
			}
			for i, v := range [3]float64{p.Point, p.Lower, p.Upper} {
				b = exposition.AppendSample(b, name, s.bounds[h][i], v)
			}
		}
	}
	return b
}

// appendPerSeries renders one sample per series, as value returns it, with the header only if any is present.
func (f *Forecaster) appendPerSeries(b []byte, name, help string, value func(*series) (string, float64, bool)) []byte {
	header := false
	for _, s := range f.sorted {
		labels, v, ok := value(s)
		if !ok {
			continue
		}
		if !header {
			b = exposition.AppendHeader(b, name, help, exposition.Gauge)
			header = true
		}
		b = exposition.AppendSample(b, name, labels, v)
	}
	return b
}

// appendPerHorizon renders one sample per series and horizon, as value returns it, with the header only if any is
// present.
func (f *Forecaster) appendPerHorizon(b []byte, name, help string, value func(*series, int) (float64, bool)) []byte {
	header := false
	for _, s := range f.sorted {
		for h := range f.hLabel {
			v, ok := value(s, h)
			if !ok {
				continue
			}
			if !header {
				b = exposition.AppendHeader(b, name, help, exposition.Gauge)
				header = true
			}
			b = exposition.AppendSample(b, name, s.perHorz[h], v)
		}
	}
	return b
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// SeriesCount returns the number of series forecast.
func (f *Forecaster) SeriesCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sorted)
}
