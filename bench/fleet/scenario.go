package main

import (
	"fmt"
	"math"
	"time"

	"github.com/servermon/servermon_exporter/internal/backfill/backfilltest"
)

// The fake hosts. Every host runs one scenario, a function of wall time that both the history written into
// Prometheus and the live fake /proc follow, so that the live steps continue the history: a leak is already under way
// when the exporter starts. Levels are constant within a quarter of a minute (the scrape interval), so that a
// scraped window mean of the history is a mean of whole quarters, and their noise is constant within a minute (the
// forecast step), as backfilltest's model's is.

// quarter is the time within which a scenario's levels are constant: the scrape interval.
const quarter = 15 * time.Second

// The fake machine of every host.
const (
	cpus        = 4
	memTotalKB  = 16 << 20
	swapTotalKB = 4 << 20
	diskName    = "vda"
	// The filesystem every host has, as its fake mount table lists it; the exporter statfs'es it under its
	// --path.rootfs, where the host's private mount namespace has a tmpfs (see fsns.go).
	fsMount, fsDevice, fsType = "/data", "/dev/vdb", "ext4"
	// fsBlocks are the tmpfs's 4 KiB blocks: 64 MiB where the filesystem fills (fine steps of its usage), 4 MiB
	// elsewhere (its usage is constant and the memory it takes counts hundreds of times).
	fsBlocksFill, fsBlocksStatic = 16384, 1024
	fsBlockSize                  = 4096
	// The tmpfs's inodes: fsInodesUsed of fsInodes are in use (the root, the fill file and empty files), 10 %.
	fsInodes, fsInodesUsed = 1000, 100
)

// levels are what a host does in one quarter.
type levels struct {
	cpu, iowait                       float64 // busy (not idle, not iowait) and iowait shares of all CPUs, the quarter's mean
	burst                             int     // seconds at the quarter's start at burstCPU (cpu counts them), a bursty host's
	idleCPU                           float64 // the busy share in the quarter's other seconds, a bursty host's
	mem, swap                         float64 // 1 − MemAvailable/MemTotal, 1 − SwapFree/SwapTotal
	load                              float64 // runnable tasks the load averages move towards
	diskUtil, readBytes, writeBytes   float64 // vda's share of time busy, bytes per second
	psiCPU, psiIO, psiMem             float64 // shares of time some task stalled
	readIOPS, writeIOPS, queue, await float64 // vda's requests per second, queue, ms per request
}

// kind names a scenario.
type kind int

// The scenarios.
const (
	idle     kind = iota // a quiet host: nothing alerts
	daily                // CPU, memory and disk IO in a daily cycle, each host at its own phase: nothing alerts
	leak                 // memory and swap leaking towards exhaustion within 2 h
	fill                 // the filesystem filling up, full (95 %) within 4 h
	bursty               // CPU in bursts of seconds near 100 %, moderate on average: nothing alerts
	cpuClimb             // CPU climbing towards saturation (90 %) within 2 h
	ioClimb              // disk IO climbing towards saturation (90 % utilisation) within 2 h
	failing              // the pressure collector fails (garbage in /proc/pressure); otherwise idle
	down                 // in the scrape configuration, not running; its history ends 10 minutes before the run
	kinds
)

var kindNames = [kinds]string{"idle", "daily", "leak", "fill", "bursty", "cpu_climb", "io_climb", "failing", "down"}

func (k kind) String() string { return kindNames[k] }

// pattern deals the scenarios to hosts: host i runs pattern[i % 20]. Its first ten hold every scenario, so a run of
// ten hosts has them all; over twenty, a fleet of mostly quiet hosts with a few in trouble.
var pattern = [20]kind{idle, daily, leak, fill, bursty, cpuClimb, ioClimb, failing, down, idle,
	idle, daily, idle, leak, idle, fill, bursty, daily, idle, idle}

// The scenarios' trends, per hour from the start of the run (t0), and their levels then.
const (
	leakMem0, leakMemPerHour   = 0.85, 0.06 // memory reaches the 95 % threshold 1.7 h after t0
	leakSwap0, leakSwapPerHour = 0.75, 0.08 // swap reaches 90 % after 1.9 h
	fill0, fillPerHour         = 0.85, 0.04 // the filesystem reaches 95 % after 2.5 h
	climb0, climbPerHour       = 0.80, 0.06 // CPU or disk utilisation reach 90 % after 1.7 h
	fsThreshold                = 0.95       // the exporter's default --forecast.threshold.filesystem
)

