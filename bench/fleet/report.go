package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// result is what a run measured.
type result struct {
	o                    options
	hosts                int
	kinds                map[kind]int
	fsNote               string
	promURL              string
	historySamples       int
	historyTook          time.Duration
	startTook            time.Duration
	phase                time.Duration
	alerts               []alertScore
	checks               []check
	anomalous            float64
	ours, theirs         []groupCost
	oursMean, theirsMean float64 // seconds per evaluation, the groups of a side summed
	rules                []*ruleCost
	// seconds per evaluation, the means of the rules of a side that have an equivalent on the other summed
	oursEquivalent, theirsEquivalent float64
	evaluations                      int // the fewest evaluations averaged of any group
	upHosts                          float64
	seriesPerHost                    float64 // samples per scrape of an up exporter
	headSeries                       float64
	samplesPerSecond                 float64 // appended to the head: scrapes and rule results
	scrapedPerSecond                 float64
	windowSamples                    float64 // samples per series in predict_linear's [6h]
	rss, rssBase                     float64 // Prometheus' resident set size: the largest read in the rule phase, and before any scrape
}

// totals are the precision and recall over every alert rule.
func (r *result) totals() (precision, recall float64) {
	var tp, seen, found, expected int
	for _, a := range r.alerts {
		tp, seen, found, expected = tp+a.truePositives, seen+a.seen, found+a.found, expected+a.expected
	}
	return ratio(tp, seen, 1), ratio(found, expected, math.NaN())
}

// ratio of the evaluation time of our rules that have a node-mixin-style equivalent to that of theirs, like for
// like.
func (r *result) ratio() float64 { return r.oursEquivalent / r.theirsEquivalent }

// groupRatio is the ratio of every rule of our forecast groups, those without an equivalent too, to theirs.
func (r *result) groupRatio() float64 { return r.oursMean / r.theirsMean }

// ok reports whether every check passed and every alert was exactly where the scenarios put it.
func (r *result) ok() bool {
	p, rc := r.totals()
	if p != 1 || rc != 1 {
		return false
	}
	for _, c := range r.checks {
		if !c.ok {
			return false
		}
	}
	return true
}

