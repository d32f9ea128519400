package collector

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/procfs"
)

// The memory and swap forecast targets.
var (
	memoryUsageTarget = &Target{Name: "memory_usage_ratio", Title: "Memory usage", Max: 1, ThresholdFlag: "memory", ThresholdDefault: 0.95}
	swapUsageTarget   = &Target{Name: "swap_usage_ratio", Title: "Swap usage", Max: 1, ThresholdFlag: "swap", ThresholdDefault: 0.9}
)

var (
	memTotalFamily = &Family{
		Name: "servermon_memory_total_bytes",
		Help: "Usable RAM (MemTotal).",
	}
	memAvailableFamily = &Family{
		Name: "servermon_memory_available_bytes",
		Help: "Memory available for new work without swapping (MemAvailable; MemFree+Buffers+Cached+SReclaimable on kernels before 3.14).",
	}
	memUsageFamily = &Family{
		Name:     "servermon_memory_usage_ratio",
		Help:     "Share of RAM in use, 1 - available/total.",
		PeakName: "servermon_memory_usage_peak_ratio",
		PeakHelp: "Highest sampled share of RAM in use, 1 - available/total.",
		Max:      1,
		Target:   memoryUsageTarget,
	}
	swapTotalFamily = &Family{
		Name: "servermon_swap_total_bytes",
		Help: "Swap space configured (SwapTotal).",
	}
	swapUsageFamily = &Family{
		Name:   "servermon_swap_usage_ratio",
		Help:   "Share of swap space in use, 1 - SwapFree/SwapTotal (0 without swap).",
		Max:    1,
		Target: swapUsageTarget,
	}
)

type memorySource struct {
	proc    ProcFS
	file    *procFile
	reading meminfoReading

	total, available, swapTotal, swapFree uint64

	gTotal, gAvailable, gUsage, gSwapTotal, gSwapUsage *Gauge
}

// NewMemory returns the source of /proc/meminfo.
func NewMemory(proc ProcFS) Source {
	return &memorySource{proc: proc, file: proc.file("meminfo", true)}
}

func (m *memorySource) Name() string { return "memory" }

func (m *memorySource) Read(time.Duration) error {
	data, err := m.file.read()
	if err != nil {
		return fmt.Errorf("reading meminfo: %w", err)
	}
	mi, err := m.parse(data)
	if err != nil {
		return err
	}
	total, available, err := memAvailable(mi)
	if err != nil {
		return err
	}
	m.total, m.available = total, available
	m.swapTotal, m.swapFree = value(mi.SwapTotalBytes), value(mi.SwapFreeBytes)
	if m.swapFree > m.swapTotal {
		return fmt.Errorf("meminfo: SwapFree %d exceeds SwapTotal %d", m.swapFree, m.swapTotal)
	}
	return nil
}

// parse parses /proc/meminfo's content, through procfs when the fast parser does not take it.
func (m *memorySource) parse(data []byte) (*procfs.Meminfo, error) {
	if parseMeminfo(data, &m.reading) {
		return &m.reading.info, nil
	}
	mi, err := m.proc.fs.Meminfo()
	if err != nil {
		return nil, fmt.Errorf("reading meminfo: %w", err)
	}
	return &mi, nil
}

// Close closes /proc/meminfo.
func (m *memorySource) Close() error { return m.file.Close() }

// memAvailable returns MemTotal and the memory available, in bytes. Kernels before 3.14 have no MemAvailable; there
// the estimate is MemFree+Buffers+Cached+SReclaimable, the reclaimable memory free(1) used to report, which
// overstates what is available a little (not all page cache can be dropped).
func memAvailable(mi *procfs.Meminfo) (total, available uint64, err error) {
	if mi.MemTotalBytes == nil || *mi.MemTotalBytes == 0 {
		return 0, 0, errors.New("meminfo: no MemTotal")
	}
	total = *mi.MemTotalBytes
	if mi.MemAvailableBytes != nil {
		available = *mi.MemAvailableBytes
	} else {
		if mi.MemFreeBytes == nil {
			return 0, 0, errors.New("meminfo: neither MemAvailable nor MemFree")
		}
		available = *mi.MemFreeBytes + value(mi.BuffersBytes) + value(mi.CachedBytes) + value(mi.SReclaimableBytes)
	}
	if available > total {
		available = total
	}
	return total, available, nil
}

func value(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func (m *memorySource) Update(st *Store) {
	if m.gTotal == nil {
		m.gTotal, m.gAvailable, m.gUsage = st.Gauge(memTotalFamily), st.Gauge(memAvailableFamily), st.Gauge(memUsageFamily)
		m.gSwapTotal, m.gSwapUsage = st.Gauge(swapTotalFamily), st.Gauge(swapUsageFamily)
	}
	st.Set(m.gTotal, float64(m.total))
	st.Set(m.gAvailable, float64(m.available))
	st.Set(m.gUsage, 1-float64(m.available)/float64(m.total))
	st.Set(m.gSwapTotal, float64(m.swapTotal))
	swap := 0.0
	if m.swapTotal > 0 {
		swap = 1 - float64(m.swapFree)/float64(m.swapTotal)
	}
	st.Set(m.gSwapUsage, swap)
}
