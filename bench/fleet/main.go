// Command fleet runs a fleet of servermon_exporter processes against one real Prometheus and checks what the fleet
// views say (make fleet, HOSTS=N). Each of the N hosts is a fake /proc (internal/fakeproc, under /dev/shm) driven by
// a scenario — idle, a daily cycle, a memory leak, a filesystem filling up, bursty CPU, CPU or disk IO climbing to
// saturation, a failing collector, an exporter that is down — with a filesystem of its own (a tmpfs in a private
// mount namespace) and the history of the hours before the run in Prometheus (promtool blocks, 15 s scrapes), which
// the exporter loads at start (--forecast.backfill.url), so its forecasts are trusted at once. Prometheus (Debian's
// 2.42) scrapes every host every 15 s and evaluates the shipped rules, and beside them node-mixin-style
// predict_linear equivalents over the same gauges. At the end the run scores every alert against the scenarios,
// checks the fleet records and every query of the fleet dashboard, and compares the rules' evaluation times.
//
//	go run ./bench/fleet -hosts=200        # about 8 minutes
//
// It prints tables and ends with the line
//
//	hosts=N up=M alert_precision=P alert_recall=R rule_eval_ratio=X series_per_host=S
//
// and exits 1 when a check failed. Everything runs on loopback (addresses in 127.42.0.0/16), is bounded by
// -deadline, and is stopped and removed at the end, on an error and on Ctrl-C: the processes, the fake /proc trees,
// Prometheus' storage; the mounts live in the exporters' namespaces and go with them. docs/scale.md has the results
// and what they mean beyond one Prometheus.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options of one run.
type options struct {
	hosts        int
	history      time.Duration // before the run, at 15 s
	dailyHistory time.Duration // of the daily-cycle hosts, at 1 m before history
	phase        time.Duration // rules on, until the checks
	deadline     time.Duration // of the whole run
	exporter     string        // a built exporter; empty builds one
	noNamespaces bool          // run without filesystems, as where the kernel refuses namespaces
	pause        bool          // wait for Ctrl-C before the cleanup, to look at the running fleet
	noBursty     bool          // the bursty hosts run the idle scenario (TestFleet: the bursty false positive is open)
}

func main() {
	runHelper()
	o := options{}
	flag.IntVar(&o.hosts, "hosts", 200, "hosts (exporters, one of them down for every 20)")
	flag.DurationVar(&o.history, "history", 8*time.Hour, "history in Prometheus before the run, scraped every 15 s: at least the 6h the rules' trust gate and node-mixin's predict_linear window need, and the 6h32m the exporter's 6h horizon needs")
	flag.DurationVar(&o.dailyHistory, "daily-history", 21*24*time.Hour, "history of the daily-cycle hosts (at 1 m before the last -history), and every exporter's --forecast.history (at least 8d): the forecast's 6h interval on a daily cycle takes about 9 days to calibrate (docs/scale.md)")
	flag.DurationVar(&o.phase, "duration", 5*time.Minute+30*time.Second, "how long the rules run before the checks: past ServermonExporterDown's for: 5m")
	flag.DurationVar(&o.deadline, "deadline", 10*time.Minute, "bound of the whole run; the rule phase is cut short to fit")
	flag.StringVar(&o.exporter, "exporter", "", "servermon_exporter binary (default: built from this checkout)")
	flag.BoolVar(&o.noNamespaces, "no-namespaces", false, "run without the hosts' filesystems, as where the kernel refuses mount namespaces: the filling hosts run the disk IO scenario")
	flag.BoolVar(&o.pause, "pause", false, "after the checks, leave everything running until Ctrl-C (or -deadline), to look at it")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o, os.Stderr)
	if res != nil {
		res.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
	if !res.ok() {
		fmt.Fprintln(os.Stderr, "fleet: checks failed (see the tables)")
		os.Exit(1)
	}
}

// errInterrupted is returned when the run is cancelled.
var errInterrupted = errors.New("interrupted")

// since formats the time since start for the progress log.
func since(start time.Time) string { return fmt.Sprintf("[+%5.1fs]", time.Since(start).Seconds()) }