// finalLine is the run's last line.
func (r *result) finalLine() string {
	p, rc := r.totals()
	return fmt.Sprintf("hosts=%d up=%.0f alert_precision=%.2f alert_recall=%.2f rule_eval_ratio=%.3f series_per_host=%.0f",
		r.hosts, r.upHosts, p, rc, r.ratio(), r.seriesPerHost)
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "fleet: %d hosts on loopback, scraped every 15 s by one Prometheus with the shipped rules and node-mixin-style equivalents\n", r.hosts)
	var mix []string
	for k := range kinds {
		if n := r.kinds[k]; n > 0 {
			mix = append(mix, fmt.Sprintf("%s %d", k, n))
		}
	}
	fmt.Fprintf(w, "scenarios: %s\n", strings.Join(mix, ", "))
	fmt.Fprintf(w, "filesystems: %s\n", r.fsNote)
	fmt.Fprintf(w, "history: %s at 15 s before the run, %d samples, blocks made in %v; exporters serving with their history loaded %v after their start; rule phase %v\n\n",
		r.o.history, r.historySamples, r.historyTook.Round(time.Second), r.startTook.Round(time.Second), r.phase.Round(time.Second))

	fmt.Fprintln(w, "Alerts: an alert counts where its ALERTS series (pending or firing) existed at any evaluation of the rule phase;")
	fmt.Fprintln(w, "an expected one is found if pending or firing at its end. for: of 5m to 1h cannot all elapse in the run.")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "alert\tseverity\texpected\tseen\tactive (firing)\tprecision\trecall\tall found after\tnode-mixin-style: seen\tprecision\trecall\t")
	for _, a := range r.alerts {
		first := "-"
		if a.expected > 0 && a.found == a.expected {
			first = a.firstSeen.Round(time.Second).String()
		}
		theirs := "\t\t"
		if !strings.HasPrefix(a.rule.group, "servermon-exporter") && hasEquivalent(a.rule.name) {
			exp := a.expected
			if a.rule.name == "ServermonFilesystemFillingUp" {
				exp = a.expected // one target per host: space
			}
			theirs = fmt.Sprintf("%d\t%s\t%s", a.theirSeen, fmtRatio(ratio(a.theirTP, a.theirSeen, 1)), fmtRatio(ratio(a.theirA, exp, math.NaN())))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d (%d)\t%s\t%s\t%s\t%s\t\n", a.rule.name, a.rule.severity, a.expected, a.seen, a.active, a.firing,
			fmtRatio(a.precision()), fmtRatio(a.recall()), first, theirs)
	}
	tw.Flush()
	for _, a := range r.alerts {
		if len(a.falsePositives) > 0 {
			fmt.Fprintf(w, "  %s %s: false positives on %s\n", a.rule.name, a.rule.severity, abbreviate(a.falsePositives))
		}
		if len(a.missed) > 0 {
			fmt.Fprintf(w, "  %s %s: missed on %s\n", a.rule.name, a.rule.severity, abbreviate(a.missed))
		}
	}

	fmt.Fprintln(w, "\nFleet records and the fleet dashboard's queries (dashboards/servermon-fleet.json), at the end of the run:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "check\twant\tgot\t\t")
	for _, c := range r.checks {
		verdict := "ok"
		switch {
		case c.info:
			verdict = "info"
		case !c.ok:
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", c.what, c.want, c.got, verdict)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nRule evaluation (prometheus_rule_group_last_duration_seconds, once per evaluation, the first %d left out):\n", warmEvaluations)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tevaluations\tmean ms\tmedian ms\tmin ms\tmax ms\t")
	for _, g := range append(append([]groupCost{}, r.ours...), r.theirs...) {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t\n", g.name, g.evaluations, 1e3*g.mean, 1e3*g.median, 1e3*g.min, 1e3*g.max)
	}
	tw.Flush()
	fmt.Fprintf(w, "every rule of our forecast groups %.2f ms, node-mixin-style %.2f ms per evaluation: ratio %.3f\n",
		1e3*r.oursMean, 1e3*r.theirsMean, r.groupRatio())

	fmt.Fprintln(w, "\nEach rule's evaluation time (rules API evaluationTime, once per evaluation, the first evaluations left out as above):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\trule\tevaluations\tmean ms\tlike for like\t")
	for _, rc := range r.rules {
		like := "yes"
		if !rc.equivalent {
			like = "no: no equivalent"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%s\t\n", rc.key.group, rc.name, len(rc.durations), 1e3*rc.mean(), like)
	}
	tw.Flush()
	goal := "met"
	if !(r.ratio() <= 0.1) {
		goal = "NOT met"
	}
	fmt.Fprintf(w, "like for like: ours %.2f ms, node-mixin-style %.2f ms per evaluation: rule_eval_ratio %.3f (goal <= 0.1: %s); predict_linear's [6h] held %.0f samples per series\n",
		1e3*r.oursEquivalent, 1e3*r.theirsEquivalent, r.ratio(), goal, r.windowSamples)

	fmt.Fprintln(w, "\nPrometheus:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	up := math.Max(r.upHosts, 1)
	fmt.Fprintf(tw, "series per host (samples per scrape)\t%.0f\t\n", r.seriesPerHost)
	fmt.Fprintf(tw, "head series\t%.0f (%.0f per up host)\t\n", r.headSeries, r.headSeries/up)
	fmt.Fprintf(tw, "samples appended per second\t%.0f (scrapes %.0f, the rest rule results)\t\n", r.samplesPerSecond, r.scrapedPerSecond)
	fmt.Fprintf(tw, "resident memory\t%.0f MB, %.2f MB per host (%.0f MB before the first scrape, with the history's blocks)\t\n",
		r.rss/1e6, r.rss/1e6/float64(r.hosts), r.rssBase/1e6)
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, r.finalLine())
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}
