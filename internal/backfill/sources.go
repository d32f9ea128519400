package backfill

import (
	"strconv"
	"strings"
	"time"

	"github.com/servermon/servermon_exporter/collector"
)

// Source names, as the label source="…" of the backfill metrics spells them.
const (
	// SourceServermon is the exporter's own observed gauges, servermon_<target>, as an earlier run exported them.
	SourceServermon = "servermon"
	// SourceNode is node_exporter's series.
	SourceNode = "node_exporter"
)

// mapping says how to load one forecast target from Prometheus. Every collector.Target has one (TestEveryTargetMapped);
// a new target needs a line in mappings and nothing else.
type mapping struct {
	// labels are the labels that tell the target's series apart, the forecaster's label names (nil for host-wide).
	labels []string
	// node is the node_exporter expression, "" when node_exporter has nothing that matches the exporter's
	// definition. In it, $sel stands for the selector's matchers and $range for the range of the step's window
	// (rangeFor); evaluated just before the end of a step (fetch), it must give one series per label set of
	// labels.
	node string
	// counters says that the node expression takes rates of counters rather than means of gauges (rangeFor).
	counters bool
	// keep, when set, filters the label values found in Prometheus as the collector filters them live.
	keep func(c *Config, values []string) bool
	// latest is set where the exporter exposes the latest read rather than a window mean (see ownShift).
	latest bool
}

// mappings holds the source expressions of every target, by collector.Target name. The exporter's own series need no
// entry: they are avg by (labels) (avg_over_time(servermon_<target>{$sel}[$range])) for every target (ownExpr).
//
// The node_exporter expressions compute the exporter's own definitions (collector/*.go, README "Metrics"):
//   - CPU busy: the share of all CPUs' time neither idle nor iowait. The sums run over every cpu and mode of one
//     node_exporter (by instance, job) before the ratio: averaging per-cpu ratios, or dropping the instance from
//     the sums, gives another number on hosts whose CPUs are not all online all the time, or for several scrapes.
//   - memory: 1 − MemAvailable/MemTotal; swap: 1 − SwapFree/SwapTotal, and 0 without swap, not NaN.
//   - load1: the kernel's 1-minute load average, averaged over the step as the exporter averages its reads.
//   - disks: %util is the rate of io_time (node_exporter's io_ticks/1000), bytes are rates of the byte counters.
//   - filesystems: df's Use%, used / (used + avail) with used = size − free, from the step's means of the three
//     gauges; inodes (files − free files) / files. The outer avg by the labels also drops node_exporter's
//     device_error label and folds the duplicates it makes.
//
// Counters go through rate()/increase(), which handle counter resets. The outer avg folds duplicates of one host
// (the same node_exporter scraped by two jobs) into one series; the selector is checked to match one host.
var mappings = map[string]mapping{
	"cpu_usage_ratio": {counters: true,
		node: `avg(1 - sum by (instance, job) (increase(node_cpu_seconds_total{mode=~"idle|iowait",$sel}[$range]))` +
			` / sum by (instance, job) (increase(node_cpu_seconds_total{$sel}[$range])))`},
	"memory_usage_ratio": {
		node: `avg(1 - avg_over_time(node_memory_MemAvailable_bytes{$sel}[$range]) / avg_over_time(node_memory_MemTotal_bytes{$sel}[$range]))`},
	"swap_usage_ratio": {
		node: `avg((1 - avg_over_time(node_memory_SwapFree_bytes{$sel}[$range]) / (avg_over_time(node_memory_SwapTotal_bytes{$sel}[$range]) > 0))` +
			` or (0 * avg_over_time(node_memory_SwapTotal_bytes{$sel}[$range])))`},
	"load1": {latest: true,
		node: `avg(avg_over_time(node_load1{$sel}[$range]))`},
	"disk_utilization_ratio": {labels: deviceLabel, keep: keepDisk, counters: true,
		node: `avg by (device) (rate(node_disk_io_time_seconds_total{$sel}[$range]))`},
	"disk_read_bytes_per_second": {labels: deviceLabel, keep: keepDisk, counters: true,
		node: `avg by (device) (rate(node_disk_read_bytes_total{$sel}[$range]))`},
	"disk_write_bytes_per_second": {labels: deviceLabel, keep: keepDisk, counters: true,
		node: `avg by (device) (rate(node_disk_written_bytes_total{$sel}[$range]))`},
	"filesystem_usage_ratio": {labels: filesystemLabels, keep: keepFilesystem, latest: true,
		node: `avg by (device, mountpoint, fstype) (` + fsUsed + ` / ((` + fsUsed + ` + ` + fsMean("avail_bytes") + `) > 0))`},
	"filesystem_inodes_usage_ratio": {labels: filesystemLabels, keep: keepFilesystem, latest: true,
		node: `avg by (device, mountpoint, fstype) ((` + fsMean("files") + ` - ` + fsMean("files_free") + `) / (` + fsMean("files") + ` > 0))`},
}

var (
	deviceLabel      = []string{"device"}
	filesystemLabels = []string{"device", "mountpoint", "fstype"}
	// fsUsed is df's used space over a step: size − free.
	fsUsed = `(` + fsMean("size_bytes") + ` - ` + fsMean("free_bytes") + `)`
)

// fsMean is the step's mean of one of node_exporter's filesystem gauges.
func fsMean(name string) string { return `avg_over_time(node_filesystem_` + name + `{$sel}[$range])` }

// keepDisk applies the disk collector's device filters (--collector.disk.device-include/-exclude).
func keepDisk(c *Config, values []string) bool { return len(values) == 1 && c.Disk.Wants(values[0]) }

// keepFilesystem applies the filesystem collector's mount point and type filters.
func keepFilesystem(c *Config, values []string) bool {
	return len(values) == 3 && c.Filesystem.Wants(values[1], values[2])
}

// ownExpr is the expression of a target over the exporter's own series. Each scrape of servermon_<target> is a
// mean over --sample.window before it (but load1's, the latest read): the mean of the scrapes of a step, evaluated
// half a window later (ownShift), is the step's mean, smoothed over one more window and centred on the step.
func ownExpr(t *collector.Target, m mapping) string {
	by := ""
	if len(m.labels) > 0 {
		by = " by (" + strings.Join(m.labels, ", ") + ")"
	}
	return "avg" + by + " (avg_over_time(servermon_" + t.Name + "{$sel}[$range]))"
}

// expand fills an expression's selector and range in.
func expand(expr, sel string, rng time.Duration) string {
	return strings.NewReplacer("$sel", sel, "$range", promDuration(rng)).Replace(expr)
}

// promDuration spells a duration as PromQL takes it: whole seconds, or milliseconds.
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// rangeFor is the range of the step's window in a source expression, evaluated 1 ms before the end of the step
// (fetch). Over gauges (avg_over_time) it is the step, which holds the samples of [S, S + step), or a scrape
// interval and a quarter where scrapes are further apart than that, so that every window holds a sample. Over
// counters (rate, increase) it is a scrape interval and a quarter longer than the step: the window then also holds
// the last sample before S, so that consecutive steps share their boundary samples and every increase between two
// scrapes counts in exactly one step, none lost between two windows (a burst there would be missed by every step).
func rangeFor(step, scrapeInterval time.Duration, counters bool) time.Duration {
	slack := scrapeInterval + scrapeInterval/4
	if counters {
		return step + slack
	}
	return max(step, slack)
}
