package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
)

// newMux routes the telemetry path, the landing page and, when enabled, pprof.
func newMux(cfg *config, metrics http.Handler) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle(cfg.telemetry, metrics)
	if cfg.enablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "Servermon Exporter",
		Description: "Host CPU, memory, swap, load, pressure and disk IO gauges with in-process forecasts",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: cfg.telemetry, Text: "Metrics"},
			{Address: "https://github.com/servermon/servermon_exporter", Text: "Documentation"},
		},
		Profiling: strconv.FormatBool(cfg.enablePprof),
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", landing)
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
