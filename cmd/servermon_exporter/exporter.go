package main

import (
	"fmt"
	"log/slog"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/exposition"
	"github.com/servermon/servermon_exporter/internal/forecaster"
	"github.com/servermon/servermon_exporter/internal/selfmetrics"
	"github.com/servermon/servermon_exporter/internal/statefile"
)

// exporter is the wiring: sources into the sampler, the sampler into its observers, everyone's families into the
// /metrics body.
type exporter struct {
	cfg       *config
	logger    *slog.Logger
	clock     clock.Clock
	sampler   *collector.Sampler
	forecasts *forecaster.Forecaster // nil when forecasting is off
	keeper    *forecaster.Keeper     // nil without --forecast.state-file
	self      *selfmetrics.Metrics
	body      *exposition.Body
}

// newExporter builds the exporter from its configuration and clock (clock.NewSystem outside tests).
func newExporter(cfg *config, logger *slog.Logger, c clock.Clock) (*exporter, error) {
	proc, err := collector.NewProcFS(cfg.procPath)
	if err != nil {
		return nil, fmt.Errorf("--path.procfs: %w", err)
	}
	cc := cfg.collector
	cc.Filesystem.Logger = logger
	sources := collector.NewSources(proc, cc, func(name string) bool { return cfg.collectors[name] })
	e := &exporter{cfg: cfg, logger: logger, clock: c}
	var observers []collector.Observer
	if cfg.forecast.enabled {
		fc := cfg.forecast.Config
		fc.Logger = logger
		if e.forecasts, err = forecaster.New(fc); err != nil {
			return nil, err
		}
		observers = append(observers, e.forecasts)
		if cfg.forecast.stateFile != "" {
			e.keeper = forecaster.NewKeeper(e.forecasts, statefile.New(cfg.forecast.stateFile, c), logger)
		}
	}
	if e.self, err = selfmetrics.New(cfg.runtimeEvery, selfmetrics.DefaultTrimAfter, logger); err != nil {
		return nil, err
	}
	observers = append(observers, e.self)
	sc := cfg.sampler
	sc.Clock, sc.Logger = c, logger
	if e.sampler, err = collector.NewSampler(sc, sources, observers...); err != nil {
		return nil, err
	}
	producers := []exposition.Producer{e.sampler}
	if e.forecasts != nil {
		producers = append(producers, e.forecasts)
	}
	e.body = exposition.NewBody(e.sampler.Seq, append(producers, e.self)...)
	return e, nil
}

// loadState restores the forecasts from the state file, if there is one.
func (e *exporter) loadState() {
	if e.keeper != nil {
		e.keeper.Load()
	}
}

// saveState writes the state file, if there is one.
func (e *exporter) saveState() error {
	if e.keeper == nil {
		return nil
	}
	return e.keeper.Save()
}

// close releases what the exporter holds open: the sources' files and goroutines (the filesystem's statfs ones),
// and the self-metrics'. The sampler must not be sampling any more.
func (e *exporter) close() {
	e.sampler.Close()
	_ = e.self.Close()
}
