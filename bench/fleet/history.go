package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/servermon/servermon_exporter/internal/backfill/backfilltest"
)

// The history every host has in Prometheus before the run: what servermon_exporter would have exported, scraped
// every 15 s, for the hours before t0. The exporters load their forecast history from it (--forecast.backfill.url),
// and the node-mixin-style rules read it: predict_linear(x[6h], …) over 15 s scrapes reads 1,440 samples per series
// at every evaluation, as in production.

const (
	scrapeInterval = 15 * time.Second
	// buildInfoGap: the history's servermon_build_info ends this long before t0, so that it is stale (5 minutes
	// without a sample) before the live one, whose labels (version, revision) differ, is scraped: an exporter
	// upgrade, where Prometheus would have written a staleness marker.
	buildInfoGap = 6 * time.Minute
	// downGap: the down host stopped this long before t0.
	downGap = 10 * time.Minute
	// anomalousHistory is how much of servermon_anomalous the history holds (0 throughout): the anomaly alert's
	// avg_over_time(…[15m]) then reads 60 samples a series from the first evaluation on, as in production.
	anomalousHistory = time.Hour
	historyPart      = 2 * time.Hour // one Prometheus block
	// oldInterval is the scrape interval of a daily-cycle host's history before the last options.history: the
	// forecast step, what the backfill needs, at a quarter of the samples.
	oldInterval = time.Minute
)

// historySpan is the history of a host of kind k: long for the daily-cycle hosts (options.dailyHistory), base for
// the others.
func historySpan(k kind, base, long time.Duration) time.Duration {
	if k == daily {
		return max(base, long)
	}
	return base
}

// targetLabels are the forecast targets' label sets, as the exporter labels their servermon_anomalous series.
func targetLabels(filesystems bool) []string {
	out := []string{`target="cpu_usage_ratio"`, `target="memory_usage_ratio"`, `target="swap_usage_ratio"`, `target="load1"`}
	for _, t := range []string{"disk_utilization_ratio", "disk_read_bytes_per_second", "disk_write_bytes_per_second"} {
		out = append(out, fmt.Sprintf(`target=%q,device=%q`, t, diskName))
	}
	if filesystems {
		for _, t := range []string{"filesystem_usage_ratio", "filesystem_inodes_usage_ratio"} {
			out = append(out, fmt.Sprintf(`target=%q,%s`, t, fsLabels))
		}
	}
	return out
}

var fsLabels = fmt.Sprintf(`device=%q,mountpoint=%q,fstype=%q`, fsDevice, fsMount, fsType)

// hostHistory is one host's scraped series.
type hostHistory struct {
	series []historySeries
}

// historySeries is one series: its values at its scrape times, oldest first.
type historySeries struct {
	name, labels string
	times        []time.Time
	values       []float64
}

// history computes every host's history: base before t0 at 15 s, and the daily-cycle hosts' older history, up to
// daily before t0, at 1 m.
func (m model) history(hosts []*host, base, long time.Duration, filesystems bool) []hostHistory {
	out := make([]hostHistory, len(hosts))
	for i, h := range hosts {
		out[i] = m.hostHistory(h, base, long, filesystems)
	}
	return out
}

