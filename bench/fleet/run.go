package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/servermon/servermon_exporter/internal/backfill/backfilltest"
	"github.com/servermon/servermon_exporter/internal/childproc"
	"github.com/servermon/servermon_exporter/internal/eventually"
)

// Bounds of a run's steps.
const (
	readyTimeout   = 3 * time.Minute  // every exporter serving and backfilled, at least; readyPerHost more per host
	readyPerHost   = 2 * time.Second  // on 2 vCPUs, 400 hosts' fake /proc and exporters start about one a second
	scrapedTimeout = time.Minute      // every target scraped once
	checkReserve   = time.Minute      // kept from the deadline for the checks and the cleanup
	minPhase       = time.Minute      // the shortest rule phase worth checking
	pollEvery      = 3 * time.Second  // Prometheus' metrics, for the evaluations of every group
	alertsEvery    = 15 * time.Second // ALERTS, for when each alert first appeared
	startWorkers   = 64               // exporters starting and loading their history at once
)

// shmPrefix names the fleet's directory under /dev/shm, followed by the harness's pid.
const shmPrefix = "servermon-fleet-"

// fleet is one run's state.
type fleet struct {
	o     options
	logw  io.Writer
	start time.Time
	root  string // the module's root: rules/, dashboards/
	shm   string // the fake /proc trees (tmpfs)
	work  string // logs, Prometheus' storage, the node-mixin-style rules

	m           model
	hosts, live []*host
	filesystems bool
	fsNote      string
	names       map[string]string // instance → host name

	promProc       *childproc.Process
	prom           *prom
	exporterConfig exporterConfig

	mu         sync.Mutex // guards the live hosts' trees and fill files, and driverErr
	driverErr  error
	driverStop chan struct{}
	driverDone chan struct{}
}

func (f *fleet) logf(format string, args ...any) {
	fmt.Fprintf(f.logw, "%s %s\n", since(f.start), fmt.Sprintf(format, args...))
}

