package main

import (
	"context"
	"fmt"
	"time"
)

// pair holds one figure for both exporters.
type pair struct{ sm, ne float64 }

// runMode measures both exporters on one procfs and prints the comparison.
func runMode(ctx context.Context, cfg config, mode string) error {
	path, desc, err := procTree(cfg, mode, cfg.synthCPUs, cfg.synthDisks)
	if err != nil {
		return err
	}
	var extra []string
	if mode == "proc" { // the state's disk series are this machine's (vda on the benchmark VM)
		if extra, err = stateCopy(cfg); err != nil {
			return err
		}
		if extra != nil {
			desc += ", servermon_exporter starting from 8 days of forecast history"
		}
	}
	launched := time.Now()
	sm, ne, err := startPair(cfg, path, extra...)
	if err != nil {
		return err
	}
	defer sm.stop()
	defer ne.stop()
	exps := []*exporter{sm, ne}
	scrapers := []*scraper{newScraper(sm.url), newScraper(ne.url)}
	defer scrapers[0].close()
	defer scrapers[1].close()

	// Warm-up: a few samples and the first refresh of the runtime metrics, connections open.
	if err := waitCtx(ctx, 5*time.Second); err != nil {
		return err
	}
	if _, err := alternate(ctx, scrapers, 20, 10*time.Second); err != nil {
		return err
	}

	// Latency and CPU per scrape, alternating over keep-alive connections.
	cpu0, err := cpuTimes(exps)
	if err != nil {
		return err
	}
	start := time.Now()
	lat, err := alternate(ctx, scrapers, cfg.latencyScrapes, 2*time.Minute)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	cpu1, err := cpuTimes(exps)
	if err != nil {
		return err
	}
	n := float64(len(lat[0]))
	// servermon_exporter samples in the background meanwhile; its per-second cost is taken out below, once
	// measured.
	perScrape := pair{float64(cpu1[0]-cpu0[0]) / n, float64(cpu1[1]-cpu0[1]) / n}

	// CPU per minute: servermon_exporter samples every second and forecasts; both are scraped 4 times a minute.
	// The steady state of an agent that runs for months, so past both exporters' start-up work.
	if err := waitCtx(ctx, time.Until(launched.Add(cfg.cpuSettle))); err != nil {
		return err
	}
	cpu0, err = cpuTimes(exps)
	if err != nil {
		return err
	}
	windowStart := time.Now()
	scrapes := 0
	for t := time.Duration(0); t < cfg.cpuWindow; t += 15 * time.Second {
		if err := waitCtx(ctx, time.Until(windowStart.Add(t))); err != nil {
			return err
		}
		if _, err := alternate(ctx, scrapers, 1, 10*time.Second); err != nil {
			return err
		}
		scrapes++
	}
	if err := waitCtx(ctx, time.Until(windowStart.Add(cfg.cpuWindow))); err != nil {
		return err
	}
	cpu1, err = cpuTimes(exps)
	if err != nil {
		return err
	}
	window := time.Since(windowStart)
	perMinute := pair{float64(cpu1[0]-cpu0[0]) * float64(time.Minute) / float64(window), float64(cpu1[1]-cpu0[1]) * float64(time.Minute) / float64(window)}
	// Background cost per second, without scrapes: subtract the 4 scrapes at the per-scrape cost.
	background := (perMinute.sm - float64(scrapes)*float64(time.Minute)/float64(window)*perScrape.sm) / 60
	perScrape.sm -= background * elapsed.Seconds() / n
	mem, err := memoryOf(exps)
	if err != nil {
		return err
	}

	// 10 000 scrapes in all, one after the other as Prometheus would (faster), then the RSS.
	done := int(n) + 20 + scrapes
	if _, err := alternate(ctx, scrapers[:1], cfg.memoryScrapes-done, 5*time.Minute); err != nil {
		return err
	}
	memScraped, err := sm.memory()
	if err != nil {
		return err
	}
	// Prometheus would take those 10 000 scrapes 15 s apart, 42 hours; here they came within seconds, and the
	// runtime returns the heap they churned to the kernel in the background. One scrape interval later:
	if err := waitCtx(ctx, 15*time.Second); err != nil {
		return err
	}
	memSettled, err := sm.memory()
	if err != nil {
		return err
	}

	// Parallel scraping of servermon_exporter, then its RSS after all those scrapes.
	b := burst(ctx, sm.url, cfg.workers, cfg.burstTime, cfg.burstMax)
	memAfter, err := sm.memory()
	if err != nil {
		return err
	}
	total := b.ok + b.unavailable + b.otherStatus + b.errors + max(done, cfg.memoryScrapes)

	w := cfg.out
	fmt.Fprintf(w, "\n## %s\n\n", desc)
	fmt.Fprintf(w, "| | servermon_exporter | node_exporter | ratio | target |\n|---|---:|---:|---:|---|\n")
	row := func(name string, p pair, scale float64, unit string, limit float64) {
		ratio := p.sm / p.ne
		verdict := ""
		if limit > 0 {
			verdict = fmt.Sprintf("≤ %.2g× %s", limit, passFail(ratio <= limit))
		}
		fmt.Fprintf(w, "| %s | %.3g %s | %.3g %s | %.2f | %s |\n", name, p.sm/scale, unit, p.ne/scale, unit, ratio, verdict)
	}
	ms := float64(time.Millisecond)
	row(fmt.Sprintf("scrape latency median (%d alternating scrapes)", int(n)), pair{float64(lat[0].quantile(0.5)), float64(lat[1].quantile(0.5))}, ms, "ms", 0.3)
	row("scrape latency p99", pair{float64(lat[0].quantile(0.99)), float64(lat[1].quantile(0.99))}, ms, "ms", 0.4)
	row("CPU per scrape", perScrape, ms, "ms", 0)
	row(fmt.Sprintf("CPU per minute (%d scrapes in %s from %s after start; servermon also samples every 1 s)", scrapes, window.Round(time.Second), windowStart.Sub(launched).Round(time.Second)), perMinute, ms, "ms", 1.0)
	row("RSS after the CPU window", pair{mem[0].rss, mem[1].rss}, 1<<20, "MiB", 0)
	fmt.Fprintf(w, "\nservermon_exporter background (sampling at 1 s, forecasting, runtime metrics): %.1f µs CPU per second.\n", background/1e3)
	fmt.Fprintf(w, "\n%d parallel scrapers of servermon_exporter for %s (at most %d scrapes): %d × 200, %d × 503 (over --web.max-requests), %d other statuses, %d errors",
		cfg.workers, cfg.burstTime, cfg.burstMax, b.ok, b.unavailable, b.otherStatus, b.errors)
	if b.firstErr != nil {
		fmt.Fprintf(w, " (first: %v)", b.firstErr)
	}
	fmt.Fprintf(w, "; 200 latency median %.3g ms, p99 %.3g ms. %s\n", float64(b.lat.quantile(0.5))/ms, float64(b.lat.quantile(0.99))/ms,
		passFail(b.errors == 0 && b.otherStatus == 0))
	fmt.Fprintf(w, "\nRSS after the CPU window: servermon_exporter %s, node_exporter %s.\n", mem[0], mem[1])
	fmt.Fprintf(w, "\nservermon_exporter RSS after %d scrapes one after the other: %s at once, %s 15 s later (target ≤ 16 MiB: %s); after the parallel scraping as well (%d scrapes): %s.\n",
		max(done, cfg.memoryScrapes), memScraped, memSettled, passFail(memScraped.rss <= 16<<20), total, memAfter)
	return nil
}

