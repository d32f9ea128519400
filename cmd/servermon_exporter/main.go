// Command servermon_exporter serves host CPU, memory, swap, load, pressure and disk IO gauges sampled from /proc in
// the background, with forecasts of them, for Prometheus.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	servermon "github.com/servermon/servermon_exporter"
	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/selfmetrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	servermon.StampVersion()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// run is the whole program: it returns the exit status once ctx is cancelled or serving fails.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, errExit) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "servermon_exporter: %v\n", err)
		return 2
	}
	// The process-wide runtime defaults belong to the program, not to every exporter a test builds.
	selfmetrics.ApplyRuntimeDefaults()
	cfg.log.Writer = stderr
	logger := promslog.New(&cfg.log)
	logger.Info("starting servermon_exporter", "version", version.Info(), "build_context", version.BuildContext())

	exp, err := newExporter(cfg, logger, clock.NewSystem())
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	defer exp.close()
	exp.loadState()
	exp.holdForBackfill()

	mux, err := newMux(cfg, exp)
	if err != nil {
		logger.Error("cannot build the web pages", "err", err)
		return 1
	}
	srv := newServer(mux, logger)

	sampleCtx, stopSampling := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { exp.sampler.Run(sampleCtx) })
	wg.Go(func() { exp.runBackfill(sampleCtx) })
	if exp.keeper != nil {
		wg.Go(func() { exp.keeper.Run(sampleCtx, cfg.forecast.stateInterval) })
	}

	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(srv, cfg.web, logger) }()

	status := 0
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving failed", "err", err)
			status = 1
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("shutting the web server down", "err", err)
	}
	stopSampling()
	wg.Wait()
	if err := exp.saveState(); err != nil && status == 0 {
		status = 1 // the history of this run is lost: say so to the service manager
	}
	return status
}
