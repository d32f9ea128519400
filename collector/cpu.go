package collector

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/procfs"
)

var (
	cpuUsageFamily = &Family{
		Name:     "servermon_cpu_usage_ratio",
		Help:     "Share of all CPUs' time spent busy (not idle, not iowait), as mpstat's 100-%idle-%iowait.",
		PeakName: "servermon_cpu_usage_peak_ratio",
		PeakHelp: "Highest per-interval share of all CPUs' time spent busy (not idle, not iowait).",
		Max:      1,
		Target:   "cpu_usage_ratio",
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

type cpuSource struct {
	fs  procfs.FS
	cfg CPUConfig

	cur, prev           cpuTimes
	curCores, prevCores map[int64]cpuTimes
	hasPrev             bool

	usage *Gauge
	modes [len(cpuModes)]*Gauge
	cores map[int64]*Gauge
}

// NewCPU returns the source of /proc/stat: host-wide busy share and per-mode shares, and optionally per-CPU busy.
func NewCPU(fs procfs.FS, cfg CPUConfig) Source {
	return &cpuSource{fs: fs, cfg: cfg, curCores: map[int64]cpuTimes{}, prevCores: map[int64]cpuTimes{}, cores: map[int64]*Gauge{}}
}

func (c *cpuSource) Name() string { return "cpu" }

func (c *cpuSource) Read(time.Time) error {
	st, err := c.fs.Stat()
	if err != nil {
		return fmt.Errorf("reading stat: %w", err)
	}
	c.prev, c.cur = c.cur, toCPUTimes(st.CPUTotal)
	if c.cfg.PerCPU {
		c.prevCores, c.curCores = c.curCores, c.prevCores
		clear(c.curCores)
		for i, s := range st.CPU {
			c.curCores[i] = toCPUTimes(s)
		}
	}
	return nil
}

func (c *cpuSource) Update(st *Store) {
	if c.usage == nil {
		c.usage = st.Gauge(cpuUsageFamily)
		for i, m := range cpuModes {
			c.modes[i] = st.Gauge(cpuModeFamily, m)
		}
	}
	if c.hasPrev {
		if d, total, ok := cpuDelta(c.cur, c.prev); ok {
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

// updateCores observes every CPU present in both readings and drops the gauges of CPUs that went offline.
func (c *cpuSource) updateCores(st *Store) {
	for i, g := range c.cores {
		if _, ok := c.curCores[i]; !ok {
			st.Remove(g)
			delete(c.cores, i)
		}
	}
	ids := make([]int64, 0, len(c.curCores))
	for i := range c.curCores {
		ids = append(ids, i)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	for _, i := range ids {
		g, ok := c.cores[i]
		if !ok {
			g = st.Gauge(cpuCoreFamily, strconv.FormatInt(i, 10))
			c.cores[i] = g
		}
		prev, ok := c.prevCores[i]
		if !ok || !c.hasPrev {
			continue
		}
		if d, total, ok := cpuDelta(c.curCores[i], prev); ok {
			st.Observe(g, total-d[modeIdle]-d[modeIowait], total)
		}
	}
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
