package collector

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/procfs"
)

// cpuUsageTarget forecasts the host's CPU busy share.
var cpuUsageTarget = &Target{Name: "cpu_usage_ratio", Title: "CPU usage", Max: 1, ThresholdFlag: "cpu", ThresholdDefault: 0.9}

var (
	cpuUsageFamily = &Family{
		Name:     "servermon_cpu_usage_ratio",
		Help:     "Share of all CPUs' time spent busy (not idle, not iowait), as mpstat's 100-%idle-%iowait.",
		PeakName: "servermon_cpu_usage_peak_ratio",
		PeakHelp: "Highest per-interval share of all CPUs' time spent busy (not idle, not iowait).",
		Max:      1,
		Target:   cpuUsageTarget,
	}
	cpuModeFamily = &Family{
		Name:       "servermon_cpu_mode_ratio",
		Help:       "Share of all CPUs' time spent in each mode (user includes guest time, as the kernel counts it).",
		LabelNames: []string{"mode"},
		Max:        1,
	}
	cpuCoreFamily = &Family{
		Name:       "servermon_cpu_core_usage_ratio",
		Help:       "Share of one CPU's time spent busy (not idle, not iowait).",
		LabelNames: []string{"cpu"},
		PeakName:   "servermon_cpu_core_usage_peak_ratio",
		PeakHelp:   "Highest per-interval share of one CPU's time spent busy (not idle, not iowait).",
		Max:        1,
	}
)

// cpuModes are the /proc/stat columns that add up to a CPU's time. guest and guest_nice are already part of user
// and nice, so they are not added again.
var cpuModes = [...]string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}

const (
	modeIdle   = 3
	modeIowait = 4
)

type cpuTimes [len(cpuModes)]float64

func toCPUTimes(s procfs.CPUStat) cpuTimes {
	return cpuTimes{s.User, s.Nice, s.System, s.Idle, s.Iowait, s.IRQ, s.SoftIRQ, s.Steal}
}

// CPUConfig configures the cpu collector.
type CPUConfig struct {
	// PerCPU adds servermon_cpu_core_usage_ratio{cpu} for every CPU.
	PerCPU bool
}

// coreGauge is the per-CPU gauge of one CPU id.
type coreGauge struct {
	id int64
	g  *Gauge
}

type cpuSource struct {
	proc ProcFS
	cfg  CPUConfig
	file *procFile

	cur, prev statReading // cores sorted by id
	hasPrev   bool

	usage *Gauge
	modes [len(cpuModes)]*Gauge
	// cores are the per-CPU gauges in id order; spare is the slice the next update builds them in.
	cores, spare []coreGauge
}

// NewCPU returns the source of /proc/stat: host-wide busy share and per-mode shares, and optionally per-CPU busy.
func NewCPU(proc ProcFS, cfg CPUConfig) Source {
	return &cpuSource{proc: proc, cfg: cfg, file: proc.file("stat", true)}
}

func (c *cpuSource) Name() string { return "cpu" }

func (c *cpuSource) Read(time.Duration) error {
	data, err := c.file.read()
	if err != nil {
		return fmt.Errorf("reading stat: %w", err)
	}
	next := &c.prev // becomes the current reading; its cores slice is reused
	if err := c.parse(data, next); err != nil {
		return err
	}
	if !c.cfg.PerCPU {
		next.cores = next.cores[:0]
	}
	c.prev, c.cur = c.cur, *next
	return nil
}

// parse parses /proc/stat's content into r, through procfs when the fast parser does not take it.
func (c *cpuSource) parse(data []byte, r *statReading) error {
	if parseStat(data, r) {
		return nil
	}
	st, err := c.proc.fs.Stat()
	if err != nil {
		return fmt.Errorf("reading stat: %w", err)
	}
	r.total, r.cores = st.CPUTotal, r.cores[:0]
	for id, s := range st.CPU {
		r.cores = append(r.cores, coreStat{id: id, stat: s})
	}
	slices.SortFunc(r.cores, func(a, b coreStat) int { return cmp.Compare(a.id, b.id) })
	return nil
}

// Close closes /proc/stat.
func (c *cpuSource) Close() error { return c.file.Close() }

func (c *cpuSource) Update(st *Store) {
	if c.usage == nil {
		c.usage = st.Gauge(cpuUsageFamily)
		for i, m := range cpuModes {
			c.modes[i] = st.Gauge(cpuModeFamily, m)
		}
	}
	if c.hasPrev {
		if d, total, ok := cpuDelta(toCPUTimes(c.cur.total), toCPUTimes(c.prev.total)); ok {
			st.Observe(c.usage, total-d[modeIdle]-d[modeIowait], total)
			for i, g := range c.modes {
				st.Observe(g, d[i], total)
			}
		}
	}
	if c.cfg.PerCPU {
		c.updateCores(st)
	}
	c.hasPrev = true
}

// updateCores observes every CPU present in both readings and drops the gauges of CPUs that went offline. The
// readings and the gauges are all in id order, so one merge pass pairs them up.
func (c *cpuSource) updateCores(st *Store) {
	next := c.spare[:0]
	gi, pi := 0, 0
	for _, cur := range c.cur.cores {
		for gi < len(c.cores) && c.cores[gi].id < cur.id {
			st.Remove(c.cores[gi].g) // offline now
			gi++
		}
		var g *Gauge
		if gi < len(c.cores) && c.cores[gi].id == cur.id {
			g = c.cores[gi].g
			gi++
		} else {
			g = st.Gauge(cpuCoreFamily, strconv.FormatInt(cur.id, 10))
		}
		next = append(next, coreGauge{id: cur.id, g: g})
		for pi < len(c.prev.cores) && c.prev.cores[pi].id < cur.id {
			pi++
		}
		if !c.hasPrev || pi == len(c.prev.cores) || c.prev.cores[pi].id != cur.id {
			continue
		}
		if d, total, ok := cpuDelta(toCPUTimes(cur.stat), toCPUTimes(c.prev.cores[pi].stat)); ok {
			st.Observe(g, total-d[modeIdle]-d[modeIowait], total)
		}
	}
	for ; gi < len(c.cores); gi++ {
		st.Remove(c.cores[gi].g)
	}
	clear(c.cores) // no stale gauge pointers in the spare slice
	c.cores, c.spare = next, c.cores
}

// cpuDelta returns the per-mode time spent between two readings and its total, and false when any counter went
// backwards or no time passed.
func cpuDelta(cur, prev cpuTimes) (d cpuTimes, total float64, ok bool) {
	for i := range cur {
		v, ok := floatDelta(cur[i], prev[i])
		if !ok {
			return d, 0, false
		}
		d[i] = v
		total += v
	}
	return d, total, total > 0
}
