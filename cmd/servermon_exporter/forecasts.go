package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
)

// forecaster feeds every forecast target's per-interval values, resampled to the forecast step, into one
// forecast.Series per target and renders the forecast families. It is a collector.Observer.
type forecaster struct {
	cfg    forecastConfig
	logger *slog.Logger
	hLabel []string // horizon label values, in cfg.horizons order

	mu      sync.Mutex // ObserveSample and AppendMetrics run under the sampler's lock; the state saver does not
	targets map[string]*target
	sorted  []*target // by target name, then device
	// byGauge finds a gauge's target without building its key, every sample for every target gauge. A gauge
	// re-created by the store (after an outage) gets a new entry; stale ones are pruned (pruneByGauge).
	byGauge map[*collector.Gauge]*target

	// The forecasts' time axis is the wall clock at the first sample plus monotonic time since, so a wall clock
	// stepped by NTP neither reorders steps nor tears a gap into the history.
	anchorWall, anchorMono time.Time
	anchored               bool
	// resumeAt is the start of the step after the newest one restored from the state file.
	resumeAt time.Time

	stateLoadErrors, stateSaveErrors float64

	diskSeries    int // per-disk targets held, capped by cfg.maxDiskSeries
	refused       int // per-disk targets refused in the latest sample
	refusedLogged bool
}

// target is one forecast series, e.g. disk_utilization_ratio of device sda.
type target struct {
	name, device string
	key          string
	resampler    *forecast.Resampler
	series       *forecast.Series
	threshold    float64 // 0 when the target has none
	touched      bool
	gauge        *collector.Gauge // the gauge it was fed from last

	// Pre-rendered label sets.
	bounds    [][3]string // [horizon][point, lower, upper]
	perTarget string      // {target=…,device=…}
	perHorz   []string    // {target=…,device=…,horizon=…}
	eta       string      // {target=…,device=…,threshold=…}
}

var boundNames = [3]string{"point", "lower", "upper"}

func newForecaster(cfg forecastConfig, logger *slog.Logger) (*forecaster, error) {
	f := &forecaster{cfg: cfg, logger: logger, targets: map[string]*target{}, byGauge: map[*collector.Gauge]*target{}}
	for _, h := range cfg.horizons {
		f.hLabel = append(f.hLabel, collector.FormatDuration(h))
	}
	if _, err := forecast.NewSeries(f.seriesConfig("cpu_usage_ratio")); err != nil {
		return nil, fmt.Errorf("forecast flags: %w", err)
	}
	return f, nil
}

// seriesConfig returns the forecast configuration of a target: the flags, and bounds that suit its unit.
func (f *forecaster) seriesConfig(name string) forecast.Config {
	c := forecast.DefaultConfig()
	c.Step, c.History, c.Horizons, c.AnomalyThreshold = f.cfg.step, f.cfg.history, f.cfg.horizons, f.cfg.anomaly
	c.Min, c.Max = 0, math.Inf(1)
	if strings.HasSuffix(name, "_ratio") {
		c.Max = 1
	}
	return c
}

func targetKey(name, device string) string { return name + "\xff" + device }

// errDiskSeriesLimit refuses a per-disk forecast series beyond --forecast.max-disk-series.
var errDiskSeriesLimit = errors.New("forecast series limit for disks reached")

// target returns the target of name and device, creating it (with a fresh series) on first use. Per-disk targets
// are capped, host-wide ones are not: a host with hundreds of disks must not crowd out its memory forecast.
func (f *forecaster) target(name, device string) (*target, error) {
	key := targetKey(name, device)
	if t, ok := f.targets[key]; ok {
		return t, nil
	}
	if device != "" && f.cfg.maxDiskSeries > 0 && f.diskSeries >= f.cfg.maxDiskSeries {
		return nil, errDiskSeriesLimit
	}
	s, err := forecast.NewSeries(f.seriesConfig(name))
	if err != nil {
		return nil, err
	}
	t := &target{name: name, device: device, key: key, series: s, resampler: forecast.NewResampler(f.cfg.step),
		threshold: f.cfg.thresholds[name]}
	names, values := []string{"target"}, []string{name}
	if device != "" {
		names, values = append(names, "device"), append(values, device)
	}
	t.perTarget = collector.RenderLabels(names, values)
	for _, h := range f.hLabel {
		t.perHorz = append(t.perHorz, collector.RenderLabels(append(names, "horizon"), append(values, h)))
		var b [3]string
		for i, bound := range boundNames {
			if device != "" {
				b[i] = collector.RenderLabels([]string{"device", "horizon", "bound"}, []string{device, h, bound})
			} else {
				b[i] = collector.RenderLabels([]string{"horizon", "bound"}, []string{h, bound})
			}
		}
		t.bounds = append(t.bounds, b)
	}
	if t.threshold > 0 {
		t.eta = collector.RenderLabels(append(names, "threshold"), append(values, collector.FormatFloat(t.threshold)))
	}
	f.targets[key] = t
	if device != "" {
		f.diskSeries++
	}
	i, _ := slices.BinarySearchFunc(f.sorted, key, func(a *target, k string) int { return strings.Compare(a.key, k) })
	f.sorted = slices.Insert(f.sorted, i, t)
	return t, nil
}