// model is the fleet's scenarios around the run's start t0.
type model struct {
	t0 time.Time
}

// noise is a deterministic value in [-1, 1], constant within a minute, for a host and a stream.
func noise(host int, t time.Time, stream uint64) float64 {
	return backfilltest.Noise(t.Unix()/60, uint64(host)*16+stream)
}

// hours is the time from t0 to t in hours, negative in the history.
func (m model) hours(t time.Time) float64 { return t.Sub(m.t0).Hours() }

// A bursty host's CPU: every quarter starts with up to maxBurst seconds at burstCPU, a number drawn per quarter,
// and is at the base level for the rest; the peak gauges see every burst, the minute means vary by ±0.1 around
// 0.29. (Bursts as long as whole quarters, the minute means taking a few levels only, make the forecast's
// intervals far too wide: an upper bound of 1 at 1h on minute means that never exceed 0.55. docs/scale.md.)
const (
	burstCPU = 0.95
	maxBurst = 6
)

// levels returns what host h of kind k does in the quarter holding t.
func (m model) levels(k kind, h int, t time.Time) levels {
	t = t.Truncate(quarter)
	n := func(stream uint64) float64 { return noise(h, t, stream) }
	l := levels{cpu: 0.03 + 0.01*n(1), iowait: 0.01, mem: 0.25 + 0.002*n(2), swap: 0.02,
		diskUtil: 0.02 + 0.005*n(3), readBytes: 2e5 * (1 + 0.2*n(4)), writeBytes: 5e5 * (1 + 0.2*n(5))}
	hrs := m.hours(t)
	switch k {
	case daily:
		// Each host at its own phase of the day; the amplitudes keep even a linear extrapolation of the steepest
		// part of the cycle over the 6 h a forecast looks ahead below every threshold.
		d := math.Sin(2*math.Pi*float64(t.Unix()%86400)/86400 + 2*math.Pi*float64(h*7%24)/24)
		l.cpu = 0.3 + 0.15*d + 0.01*n(1)
		l.mem = 0.5 + 0.05*d + 0.002*n(2)
		l.swap = 0.05
		l.diskUtil = 0.2 + 0.1*d + 0.01*n(3)
		l.readBytes, l.writeBytes = 4e6*(1+0.5*d)*(1+0.1*n(4)), 2e6*(1+0.5*d)*(1+0.1*n(5))
	case leak:
		l.cpu = 0.1 + 0.01*n(1)
		l.mem = leakMem0 + leakMemPerHour*hrs + 0.002*n(2)
		l.swap = leakSwap0 + leakSwapPerHour*hrs + 0.001*n(6)
	case fill:
		l.cpu, l.mem = 0.2+0.01*n(1), 0.4+0.002*n(2)
		l.writeBytes = 3e6 * (1 + 0.2*n(5))
	case bursty:
		l.idleCPU = 0.12 + 0.01*n(1)
		u := backfilltest.Noise(t.Unix()/int64(quarter/time.Second), uint64(h)*16+7) // per quarter, not per minute
		l.burst = min(maxBurst, int((u+1)/2*(maxBurst+1)))
		b := float64(l.burst) / quarter.Seconds()
		l.cpu = b*burstCPU + (1-b)*l.idleCPU
		l.mem = 0.35 + 0.002*n(2)
	case cpuClimb:
		l.cpu = climb0 + climbPerHour*hrs + 0.01*n(1)
		l.mem = 0.45 + 0.002*n(2)
	case ioClimb:
		l.diskUtil = climb0 + climbPerHour*hrs + 0.01*n(3)
		l.readBytes, l.writeBytes = 5e7*l.diskUtil*(1+0.1*n(4)), 3e7*l.diskUtil*(1+0.1*n(5))
		l.iowait = 0.05
	}
	l.cpu, l.mem, l.swap, l.diskUtil = clamp01(l.cpu), clamp01(l.mem), clamp01(l.swap), clamp01(l.diskUtil)
	l.load = cpus*l.cpu + 2*l.diskUtil // runnable tasks and tasks waiting for IO
	l.psiCPU, l.psiIO, l.psiMem = 0.1*l.cpu*l.cpu, 0.05*l.diskUtil, max(0, l.mem-0.8)/2
	l.readIOPS, l.writeIOPS = 1+l.readBytes/65536, 1+l.writeBytes/65536
	l.queue, l.await = l.diskUtil*(1+3*l.diskUtil), 2
	return l
}

