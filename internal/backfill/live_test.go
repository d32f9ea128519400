package backfill

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/backfill/backfilltest"
	"github.com/servermon/servermon_exporter/internal/childproc"
	"github.com/servermon/servermon_exporter/internal/exposition"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// TestBackfilledMatchesLive runs, on this machine's /proc, the exporter's sampler and forecaster (serving its
// gauges) and a real node_exporter, both scraped by a real Prometheus, for about 40 steps of 2 s. Then it loads
// that period from Prometheus, once from node_exporter's series and once from the exporter's own, and compares
// every target with what the forecaster measured live over the same steps: the expressions must give the
// exporter's own numbers. The tolerances allow for what differs between the two: node_exporter's reads are scrape
// times apart, not the exporter's 100 ms, and the exporter's own gauges are window means.
func TestBackfilledMatchesLive(t *testing.T) {
	nodeBin := backfilltest.Require(t, "prometheus-node-exporter", "node_exporter")
	const (
		step      = 2 * time.Second
		steps     = 40
		scrape    = 250 * time.Millisecond
		interval  = 100 * time.Millisecond
		history   = 24 * time.Hour
		sampleWin = step
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// The exporter's side, in process.
	f, err := forecaster.New(forecaster.Config{Step: step, History: history, Horizons: []time.Duration{10 * time.Second}, AnomalyThreshold: 4})
	if err != nil {
		t.Fatal(err)
	}
	proc, err := collector.NewProcFS("/proc")
	if err != nil {
		t.Fatal(err)
	}
	disk := collector.DiskConfig{Exclude: regexp.MustCompile(collector.DefaultDiskExclude)}
	mounts := collector.FilesystemConfig{MountPointsExclude: regexp.MustCompile(collector.DefaultMountPointsExclude),
		FSTypesExclude: regexp.MustCompile(collector.DefaultFSTypesExclude)}
	sources := collector.NewSources(proc, collector.Config{Disk: disk, Filesystem: mounts}, func(n string) bool { return n != "pressure" })
	sampler, err := collector.NewSampler(collector.SamplerConfig{Interval: interval, Window: sampleWin, Timeout: interval, SlowInterval: 0}, sources, f)
	if err != nil {
		t.Fatal(err)
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() { defer close(sampled); sampler.Run(sampleCtx) }()
	defer func() { stopSampling(); <-sampled }()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: exposition.NewHandler(exposition.NewBody(sampler.Seq, sampler, buildInfo{}), 0, nil), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	ownAddr := l.Addr().String()

	nodeAddr := backfilltest.FreeAddr(t)
	node := childproc.StartTest(t, "node_exporter", dir, nodeBin, "--web.listen-address="+nodeAddr, "--collector.disable-defaults",
		"--collector.cpu", "--collector.meminfo", "--collector.loadavg", "--collector.diskstats")
	if err := node.WaitReady(ctx, "http://"+nodeAddr+"/metrics"); err != nil {
		t.Fatal(err)
	}
	_, url := backfilltest.Prometheus(ctx, t, dir, filepath.Join(dir, "data"), fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
scrape_configs:
  - job_name: node
    static_configs: [{targets: [%[2]q]}]
  - job_name: servermon
    static_configs: [{targets: [%[3]q]}]
`, scrape, nodeAddr, ownAddr))

	time.Sleep((steps + 3) * step)
	views := f.Views(steps + 3)
	live := map[string]map[time.Time]float64{}
	var newest time.Time
	for _, v := range views {
		m := map[time.Time]float64{}
		for i, x := range v.Observed {
			m[v.LastStep.Add(time.Duration(i-len(v.Observed)+1)*step)] = x
		}
		live[recordKey(v.Target, v.LabelValues)] = m
		if v.LastStep.After(newest) {
			newest = v.LastStep
		}
	}
	// The period compared: the steps both have, from when Prometheus had scraped twice to the newest live step.
	end := newest
	from := end.Add(-(steps - 4) * step)
	// Tolerances by target: of the difference of the means over the period (a wrong definition shows there), and of
	// the mean absolute difference per step (sampling: node_exporter's reads are 250 ms apart, the exporter's own
	// gauges window means). Bytes per second are relative to the level, with a floor for an idle disk.
	type tolerance struct{ bias, step float64 }
	ratios := map[string]tolerance{"cpu_usage_ratio": {0.02, 0.08}, "memory_usage_ratio": {0.002, 0.003},
		"swap_usage_ratio": {0.002, 0.003}, "load1": {0.03, 0.05}, "disk_utilization_ratio": {0.02, 0.08},
		"filesystem_usage_ratio": {0.002, 0.003}, "filesystem_inodes_usage_ratio": {0.002, 0.003}}
	for _, src := range []struct{ name, selector string }{
		{SourceNode, fmt.Sprintf("instance=%q", nodeAddr)},
		{SourceServermon, fmt.Sprintf("instance=%q", ownAddr)},
	} {
		var logs strings.Builder
		b := newTestBackfiller(t, url, src.selector, step, end.Sub(from), &logs)
		b.cfg.Disk, b.cfg.Filesystem, b.cfg.Window = disk, mounts, sampleWin
		hs := hostHoldings(false)
		for _, v := range views { // the disks and mounts the exporter found
			if v.Target.PerDevice() {
				hs = append(hs, forecaster.Holding{Target: v.Target, LabelNames: v.LabelNames, LabelValues: v.LabelValues})
			}
		}
		fake := newFakeForecaster(end, step, hs...)
		if err := runWithin(t, b, fake, 30*time.Second); err != nil {
			t.Fatalf("%s: %v\n%s", src.name, err, logs.String())
		}
		if got := metric(b, `servermon_forecast_backfill_samples_total{source="`+src.name+`"}`); got == 0 {
			t.Errorf("%s: nothing loaded from it", src.name)
		}
		for key, got := range fake.got {
			want := live[key]
			target := key[:strings.Index(key, "{")]
			var diff, sumGot, sumWant, peak float64
			n := 0
			for s, g := range got {
				if w, ok := want[s]; ok && !s.Before(from) {
					diff += math.Abs(g - w)
					sumGot, sumWant = sumGot+g, sumWant+w
					peak = max(peak, w, g)
					n++
				}
			}
			if n < steps/2 {
				t.Errorf("%s %s: only %d steps to compare (loaded %d, live %d)", src.name, key, n, len(got), len(want))
				continue
			}
			mad, meanGot, meanWant := diff/float64(n), sumGot/float64(n), sumWant/float64(n)
			tol, ok := ratios[target]
			if !ok {
				// A burst of IO (the machine's other work) at either end of the period may fall into the step
				// inside it by one clock and the step outside it by the other: the means may differ by one step's
				// worth at each end, 2·peak/n.
				tol = tolerance{0.15*meanWant + 64<<10 + 2*peak/float64(n), 0.5*meanWant + 256<<10}
			}
			t.Logf("%s %s: %d steps, mean %.4g backfilled vs %.4g live, mean absolute difference %.4g (tolerances %.4g, %.4g)",
				src.name, key, n, meanGot, meanWant, mad, tol.bias, tol.step)
			if math.Abs(meanGot-meanWant) > tol.bias || mad > tol.step {
				t.Errorf("%s %s: backfilled mean %.4g vs %.4g live, mean absolute difference %.4g: more than %.4g, %.4g",
					src.name, key, meanGot, meanWant, mad, tol.bias, tol.step)
			}
		}
		for _, key := range []string{"cpu_usage_ratio{}", "memory_usage_ratio{}", "load1{}"} {
			if len(fake.got[key]) == 0 {
				t.Errorf("%s: %s not loaded", src.name, key)
			}
		}
	}
}

// buildInfo is the exporter's servermon_build_info, by which the backfill finds its series.
type buildInfo struct{}

func (buildInfo) AppendMetrics(b []byte) []byte {
	b = exposition.AppendHeader(b, "servermon_build_info", "Build information.", exposition.Gauge)
	return exposition.AppendSample(b, "servermon_build_info", `{version="test"}`, 1)
}