// ObserveSample feeds the newest interval of every target gauge to its resampler, and a finished step to the
// series. Per-device targets whose gauge is gone (a disk that disappeared) are dropped with their history; host-wide
// ones keep theirs through a collector outage, which the series sees as a gap.
func (f *forecaster) ObserveSample(now time.Time, st *collector.Store) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.anchored {
		f.anchorWall, f.anchorMono, f.anchored = now.Round(0), now, true
		// A state saved by a process whose axis ran ahead of this wall clock (it started before NTP stepped the
		// clock back, which its monotonic axis never follows) would have every step refused until the clock caught
		// up, for as long as the offset. Continuing that axis keeps the history going at once.
		if f.resumeAt.After(f.anchorWall) {
			if f.logger != nil {
				f.logger.Warn("forecast state is ahead of the wall clock, continuing its time axis", "ahead", f.resumeAt.Sub(f.anchorWall))
			}
			f.anchorWall = f.resumeAt
		}
	}
	at := f.anchorWall.Add(now.Sub(f.anchorMono))
	for _, t := range f.sorted {
		t.touched = false
	}
	f.refused = 0
	st.Each(func(g *collector.Gauge) {
		name := g.Family().Target
		if name == "" {
			return
		}
		t := f.byGauge[g]
		if t == nil {
			var err error
			if t, err = f.target(name, g.Label("device")); err != nil {
				// The configuration was validated at start, so only the disk series limit can refuse a target.
				f.refused++
				if !f.refusedLogged {
					f.refusedLogged = true
					f.logger.Warn("not forecasting every disk", "err", err, "limit", f.cfg.maxDiskSeries, "flag", "--forecast.max-disk-series")
				}
				return
			}
			f.byGauge[g] = t
		}
		t.touched, t.gauge = true, g
		v, ok := g.Latest()
		if !ok {
			return
		}
		if start, mean, done := t.resampler.Add(at, v); done {
			t.series.Push(start, mean)
		}
	})
	f.sorted = slices.DeleteFunc(f.sorted, func(t *target) bool {
		if t.touched || t.device == "" {
			return false
		}
		delete(f.targets, t.key)
		f.diskSeries--
		t.gauge = nil
		return true
	})
	if len(f.byGauge) > len(f.sorted) {
		f.pruneByGauge()
	}
}

// pruneByGauge forgets the gauges that no target is fed from any more: those of dropped targets, and the old
// gauge of a target whose gauge the store re-created.
func (f *forecaster) pruneByGauge() {
	for g, t := range f.byGauge {
		if t.gauge != g {
			delete(f.byGauge, g)
		}
	}
}

