// Command fsfill compares our filesystem fill forecast and rule (forecast.Fill's ETA, the trust gate and
// ServermonFilesystemFillingUp's thresholds and `for`) with node-mixin's NodeFilesystemSpaceFillingUp alerts on
// generated filesystems: steady growth to full, a new node that fills fast and stops, daily cleanup and weekly GC
// sawtooths, temporary-file bursts, log rotation, resizes, a fill after a resize and a cleanup that stops. Every run
// draws its parameters and noise from its seed; node-mixin's rules are evaluated by promtool on the same series,
// scraped once a minute.
//
//	go run ./bench/fsfill                 # 12 seeds per scenario, a few minutes
//	go run ./bench/fsfill -seeds=3 -quick # shorter runs
//
// It prints a table per scenario and ends with one line:
//
//	false_alarm_hours servermon=X node_mixin=Y missed_fills servermon=A node_mixin=B lead_time_vs_node_mixin_min=L
//
// X and Y are the hours in which either severity fired on filesystems that did not fill (scored, for the sawtooth
// scenarios, from the second cleanup on), A and B the fills without any alert before the filesystem was full, and L
// the smallest, over the fills, of node-mixin's first alert minus ours, in minutes: the first alert of either
// severity that starts at or after the fill's onset (a miss counts as given when the filesystem is full). The table
// also gives the smallest lead counting warnings only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
)

