package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/servermon/servermon_exporter/collector"
)

const contentType = "text/plain; version=0.0.4; charset=utf-8"

// metricsHandler serves the pre-rendered body of the latest sample. Scrapes never touch /proc; beyond maxRequests
// concurrent scrapes it answers 503 rather than queueing.
type metricsHandler struct {
	sampler *collector.Sampler
	slots   chan struct{}
	logger  *slog.Logger
}

func newMetricsHandler(s *collector.Sampler, maxRequests int, logger *slog.Logger) *metricsHandler {
	h := &metricsHandler{sampler: s, logger: logger}
	if maxRequests > 0 {
		h.slots = make(chan struct{}, maxRequests)
	}
	return h
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.slots != nil {
		select {
		case h.slots <- struct{}{}:
			defer func() { <-h.slots }()
		default:
			http.Error(w, "too many concurrent scrapes, try again later", http.StatusServiceUnavailable)
			return
		}
	}
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	body, err := h.sampler.Exposition(gz)
	if err != nil {
		h.logger.Error("rendering metrics", "err", err)
		http.Error(w, "internal error rendering metrics", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Add("Vary", "Accept-Encoding")
	if gz {
		hdr.Set("Content-Encoding", "gzip")
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body) // a client that hung up is no fault of ours
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip (and does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// newMux routes the telemetry path, the landing page and, when enabled, pprof.
func newMux(cfg *config, metrics http.Handler, logger *slog.Logger) (*http.ServeMux, error) {
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
