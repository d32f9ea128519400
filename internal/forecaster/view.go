package forecaster

import (
	"slices"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
)

// View is a copy of what the forecaster knows of one series at one moment, for the forecast page and its JSON API.
type View struct {
	Target                  *collector.Target
	LabelNames, LabelValues []string
	Step                    time.Duration
	// Observed holds the values of the newest steps, oldest first; the last is the step starting at LastStep.
	Observed       []float64
	LastStep       time.Time
	HasLast        bool
	HistorySeconds float64
	// Threshold is the level of the times until threshold, 0 when the target has none. Earliest is the time
	// until the forecast's upper bound reaches it, Expected until the point forecast does, both in seconds after
	// LastStep, +Inf when not within the range the history supports; HasETA is false while no horizon is ready.
	// For a Fill target (filesystems) both are the time until the trend of the fill reaches it.
	Threshold          float64
	Earliest, Expected float64
	HasETA             bool
	// Anomaly is the anomaly score of the newest step and Anomalous whether it exceeds the threshold.
	Anomaly               float64
	Anomalous, HasAnomaly bool
	Horizons              []HorizonView
}

// HorizonView is a series' forecast at one horizon.
type HorizonView struct {
	Horizon time.Duration
	// Ready is whether the forecast is served; WarmupSeconds is the time until it will be, 0 once it is.
	Ready         bool
	WarmupSeconds float64
	Forecast      forecast.Prediction // valid when Ready
	// ErrorRatio is the forecast's rolling MAE over that of the naive forecast, valid when HasErrorRatio.
	ErrorRatio    float64
	HasErrorRatio bool
}

// Views returns a view of every series, in exposition order, each with up to historySteps observed steps.
func (f *Forecaster) Views(historySteps int) []View {
	f.mu.Lock()
	defer f.mu.Unlock()
	views := make([]View, 0, len(f.sorted))
	for _, s := range f.sorted {
		v := View{Target: s.target, LabelNames: slices.Clone(s.labelNames), LabelValues: slices.Clone(s.labelValues),
			Step: f.cfg.Step, Observed: s.fc.History(nil, historySteps), HistorySeconds: s.fc.HistorySeconds(),
			Threshold: s.threshold}
		v.LastStep, _, v.HasLast = s.fc.Last()
		if s.threshold > 0 {
			v.Earliest, v.Expected, v.HasETA = s.secondsUntil()
		}
		v.Anomaly, v.Anomalous, v.HasAnomaly = s.fc.Anomaly()
		for h, d := range f.cfg.Horizons {
			hv := HorizonView{Horizon: d, WarmupSeconds: f.warmupSeconds(s, h)}
			hv.Forecast, hv.Ready = s.fc.Forecast(h)
			hv.ErrorRatio, hv.HasErrorRatio = s.fc.ErrorRatio(h)
			v.Horizons = append(v.Horizons, hv)
		}
		views = append(views, v)
	}
	return views
}