// AppendMetrics renders the forecast families. Families and series without a forecast yet are left out.
func (f *forecaster) AppendMetrics(b []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < len(f.sorted); {
		j := i
		for j < len(f.sorted) && f.sorted[j].name == f.sorted[i].name {
			j++
		}
		b = f.appendForecasts(b, f.sorted[i:j])
		i = j
	}
	b = f.appendPerTarget(b, "servermon_forecast_seconds_until_threshold",
		"Time until the upper bound of the forecast reaches the threshold; +Inf when it does not within the range the history supports.",
		func(t *target) (string, float64, bool) {
			if t.threshold == 0 {
				return "", 0, false
			}
			v, ok := t.series.SecondsUntil(t.threshold)
			return t.eta, v, ok
		})
	b = f.appendPerTarget(b, "servermon_anomaly_score",
		"Surprise of the newest forecast step's value: its distance from the one-step forecast in units of the series' own recent one-step error spread (the larger of 1.4826 MAD and a scaled 99th percentile, so ordinary bursts score low).",
		func(t *target) (string, float64, bool) {
			v, _, ok := t.series.Anomaly()
			return t.perTarget, v, ok
		})
	b = f.appendPerTarget(b, "servermon_anomalous",
		fmt.Sprintf("Whether the anomaly score of the newest forecast step exceeds %g (--forecast.anomaly-threshold).", f.cfg.anomaly),
		func(t *target) (string, float64, bool) {
			_, a, ok := t.series.Anomaly()
			if a {
				return t.perTarget, 1, ok
			}
			return t.perTarget, 0, ok
		})
	header := false
	for _, t := range f.sorted {
		for h := range f.hLabel {
			v, ok := t.series.ErrorRatio(h)
			if !ok {
				continue
			}
			if !header {
				b = collector.AppendHeader(b, "servermon_forecast_error_ratio", "Rolling mean absolute error of the forecast divided by that of the naive forecast (the last value), from forecasts scored against what happened; below 1 the forecast beats naive.", "gauge")
				header = true
			}
			b = collector.AppendSample(b, "servermon_forecast_error_ratio", t.perHorz[h], v)
		}
	}
	b = f.appendPerTarget(b, "servermon_forecast_history_seconds", "Span of history the forecast series holds.",
		func(t *target) (string, float64, bool) { return t.perTarget, t.series.HistorySeconds(), true })
	b = collector.AppendHeader(b, "servermon_forecast_series", "Series being forecast.", "gauge")
	b = collector.AppendSample(b, "servermon_forecast_series", "", float64(len(f.sorted)))
	b = collector.AppendHeader(b, "servermon_forecast_series_refused", "Per-disk series not forecast because of --forecast.max-disk-series.", "gauge")
	b = collector.AppendSample(b, "servermon_forecast_series_refused", "", float64(f.refused))
	b = collector.AppendHeader(b, "servermon_forecast_state_load_errors_total", "Forecast state files that could not be loaded (renamed aside, started fresh).", "counter")
	b = collector.AppendSample(b, "servermon_forecast_state_load_errors_total", "", f.stateLoadErrors)
	b = collector.AppendHeader(b, "servermon_forecast_state_save_errors_total", "Failed writes of the forecast state file.", "counter")
	return collector.AppendSample(b, "servermon_forecast_state_save_errors_total", "", f.stateSaveErrors)
}

// appendForecasts renders servermon_forecast_<name> for the targets of one name.
func (f *forecaster) appendForecasts(b []byte, ts []*target) []byte {
	name := "servermon_forecast_" + ts[0].name
	header := false
	for _, t := range ts {
		for h := range f.hLabel {
			p, ok := t.series.Forecast(h)
			if !ok {
				continue
			}
			if !header {
				b = collector.AppendHeader(b, name, fmt.Sprintf("Forecast of servermon_%s (mean over a %s step) at each horizon: the point forecast and the bounds of its %g%% prediction interval.", ts[0].name, collector.FormatDuration(f.cfg.step), forecast.DefaultCoverage*100), "gauge")
				header = true
			}
			for i, v := range [3]float64{p.Point, p.Lower, p.Upper} {
				b = collector.AppendSample(b, name, t.bounds[h][i], v)
			}
		}
	}
	return b
}

// appendPerTarget renders one sample per target, as value returns it, with the header only if any is present.
func (f *forecaster) appendPerTarget(b []byte, name, help string, value func(*target) (string, float64, bool)) []byte {
	header := false
	for _, t := range f.sorted {
		labels, v, ok := value(t)
		if !ok {
			continue
		}
		if !header {
			b = collector.AppendHeader(b, name, help, "gauge")
			header = true
		}
		b = collector.AppendSample(b, name, labels, v)
	}
	return b
}

func (f *forecaster) stateLoadFailed() {
	f.mu.Lock()
	f.stateLoadErrors++
	f.mu.Unlock()
}

func (f *forecaster) stateSaveFailed() {
	f.mu.Lock()
	f.stateSaveErrors++
	f.mu.Unlock()
}

func (f *forecaster) seriesCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sorted)
}