func passFail(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

func cpuTimes(exps []*exporter) ([]time.Duration, error) {
	out := make([]time.Duration, len(exps))
	for i, e := range exps {
		var err error
		if out[i], err = e.cpuTime(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func memoryOf(exps []*exporter) ([]memory, error) {
	out := make([]memory, len(exps))
	for i, e := range exps {
		var err error
		if out[i], err = e.memory(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// runScale prints cost curves over CPUs and disks on fake /proc trees, per-CPU gauges on.
func runScale(ctx context.Context, cfg config) error {
	w := cfg.out
	fmt.Fprintf(w, "\n## Scale: fake /proc trees, servermon_exporter with --collector.cpu.per-cpu\n\n"+
		"CPU per sample: all of servermon_exporter's CPU over %s without scrapes (samples, forecasts, runtime metrics), per sample. "+
		"Scrape medians over 100 alternating scrapes; RSS 40 s after start.\n\n", cfg.scaleWindow)
	fmt.Fprintf(w, "| CPUs | disks | servermon CPU per sample | servermon scrape median | servermon RSS | node_exporter CPU per scrape | node_exporter scrape median | node_exporter RSS |\n")
	fmt.Fprintf(w, "|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, size := range [][2]int{{2, 1}, {8, 1}, {32, 1}, {128, 1}, {2, 16}, {2, 64}, {2, 256}, {128, 256}} {
		path, _, err := procTree(cfg, "synthetic", size[0], size[1])
		if err != nil {
			return err
		}
		sm, ne, err := startPair(cfg, path, "--collector.cpu.per-cpu")
		if err != nil {
			return err
		}
		r, err := scalePoint(ctx, cfg, sm, ne)
		sm.stop()
		ne.stop()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "| %d | %d | %.1f µs | %.3f ms | %.1f MiB | %.2f ms | %.3f ms | %.1f MiB |\n", size[0], size[1],
			r.perSample/1e3, r.scrape.sm/1e6, r.rss.sm/(1<<20), r.nePerScrape/1e6, r.scrape.ne/1e6, r.rss.ne/(1<<20))
	}
	return nil
}

type scaleResult struct {
	perSample, nePerScrape float64
	scrape, rss            pair
}

func scalePoint(ctx context.Context, cfg config, sm, ne *exporter) (scaleResult, error) {
	var r scaleResult
	started := time.Now()
	if err := waitCtx(ctx, 3*time.Second); err != nil {
		return r, err
	}
	c0, err := sm.cpuTime()
	if err != nil {
		return r, err
	}
	start := time.Now()
	if err := waitCtx(ctx, cfg.scaleWindow); err != nil {
		return r, err
	}
	c1, err := sm.cpuTime()
	if err != nil {
		return r, err
	}
	r.perSample = float64(c1-c0) / time.Since(start).Seconds() // one sample a second
	scrapers := []*scraper{newScraper(sm.url), newScraper(ne.url)}
	defer scrapers[0].close()
	defer scrapers[1].close()
	n0, err := ne.cpuTime()
	if err != nil {
		return r, err
	}
	lat, err := alternate(ctx, scrapers, 100, time.Minute)
	if err != nil {
		return r, err
	}
	n1, err := ne.cpuTime()
	if err != nil {
		return r, err
	}
	r.nePerScrape = float64(n1-n0) / float64(len(lat[1]))
	r.scrape = pair{float64(lat[0].quantile(0.5)), float64(lat[1].quantile(0.5))}
	if err := waitCtx(ctx, time.Until(started.Add(40*time.Second))); err != nil { // past the startup trim (30 s)
		return r, err
	}
	ms, err := memoryOf([]*exporter{sm, ne})
	if err != nil {
		return r, err
	}
	r.rss = pair{ms[0].rss, ms[1].rss}
	return r, nil
}
