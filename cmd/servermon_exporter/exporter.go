package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/backfill"
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
	backfill  *backfill.Backfiller   // nil without --forecast.backfill.url
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
		if bc := cfg.forecast.backfill; bc.URL != "" {
			bc.Step, bc.History, bc.Window, bc.Logger = fc.Step, fc.History, cfg.sampler.Window, logger
			bc.Disk, bc.Filesystem = cfg.collector.Disk, cfg.collector.Filesystem
			if e.backfill, err = backfill.New(bc); err != nil {
				return nil, err
			}
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
	if e.backfill != nil {
		producers = append(producers, e.backfill)
	}
	e.body = exposition.NewBody(e.sampler.Seq, append(producers, e.self)...)
	return e, nil
}

// loadState restores the forecasts from the state file, if there is one, and says at once if it cannot be saved;
// without one it says how to keep the history across restarts.
func (e *exporter) loadState() {
	if e.keeper == nil {
		if e.forecasts != nil {
			e.logger.Info("forecast history is lost at every restart: keep it with --forecast.state-file=PATH, or run under systemd with StateDirectory= (the state then goes to $STATE_DIRECTORY)")
		}
		return
	}
	if err := e.keeper.CheckWritable(); err != nil {
		e.logger.Error("the forecast state cannot be saved: this run's history will be lost at shutdown", "err", err)
	}
	e.keeper.Load()
}

// holdForBackfill makes the forecaster wait for the history of the backfill, if there is one. Call it before the
// first sample.
func (e *exporter) holdForBackfill() {
	if e.backfill != nil {
		e.forecasts.Hold()
	}
}

// runBackfill loads the history, if there is a backfill, and releases the forecaster whatever happens.
func (e *exporter) runBackfill(ctx context.Context) {
	if e.backfill != nil {
		_ = e.backfill.Run(ctx, e.forecasts) // logged and counted
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