func clamp01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

// fsBlocks is the size of host kind k's filesystem in blocks.
func fsBlocks(k kind) int64 {
	if k == fill {
		return fsBlocksFill
	}
	return fsBlocksStatic
}

// fsUsedBlocks is the blocks in use of kind k's filesystem at t: its usage in whole blocks, as the tmpfs holds it.
func (m model) fsUsedBlocks(k kind, t time.Time) int64 {
	u := 0.4
	switch k {
	case fill:
		u = fill0 + fillPerHour*m.hours(t)
	case daily:
		u = 0.5
	}
	return int64(math.Round(clamp01(u) * float64(fsBlocks(k))))
}

// expectedAlert is an alert a host must raise: the alert's name, severity and its target or collector label.
type expectedAlert struct {
	name, severity, detail string
}

// expectedAlerts are the alerts of each scenario; atRiskTargets the targets with a trusted ETA under 24 h.
var (
	expectedAlerts = [kinds][]expectedAlert{
		leak: {{"ServermonMemoryExhaustionForecast", "critical", "memory_usage_ratio"},
			{"ServermonMemoryExhaustionForecast", "warning", "memory_usage_ratio"},
			{"ServermonSwapExhaustionForecast", "critical", "swap_usage_ratio"},
			{"ServermonSwapExhaustionForecast", "warning", "swap_usage_ratio"}},
		fill: {{"ServermonFilesystemFillingUp", "critical", "filesystem_usage_ratio"},
			{"ServermonFilesystemFillingUp", "warning", "filesystem_usage_ratio"}},
		cpuClimb: {{"ServermonCPUSaturationForecast", "warning", "cpu_usage_ratio"}},
		ioClimb:  {{"ServermonDiskSaturationForecast", "warning", "disk_utilization_ratio"}},
		failing:  {{"ServermonCollectorFailing", "warning", "pressure"}},
		down:     {{"ServermonExporterDown", "warning", ""}},
	}
	atRiskTargets = [kinds][]string{leak: {"memory_usage_ratio", "swap_usage_ratio"}, fill: {"filesystem_usage_ratio"},
		cpuClimb: {"cpu_usage_ratio"}, ioClimb: {"disk_utilization_ratio"}}
)

// scenarioOf returns the kind of host i; without namespaces (no private tmpfs to fill) the filling hosts run the
// disk IO scenario instead.
func scenarioOf(i int, filesystems bool) kind {
	k := pattern[i%len(pattern)]
	if k == fill && !filesystems {
		return ioClimb
	}
	return k
}

// hostName is the name the report gives host i.
func hostName(i int) string { return fmt.Sprintf("h%03d", i) }

// loadPeriods are the time constants of the 1, 5 and 15 minute load averages (fakeproc's defaults, the kernel's).
var loadPeriods = [3]time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// towards moves a load average towards load over dt, as the kernel (and fakeproc.Tree.Advance) move it.
func towards(avg, load float64, dt, period time.Duration) float64 {
	return load + (avg-load)*math.Exp(-dt.Seconds()/period.Seconds())
}

// loadAverages are the load averages at t of host h of kind k whose load has followed its levels since from.
func (m model) loadAverages(k kind, h int, from, t time.Time) [3]float64 {
	first := m.levels(k, h, from).load
	avg := [3]float64{first, first, first}
	for q := from; q.Before(t); {
		next := q.Truncate(quarter).Add(quarter)
		if next.After(t) {
			next = t
		}
		l := m.levels(k, h, q).load
		for i, p := range loadPeriods {
			avg[i] = towards(avg[i], l, next.Sub(q), p)
		}
		q = next
	}
	return avg
}
