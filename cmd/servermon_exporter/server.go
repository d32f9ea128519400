package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/common/version"

	"github.com/servermon/servermon_exporter/internal/exposition"
	"github.com/servermon/servermon_exporter/internal/forecastpage"
)

// newMux routes the telemetry path, the landing page, the forecast page and its API, and, when enabled, pprof.
// Everything is on this one mux, which exporter-toolkit serves: the web config's TLS and basic auth cover it all.
func newMux(cfg *config, e *exporter) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle(cfg.telemetry, exposition.NewHandler(e.body, cfg.maxRequests, e.logger))
	if cfg.enablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	// Our own landing page: exporter-toolkit's (v0.20) strips the leading "/" of every link and prefixes the route
	// prefix, so an absolute Documentation URL became /https://github.com/… and 404'd.
	pc := forecastpage.Config{Step: cfg.forecast.Step, Horizons: cfg.forecast.Horizons, TelemetryPath: cfg.telemetry,
		Version: version.Info(), Profiling: cfg.enablePprof, Logger: e.logger, Now: func() time.Time { return e.clock.Now().Wall }}
	if e.forecasts != nil { // not a nil *Forecaster in the interface
		pc.Source = e.forecasts
	}
	pages, err := forecastpage.New(pc)
	if err != nil {
		return nil, err
	}
	if err := pages.Register(mux); err != nil {
		return nil, err
	}
	return mux, nil
}

// newServer returns an HTTP server with limits that keep slow or hostile clients from tying it up.
func newServer(handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