// run runs the fleet and returns what it measured; the error is for a run that could not measure (a failed check is
// in the result).
func run(ctx context.Context, o options, logw io.Writer) (_ *result, err error) {
	if o.hosts < 1 {
		return nil, fmt.Errorf("-hosts=%d", o.hosts)
	}
	if o.history < 7*time.Hour {
		return nil, fmt.Errorf("-history=%s: the rules trust a forecast with 6h of history and the 6h horizon needs 6h32m", o.history)
	}
	ctx, cancel := context.WithTimeout(ctx, o.deadline)
	defer cancel()
	f := &fleet{o: o, logw: logw, start: time.Now(), names: map[string]string{}}
	defer func() {
		if cerr := f.cleanup(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if ctx.Err() != nil && err != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
	}()
	res := &result{o: o, kinds: map[kind]int{}}
	if err := f.setup(ctx, res); err != nil {
		return nil, err
	}
	if err := f.startHosts(ctx, res); err != nil {
		return nil, err
	}
	if err := f.measure(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// setup finds the tools, builds the exporter, probes the namespaces, writes the history and starts Prometheus.
func (f *fleet) setup(ctx context.Context, res *result) error {
	promtool, err := backfilltest.Lookup("promtool")
	if err != nil {
		return err
	}
	promBin, err := backfilltest.Lookup("prometheus")
	if err != nil {
		return err
	}
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		return fmt.Errorf("finding the module's root (go env GOMOD): %v", err)
	}
	f.root = filepath.Dir(strings.TrimSpace(string(gomod)))
	removeStale()
	if f.shm, err = os.MkdirTemp("/dev/shm", shmPrefix+strconv.Itoa(os.Getpid())+"-"); err != nil {
		// Slower (see internal/fakeproc), but works.
		if f.shm, err = os.MkdirTemp("", shmPrefix+strconv.Itoa(os.Getpid())+"-"); err != nil {
			return err
		}
	}
	if f.work, err = os.MkdirTemp("", "servermon-fleet-work-"); err != nil {
		return err
	}
	for _, d := range []string{"logs", "data"} {
		if err := os.Mkdir(filepath.Join(f.work, d), 0o755); err != nil {
			return err
		}
	}
	bin := f.o.exporter
	if bin == "" {
		bin = filepath.Join(f.work, "servermon_exporter")
		t := time.Now()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/servermon_exporter")
		cmd.Dir = f.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the exporter: %w\n%s", err, out)
		}
		f.logf("built the exporter in %v", time.Since(t).Round(time.Millisecond))
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	f.filesystems = !f.o.noNamespaces
	switch {
	case f.o.noNamespaces:
		f.fsNote = "off (-no-namespaces): no filesystem series; the filling hosts run the disk IO scenario"
	default:
		if err := probeNamespaces(self, f.shm); err != nil {
			f.filesystems = false
			f.fsNote = fmt.Sprintf("unavailable (%v): no filesystem series; the filling hosts run the disk IO scenario", err)
		} else {
			f.fsNote = "a tmpfs per host in its exporter's private mount namespace, at " + fsMount + " of its fake mount table"
		}
	}
	f.logf("filesystems: %s", f.fsNote)
	res.fsNote = f.fsNote

	port, err := freePort()
	if err != nil {
		return err
	}
	for i := range f.o.hosts {
		k := scenarioOf(i, f.filesystems)
		if k == bursty && f.o.noBursty {
			k = idle
		}
		h := &host{index: i, kind: k, instance: fmt.Sprintf("127.42.%d.%d:%d", i/250, i%250+1, port),
			dir: filepath.Join(f.shm, hostName(i))}
		f.hosts = append(f.hosts, h)
		f.names[h.instance] = hostName(i) + " (" + h.kind.String() + ")"
		res.kinds[h.kind]++
		if h.kind != down {
			f.live = append(f.live, h)
		}
	}
	res.hosts = len(f.hosts)

	// The history ends at t0, the last scrape before now; the live steps continue it.
	f.m = model{t0: time.Now().Truncate(scrapeInterval)}
	t := time.Now()
	hist := f.m.history(f.hosts, f.o.history, f.o.dailyHistory, f.filesystems)
	res.historySamples = samples(hist)
	if err := buildHistory(ctx, promtool, f.work, filepath.Join(f.work, "data"), hist,
		f.m.t0.Add(-historySpan(daily, f.o.history, f.o.dailyHistory)), f.m.t0.Add(-f.o.history), f.m.t0, 2); err != nil {
		return err
	}
	res.historyTook = time.Since(t)
	f.logf("history: %d samples of %d hosts over %s made into blocks in %v", res.historySamples, len(f.hosts), f.o.history,
		res.historyTook.Round(time.Millisecond))

	f.promProc, res.promURL, err = backfilltest.LaunchPrometheus(ctx, promBin, f.work, filepath.Join(f.work, "data"),
		promConfig(nil, nil), "--web.enable-lifecycle", "--storage.tsdb.retention.time=30d")
	if err != nil {
		return err
	}
	f.prom = newProm(res.promURL, f.work)
	f.logf("Prometheus is up at %s", res.promURL)
	f.exporterConfig = exporterConfig{bin: bin, self: self, promURL: res.promURL, logDir: filepath.Join(f.work, "logs"),
		namespace: f.filesystems, history: max(f.o.dailyHistory, 8*24*time.Hour)}
	return nil
}

// freePort returns a port free on the fleet's first address a moment ago: every host listens on it, each on its
// own address.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.42.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("a free port on 127.42.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale removes the /dev/shm trees of fleet runs whose process is gone (a run that was killed outright).
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join("/dev/shm", shmPrefix+"*-*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), shmPrefix)
		pid, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '-'))])
		if err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// startHosts writes the live hosts' fake /proc, starts the driver and the exporters, waits until every exporter has