// scrapeTimes are the scrape times of (from, end]: every oldInterval before recent, every scrapeInterval from
// there.
func scrapeTimes(from, recent, end time.Time) []time.Time {
	var out []time.Time
	for t := from.Add(oldInterval); t.Before(recent); t = t.Add(oldInterval) {
		out = append(out, t)
	}
	for t := maxTime(recent, from.Add(scrapeInterval)); !t.After(end); t = t.Add(scrapeInterval) {
		out = append(out, t)
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (m model) hostHistory(h *host, base, long time.Duration, filesystems bool) hostHistory {
	end := m.t0
	if h.kind == down {
		end = end.Add(-downGap)
	}
	from := m.t0.Add(-historySpan(h.kind, base, long))
	times := scrapeTimes(from, m.t0.Add(-base), end)
	n := len(times)
	// Levels of every quarter from the minute before the first scrape: a scrape at t holds the window mean over
	// (t − 1m, t] of the quarters; the load averages move towards each quarter's load in turn.
	q0 := from.Add(-time.Minute)
	quarters := int(end.Sub(q0) / quarter)
	lv := make([]levels, quarters)
	for j := range lv {
		lv[j] = m.levels(h.kind, h.index, q0.Add(time.Duration(j)*quarter))
	}
	at := func(t time.Time) int { return int(t.Sub(q0) / quarter) } // the quarter that starts at t
	mean := func(f func(levels) float64) []float64 {
		out := make([]float64, n)
		for i, t := range times {
			s, j := 0.0, at(t)
			for k := j - 4; k < j; k++ {
				s += f(lv[k])
			}
			out[i] = s / 4
		}
		return out
	}
	load := make([]float64, n)
	l1 := lv[0].load
	for j, i := 0, 0; j < len(lv) && i < n; j++ {
		l1 = towards(l1, lv[j].load, quarter, loadPeriods[0])
		for ; i < n && at(times[i]) == j+1; i++ { // scrapes at the end of quarter j
			load[i] = math.Round(l1*100) / 100 // /proc/loadavg has two decimals
		}
	}
	inst := fmt.Sprintf(`instance=%q,job="servermon"`, h.instance)
	var hh hostHistory
	add := func(name, labels string, values []float64) {
		if labels != "" {
			labels += ","
		}
		hh.series = append(hh.series, historySeries{name: name, labels: labels + inst, times: times, values: values})
	}
	add("servermon_cpu_usage_ratio", "", mean(func(l levels) float64 { return l.cpu }))
	add("servermon_memory_usage_ratio", "", mean(func(l levels) float64 { return usedRatio(memTotalKB, l.mem) }))
	add("servermon_swap_usage_ratio", "", mean(func(l levels) float64 { return usedRatio(swapTotalKB, l.swap) }))
	add("servermon_load1", "", load)
	dev := fmt.Sprintf(`device=%q`, diskName)
	add("servermon_disk_utilization_ratio", dev, mean(func(l levels) float64 { return l.diskUtil }))
	add("servermon_disk_read_bytes_per_second", dev, mean(func(l levels) float64 { return l.readBytes }))
	add("servermon_disk_write_bytes_per_second", dev, mean(func(l levels) float64 { return l.writeBytes }))
	if filesystems {
		blocks := float64(fsBlocks(h.kind))
		each := func(f func(used float64) float64) []float64 {
			out := make([]float64, n)
			for i, t := range times {
				out[i] = f(float64(m.fsUsedBlocks(h.kind, t)))
			}
			return out
		}
		add("servermon_filesystem_usage_ratio", fsLabels, each(func(u float64) float64 { return u / blocks }))
		add("servermon_filesystem_inodes_usage_ratio", fsLabels, each(func(float64) float64 { return float64(fsInodesUsed) / fsInodes }))
		add("servermon_filesystem_avail_bytes", fsLabels, each(func(u float64) float64 { return (blocks - u) * fsBlockSize }))
		add("servermon_filesystem_size_bytes", fsLabels, each(func(float64) float64 { return blocks * fsBlockSize }))
		add("servermon_filesystem_readonly", fsLabels, each(func(float64) float64 { return 0 }))
	}
	constant := func(name, labels string, from, to time.Time, v float64) {
		s := historySeries{name: name, labels: labels + "," + inst}
		for _, t := range times {
			if t.After(from) && !t.After(to) {
				s.times, s.values = append(s.times, t), append(s.values, v)
			}
		}
		hh.series = append(hh.series, s)
	}
	constant("servermon_build_info", `version="history"`, from, minTime(end, m.t0.Add(-buildInfoGap)), 1)
	if h.kind != down {
		for _, tl := range targetLabels(filesystems) {
			constant("servermon_anomalous", tl, end.Add(-anomalousHistory), end, 0)
		}
	}
	return hh
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// usedRatio is 1 − free/total as the exporter computes it from the fake tree's whole kB, the tree setting free to
// total·(1 − used) (fakeproc.Tree.Advance): a constant history is the live value to the last bit.
func usedRatio(totalKB uint64, used float64) float64 {
	free := uint64(float64(totalKB) * (1 - clamp01(used)))
	return 1 - float64(free)/float64(totalKB)
}

// samples counts the samples of a history.
func samples(hist []hostHistory) int {
	n := 0
	for _, h := range hist {
		for _, s := range h.series {
			n += len(s.values)
		}
	}
	return n
}

// writeHistory writes the hosts' history, or the part of it that out is (backfilltest.Part), in the OpenMetrics
// text format.
func writeHistory(out io.Writer, hist []hostHistory) error {
	w := backfilltest.NewWriter(out)
	p, _ := out.(*backfilltest.Part)
	for _, h := range hist {
		for _, s := range h.series {
			first, last := 0, len(s.times)
			if p != nil {
				first = sort.Search(len(s.times), func(i int) bool { return !s.times[i].Before(p.From) })
				last = sort.Search(len(s.times), func(i int) bool { return !s.times[i].Before(p.To) })
			}
			for i := first; i < last; i++ {
				w.Sample(s.name, s.labels, s.values[i], s.times[i])
			}
		}
	}
	return w.End()
}

// buildHistory makes Prometheus blocks of the hosts' history of [from, to] in dataDir with promtool, on workers:
// before recent (the daily-cycle hosts' sparse history) a day at a time, from recent a block's part at a time
// (promtool reads its input again for every block it makes, and every run of it costs its start).
func buildHistory(ctx context.Context, promtool, dir, dataDir string, hist []hostHistory, from, recent, to time.Time, workers int) error {
	write := func(w io.Writer) error { return writeHistory(w, hist) }
	if from.Before(recent) {
		if err := backfilltest.BuildHistory(ctx, promtool, dir, dataDir, from, recent.Add(-time.Millisecond), 24*time.Hour, workers, write); err != nil {
			return err
		}
	}
	return backfilltest.BuildHistory(ctx, promtool, dir, dataDir, recent, to, historyPart, workers, write)
}