func fmtParams(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// options of one bench run.
type options struct {
	seeds    int
	first    uint64
	quick    bool
	only     string
	names    []string // exactly these scenarios, when set (else those containing only)
	promtool string
	workers  int
	verbose  io.Writer // per-run lines, or nil
	ours     ourSettings
}

// runResult is one run's scores on both sides.
type runResult struct {
	scenario         string
	seed             uint64
	params           string
	fills            bool
	fullMin          int
	onsetMin         int
	ours, series, nm score
	etaRatios        []float64
}

func main() {
	o := options{workers: 2}
	flag.IntVar(&o.seeds, "seeds", 12, "runs (seeds) per scenario")
	flag.Uint64Var(&o.first, "first-seed", 1, "first seed")
	flag.BoolVar(&o.quick, "quick", false, "shorter runs (1 to 4 days, fills from hour 10, full within 16 h)")
	flag.StringVar(&o.only, "scenario", "", "run only scenarios whose name contains this")
	flag.StringVar(&o.promtool, "promtool", "promtool", "promtool binary (Debian's prometheus package)")
	flag.IntVar(&o.workers, "workers", 2, "runs replayed in parallel")
	flag.Float64Var(&o.ours.threshold, "threshold", 0.95, "--forecast.threshold.filesystem")
	flag.IntVar(&o.ours.warnFor, "warn-for", 30, "`for` of our warning, minutes")
	flag.IntVar(&o.ours.critFor, "crit-for", 15, "`for` of our critical alert, minutes")
	flag.BoolVar(&o.ours.rescale, "rescale", true, "call Fill.Rescale when the size changes, as the exporter does")
	flag.BoolVar(&o.ours.noGate, "no-gate", false, "diagnostic: our rule without the trust gate (not the shipped rule)")
	verbose := flag.Bool("v", false, "print every run")
	dump := flag.Int("dump", 0, "print our state every this many minutes (with -scenario and -seeds=1)")
	flag.Parse()
	if *verbose {
		o.verbose = os.Stdout
	}
	if *dump > 0 {
		o.ours.dumpEvery = *dump
		o.ours.dump = func(m int, v, eta, rate, er float64, gate, w, c bool) {
			fmt.Printf("  %7.2fh v=%.4f eta=%9.2fh rate=%+.5f/h er=%.3f gate=%v warn=%v crit=%v\n",
				float64(m)/60, v, eta/3600, rate*3600, er, gate, w, c)
		}
	}
	results, err := bench(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsfill:", err)
		os.Exit(1)
	}
	report(os.Stdout, results, o)
}

// bench generates and replays every run and evaluates node-mixin on them, one promtool run per scenario.
func bench(ctx context.Context, o options) ([]runResult, error) {
	if _, err := exec.LookPath(o.promtool); err != nil {
		return nil, fmt.Errorf("%w (install Debian's prometheus package)", err)
	}
	type job struct {
		scenario string
		seed     uint64
	}
	var jobs []job
	var names []string
	for _, name := range scenarios {
		if o.names == nil && strings.Contains(name, o.only) || slices.Contains(o.names, name) {
			names = append(names, name)
			for s := range uint64(o.seeds) {
				jobs = append(jobs, job{name, s + o.first})
			}
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("no scenario matches %q", o.only)
	}
	results := make([]runResult, len(jobs))
	scrapes := make([]scraped, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, o.workers) {
		wg.Go(func() {
			for i := range next {
				results[i], scrapes[i], errs[i] = replay(jobs[i].scenario, jobs[i].seed, o)
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// node-mixin: one promtool run per scenario, in parallel; quick runs all in one.
	dir, err := os.MkdirTemp("", "fsfill-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	batches := names
	if o.quick {
		batches = []string{"quick"}
	}
	nmErrs := make([]error, len(batches))
	sem := make(chan struct{}, max(1, o.workers))
	for k, batch := range batches {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var idx []int
			var runs []scraped
			for i := range jobs {
				if o.quick || jobs[i].scenario == batch {
					idx, runs = append(idx, i), append(runs, scrapes[i])
				}
			}
			sub := filepath.Join(dir, batch)
			if err := os.Mkdir(sub, 0o755); err != nil {
				nmErrs[k] = err
				return
			}
			ctx, cancel := context.WithTimeout(ctx, promtoolTimeout)
			defer cancel()
			scores, err := nodeMixin(ctx, o.promtool, sub, runs)
			if err != nil {
				nmErrs[k] = fmt.Errorf("%s: %w", batch, err)
				return
			}
			for j, i := range idx {
				results[i].nm = scores[j]
			}
		})
	}
	wg.Wait()
	if err := errors.Join(nmErrs...); err != nil {
		return nil, err
	}
	if o.verbose != nil {
		for _, r := range results {
			fmt.Fprintf(o.verbose, "%-14s %2d false h ours %5.1f series %5.1f node-mixin %5.1f  fresh h ours %5.1f node-mixin %5.1f",
				r.scenario, r.seed, hours(r.ours.falseMin), hours(r.series.falseMin), hours(r.nm.falseMin),
				hours(r.ours.freshMin), hours(r.nm.freshMin))
			if r.fills {
				fmt.Fprintf(o.verbose, "  onset %.1fh, full %.1fh after: warning ours %s node-mixin %s, critical ours %s node-mixin %s",
					hours(r.onsetMin), hours(r.fullMin-r.onsetMin), at(r.ours.warnAt, r), at(r.nm.warnAt, r),
					at(r.ours.critAt, r), at(r.nm.critAt, r))
			}
			fmt.Fprintf(o.verbose, "  [%s]\n", r.params)
		}
	}
	return results, nil
}

func hours(min int) float64 { return float64(min) / 60 }

// at formats a first alert time as hours after the onset.
func at(m int, r runResult) string {
	if m < 0 {
		return "missed"
	}
	return fmt.Sprintf("%+.1fh", hours(m-r.onsetMin))
}

// replay generates one run, replays it through our side and keeps its scrapes for node-mixin.
func replay(name string, seed uint64, o options) (runResult, scraped, error) {
	ru := newRun(name, seed, o.quick)
	ours, err := runOurs(ru, o.ours)
	if err != nil {
		return runResult{}, scraped{}, fmt.Errorf("%s seed %d: %w", name, seed, err)
	}
	n := (len(ru.avail) + scrapeEvery - 1) / scrapeEvery
	sc := scraped{instance: fmt.Sprintf("%s-%d", name, seed), avail: make([]float64, n), size: make([]float64, n),
		fills: ru.fills, scoreFrom: ru.scoreFrom / scrapeEvery, falseEnd: n}
	for m := range n {
		sc.avail[m], sc.size[m] = ru.avail[m*scrapeEvery], ru.size[m*scrapeEvery]
	}
	// The replay of our side scores minute m with the step that ended at m; the scrape at m is the sample at m.
	res := runResult{scenario: name, seed: seed, params: ru.params, fills: ru.fills, etaRatios: ours.etaRatios}
	if ru.fills {
		sc.onset, sc.full, sc.falseEnd = ru.onset/scrapeEvery, ru.full/scrapeEvery, ru.onset/scrapeEvery
		res.onsetMin, res.fullMin = sc.onset, sc.full
	}
	sc.freshEnd = min(sc.scoreFrom, sc.falseEnd)
	res.ours, res.series = ours.fill.score(ru), ours.series.score(ru)
	return res, sc, nil
}

// report prints the table and the final line.
func report(w io.Writer, results []runResult, o options) {
	gate := "trust gate"
	if o.ours.noGate {
		gate = "WITHOUT the trust gate (diagnostic)"
	}
	fmt.Fprintf(w, "threshold %.2f, our rule: ETA < 24 h for %dm (warning), < 4 h for %dm (critical), %s; %d seeds per scenario%s\n\n",
		o.ours.threshold, o.ours.warnFor, o.ours.critFor, gate, o.seeds, map[bool]string{true: ", quick"}[o.quick])
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tfills\tfalse alarm h: servermon\tnode-mixin\tSeries ETA\tfresh-start h: servermon\tnode-mixin\t"+
		"missed: servermon\tnode-mixin\tfirst alert before full (median h): servermon\tnode-mixin\tlead vs node-mixin (min): min\tmedian\twarnings only: min\tETA/truth: median\tp10\tp90\t")
	var total struct {
		ours, nm, ourMiss, nmMiss int
		lead                      []float64
	}
	var order []string
	for _, r := range results {
		if !slices.Contains(order, r.scenario) {
			order = append(order, r.scenario)
		}
	}
	for _, name := range order {
		var (
			fills                       bool
			ours, nm, ser, fOurs, fNm   int
			ourMiss, nmMiss             int
			beforeOurs, beforeNm, leads []float64
			ratios, warnLeads           []float64
		)
		for _, r := range results {
			if r.scenario != name {
				continue
			}
			fills = r.fills
			ours += r.ours.falseMin
			nm += r.nm.falseMin
			ser += r.series.falseMin
			fOurs += r.ours.freshMin
			fNm += r.nm.freshMin
			ratios = append(ratios, r.etaRatios...)
			if !r.fills {
				continue
			}
			// Times of the first alert of either severity (node-mixin's critical never comes before its warning;
			// ours does when a fill is less than 4 h from the threshold once trusted), a miss counting as given
			// when the filesystem is full.
			at := func(s score) int {
				if a := firstAlert(s); a >= 0 {
					return a
				}
				return r.fullMin
			}
			warnAt := func(s score) int {
				if s.warnAt >= 0 {
					return s.warnAt
				}
				return r.fullMin
			}
			if r.ours.warnAt < 0 && r.ours.critAt < 0 {
				ourMiss++
			}
			if r.nm.warnAt < 0 && r.nm.critAt < 0 {
				nmMiss++
			}
			beforeOurs = append(beforeOurs, hours(r.fullMin-at(r.ours)))
			beforeNm = append(beforeNm, hours(r.fullMin-at(r.nm)))
			leads = append(leads, float64(at(r.nm)-at(r.ours)))
			warnLeads = append(warnLeads, float64(warnAt(r.nm)-warnAt(r.ours)))
		}
		total.ours += ours
		total.nm += nm
		total.ourMiss += ourMiss
		total.nmMiss += nmMiss
		total.lead = append(total.lead, leads...)
		row := []string{name, map[bool]string{true: "yes", false: "no"}[fills],
			fmt.Sprintf("%.1f", hours(ours)), fmt.Sprintf("%.1f", hours(nm)), fmt.Sprintf("%.1f", hours(ser)),
			fmt.Sprintf("%.1f", hours(fOurs)), fmt.Sprintf("%.1f", hours(fNm))}
		if fills {
			slices.Sort(ratios)
			row = append(row, fmt.Sprint(ourMiss), fmt.Sprint(nmMiss), fmt.Sprintf("%.1f", quantile(beforeOurs, 0.5)),
				fmt.Sprintf("%.1f", quantile(beforeNm, 0.5)), fmt.Sprintf("%.0f", slices.Min(leads)),
				fmt.Sprintf("%.0f", quantile(leads, 0.5)), fmt.Sprintf("%.0f", slices.Min(warnLeads)),
				fmt.Sprintf("%.2f", quantile(ratios, 0.5)),
				fmt.Sprintf("%.2f", quantile(ratios, 0.1)), fmt.Sprintf("%.2f", quantile(ratios, 0.9)))
		} else {
			row = append(row, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-")
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	lead := math.NaN()
	if len(total.lead) > 0 {
		lead = slices.Min(total.lead)
	}
	fmt.Fprintf(w, "\nfalse_alarm_hours servermon=%.1f node_mixin=%.1f missed_fills servermon=%d node_mixin=%d lead_time_vs_node_mixin_min=%.0f\n",
		hours(total.ours), hours(total.nm), total.ourMiss, total.nmMiss, lead)
}

// quantile is the type-7 quantile of xs (sorted in place); NaN for none.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	h := q * float64(len(xs)-1)
	i := int(h)
	if i >= len(xs)-1 || math.IsInf(xs[i+1], 1) {
		return xs[min(i+1, len(xs)-1)] // +Inf: no ETA (the trend was flat) at that quantile
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}