// loaded its history, and has Prometheus scrape them all.
func (f *fleet) startHosts(ctx context.Context, res *result) error {
	now := time.Now()
	for _, h := range f.live {
		if err := h.newTree(f.m, f.m.t0.Add(-historySpan(h.kind, f.o.history, f.o.dailyHistory)), now, f.filesystems); err != nil {
			return fmt.Errorf("%s: %w", h.name(), err)
		}
	}
	f.driverStop, f.driverDone = make(chan struct{}), make(chan struct{})
	go f.drive()

	// A rolling start: startWorkers exporters start and load their history at a time, the next one when one is
	// ready, as a fleet is restarted in batches. All at once, the backfills of 380 exporters from one Prometheus
	// (on the 2 vCPUs this was measured on) ran past their deadline, and the exporters forecast from live samples
	// only (docs/scale.md).
	t := time.Now()
	rctx, cancel := context.WithTimeout(ctx, max(readyTimeout, time.Duration(len(f.live))*readyPerHost))
	defer cancel()
	errs := make([]error, len(f.live))
	next := make(chan int)
	var wg sync.WaitGroup
	for range startWorkers {
		wg.Go(func() {
			for i := range next {
				h := f.live[i]
				f.mu.Lock()
				err := h.start(f.m, f.exporterConfig, time.Now())
				f.mu.Unlock()
				if err != nil {
					errs[i] = err
					continue
				}
				fill, err := h.ready(rctx)
				errs[i] = err
				f.mu.Lock()
				h.fill = fill
				f.mu.Unlock()
			}
		})
	}
	for i := range f.live {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	res.startTook = time.Since(t)
	f.logf("%d exporters serving, their history loaded, in %v", len(f.live), res.startTook.Round(time.Millisecond))
	mfs, err := f.prom.metrics(ctx)
	if err != nil {
		return err
	}
	res.rssBase = single(mfs, "process_resident_memory_bytes")

	if err := f.prom.reload(ctx, promConfig(f.hosts, nil)); err != nil {
		return err
	}
	sctx, cancel2 := context.WithTimeout(ctx, scrapedTimeout)
	defer cancel2()
	want := float64(len(f.hosts))
	err = eventually.Poll(sctx, func() error {
		n, err := f.prom.scalar(sctx, `count(up{job="servermon"}) or vector(0)`, time.Time{})
		if err != nil || n != want {
			return fmt.Errorf("%v targets scraped of %v (%v)", n, want, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the first scrapes: %w", err)
	}
	f.logf("every target scraped")
	return nil
}

// drive advances and writes every live host's fake /proc every second until driverStop is closed.
func (f *fleet) drive() {
	defer close(f.driverDone)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-f.driverStop:
			return
		case now := <-tick.C:
			f.mu.Lock()
			for _, h := range f.live {
				if err := h.step(f.m, now); err != nil {
					f.driverErr = err
					f.mu.Unlock()
					return
				}
			}
			f.mu.Unlock()
		}
	}
}

// alive returns an error if the driver, Prometheus or an exporter stopped.
func (f *fleet) alive() error {
	f.mu.Lock()
	err := f.driverErr
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("fake /proc driver: %w", err)
	}
	if err := f.promProc.Alive(); err != nil {
		return fmt.Errorf("%w\n%s", err, f.promProc.LogTail(20))
	}
	for _, h := range f.live {
		if err := h.proc.Alive(); err != nil {
			return fmt.Errorf("%w\n%s", err, h.proc.LogTail(20))
		}
	}
	return nil
}

// measure loads the rules, lets them run for the rule phase while reading their evaluation times, and checks the
// alerts, the records and the dashboard at the end.
func (f *fleet) measure(ctx context.Context, res *result) error {
	nm := filepath.Join(f.work, "node-mixin-style.yml")
	if err := os.WriteFile(nm, []byte(nodeMixinRules), 0o644); err != nil {
		return err
	}
	alertsFile := filepath.Join(f.root, "rules", "servermon-alerts.yml")
	rules, err := loadAlertRules(alertsFile)
	if err != nil {
		return err
	}
	files := []string{alertsFile, filepath.Join(f.root, "rules", "servermon-records.yml"), nm}
	if err := f.prom.reload(ctx, promConfig(f.hosts, files)); err != nil {
		return err
	}
	rulesAt := time.Now()
	deadline, _ := ctx.Deadline()
	end := rulesAt.Add(f.o.phase)
	if latest := deadline.Add(-checkReserve); end.After(latest) {
		end = latest
	}
	if end.Sub(rulesAt) < minPhase {
		return fmt.Errorf("the setup took %v: no time left for a rule phase of at least %v within -deadline=%v",
			rulesAt.Sub(f.start).Round(time.Second), minPhase, f.o.deadline)
	}
	f.logf("rules loaded; checking at %s (a rule phase of %v)", end.Format("15:04:05"), end.Sub(rulesAt).Round(time.Second))
	c := newCosts()
	first := map[alertID]time.Duration{}
	lastAlerts := time.Time{}
	for {
		if err := f.alive(); err != nil {
			return err
		}
		mfs, err := f.prom.metrics(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		c.add(now, mfs)
		groups, err := f.prom.rules(ctx)
		if err != nil {
			return err
		}
		c.addRules(groups)
		if now.Sub(lastAlerts) >= alertsEvery {
			lastAlerts = now
			active, err := f.prom.query(ctx, `ALERTS{alertname=~"Servermon.+"}`, time.Time{})
			if err != nil {
				return err
			}
			for _, s := range active {
				id := alertID{s.labels["alertname"], s.labels["severity"], s.labels["instance"], alertDetail(s.labels)}
				if _, ok := first[id]; !ok {
					first[id] = now.Sub(rulesAt)
				}
			}
		}
		if !now.Before(end) {
			break
		}
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-time.After(min(pollEvery, time.Until(end))):
		}
	}
	at := time.Now()
	res.phase = at.Sub(rulesAt)
	f.logf("rule phase over; checking")

	ours, err := fetchAlerts(ctx, f.prom, "Servermon.+", rulesAt, at)
	if err != nil {
		return err
	}
	theirs, err := fetchAlerts(ctx, f.prom, "NodeMixinStyle.+", rulesAt, at)
	if err != nil {
		return err
	}
	res.alerts = scoreAlerts(rules, expectedSet(f.hosts), ours, theirs, first, f.names)

	ch := &checker{ctx: ctx, p: f.prom, at: at, names: map[string]string{}}
	for inst, name := range f.names {
		ch.names[inst] = name[:4] // hNNN
	}
	truth := f.m.truth(f.hosts, f.filesystems, at)
	ch.checkRecords(truth, f.filesystems)
	anomalous, err := f.prom.scalar(ctx, `job:servermon_hosts_anomalous:count{job="servermon"}`, at)
	if err != nil {
		return err
	}
	res.anomalous = anomalous
	if err := ch.checkDashboard(filepath.Join(f.root, "dashboards", "servermon-fleet.json"), truth, anomalous, res.phase); err != nil {
		return err
	}
	res.checks = ch.checks

	for _, g := range ourGroups {
		res.ours = append(res.ours, c.group(g))
	}
	for _, g := range theirGroups {
		res.theirs = append(res.theirs, c.group(g))
	}
	res.oursMean, res.evaluations = c.side(ourGroups)
	theirMean, n := c.side(theirGroups)
	res.theirsMean, res.evaluations = theirMean, min(res.evaluations, n)
	res.rules, res.oursEquivalent, res.theirsEquivalent = c.ruleCosts()
	res.samplesPerSecond = c.samplesPerSecond()
	res.rss = c.maxRSS()
	mfs, err := f.prom.metrics(ctx)
	if err != nil {
		return err
	}
	res.headSeries = single(mfs, "prometheus_tsdb_head_series")
	for _, q := range []struct {
		dst  *float64
		expr string
	}{
		{&res.upHosts, `count(up{job="servermon"} == 1) or vector(0)`},
		{&res.seriesPerHost, `avg(scrape_samples_post_metric_relabeling{job="servermon"} and on (instance) up == 1)`},
		{&res.windowSamples, `avg(count_over_time(servermon_memory_usage_ratio[6h]) and on (instance) up == 1)`},
		{&res.scrapedPerSecond, `sum(scrape_samples_scraped{job="servermon"}) / 15`},
	} {
		if *q.dst, err = f.prom.scalar(ctx, q.expr, at); err != nil {
			return err
		}
	}
	if f.o.pause {
		f.logf("pausing for inspection (-pause): Prometheus at %s, exporters' logs in %s; Ctrl-C ends the run", res.promURL, f.exporterConfig.logDir)
		<-ctx.Done()
	}
	if math.IsNaN(res.oursMean) || math.IsNaN(res.theirsMean) || math.IsNaN(res.ratio()) {
		return fmt.Errorf("too few rule evaluations to compare (%d groups' evaluations: %v)", len(c.evals), c.evals)
	}
	return nil
}

// cleanup stops everything the run started and removes its directories. It can be called on a half-started run.
func (f *fleet) cleanup() error {
	if f.driverStop != nil {
		close(f.driverStop)
		<-f.driverDone
	}
	errs := make([]error, len(f.live))
	var wg sync.WaitGroup
	for i, h := range f.live {
		wg.Go(func() {
			if err := h.stop(); err != nil && !errors.Is(err, childproc.ErrKilled) {
				errs[i] = fmt.Errorf("%s: %w", h.name(), err)
			}
		})
	}
	wg.Wait()
	if f.promProc != nil {
		if _, err := f.promProc.Stop(30 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []string{f.shm, f.work} {
		if d != "" {
			errs = append(errs, os.RemoveAll(d))
		}
	}
	return errors.Join(errs...)
}
