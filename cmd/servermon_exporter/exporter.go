package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/servermon/servermon_exporter/collector"
)

// exporter wires the sources, the sampler, the forecasts and the state file together.
type exporter struct {
	cfg       *config
	logger    *slog.Logger
	sampler   *collector.Sampler
	forecasts *forecaster // nil when forecasting is off
	state     *stateFile  // nil without --forecast.state-file
	runtime   *runtimeMetrics
}

// newExporter builds the exporter from its configuration; now is the clock (time.Now outside tests).
func newExporter(cfg *config, logger *slog.Logger, now func() time.Time) (*exporter, error) {
	sources, err := newSources(cfg)
	if err != nil {
		return nil, err
	}
	e := &exporter{cfg: cfg, logger: logger}
	var observers []collector.Observer
	if cfg.forecast.enabled {
		if e.forecasts, err = newForecaster(cfg.forecast, logger); err != nil {
			return nil, err
		}
		observers = append(observers, e.forecasts)
		if cfg.forecast.stateFile != "" {
			e.state = newStateFile(cfg.forecast.stateFile, now)
		}
	}
	if e.runtime, err = newRuntimeMetrics(cfg.runtimeEvery); err != nil {
		return nil, err
	}
	observers = append(observers, e.runtime)
	sc := cfg.sampler
	sc.Now, sc.Logger = now, logger
	if e.sampler, err = collector.NewSampler(sc, sources, observers...); err != nil {
		return nil, err
	}
	return e, nil
}

// newSources returns the enabled sources reading cfg.procPath.
func newSources(cfg *config) ([]collector.Source, error) {
	proc, err := collector.NewProcFS(cfg.procPath)
	if err != nil {
		return nil, fmt.Errorf("--path.procfs: %w", err)
	}
	var sources []collector.Source
	for _, name := range collectorNames {
		if !cfg.collectors[name] {
			continue
		}
		switch name {
		case "cpu":
			sources = append(sources, collector.NewCPU(proc, cfg.cpu))
		case "memory":
			sources = append(sources, collector.NewMemory(proc))
		case "load":
			sources = append(sources, collector.NewLoad(proc))
		case "pressure":
			sources = append(sources, collector.NewPressure(proc))
		case "disk":
			sources = append(sources, collector.NewDisk(proc, cfg.disk))
		}
	}
	return sources, nil
}

// loadState restores the forecasts from the state file. Any fault leaves a fresh start, logged and counted.
func (e *exporter) loadState() {
	if e.state == nil {
		return
	}
	payload, err := e.state.Load()
	if errors.Is(err, fs.ErrNotExist) {
		e.logger.Info("no forecast state file yet, starting fresh", "path", e.cfg.forecast.stateFile)
		return
	}
	if err == nil {
		err = e.forecasts.unmarshalState(payload)
	}
	if err != nil {
		e.forecasts.stateLoadFailed()
		e.logger.Error("forecast state not loaded, starting fresh", "err", err)
		return
	}
	e.logger.Info("forecast state loaded", "path", e.cfg.forecast.stateFile, "series", e.forecasts.seriesCount())
}

// saveState writes the forecast state file; failures are logged and counted, the previous file stays.
func (e *exporter) saveState() {
	if e.state == nil {
		return
	}
	payload, err := e.forecasts.marshalState()
	if err == nil {
		err = e.state.Save(payload)
	}
	if err != nil {
		e.forecasts.stateSaveFailed()
		e.logger.Error("saving forecast state", "err", err)
	}
}

func (e *exporter) saveStatePeriodically(ctx context.Context) {
	if e.state == nil {
		return
	}
	t := time.NewTicker(e.cfg.forecast.stateInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.saveState()
		}
	}
}
