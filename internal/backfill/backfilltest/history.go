// Package backfilltest writes synthetic history for the backfill's tests: a host whose CPU follows a daily cycle,
// whose memory leaks at a known rate and that has one disk and one filesystem filling up, as node_exporter and as servermon_exporter would have
// exported it, in the OpenMetrics text format that `promtool tsdb create-blocks-from openmetrics` turns into
// Prometheus blocks. It also writes a fake /proc that continues that history, and says what the exporter's
// definitions give for every step (the known answers).
package backfilltest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/childproc"
	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// Model is the host's behaviour. Every value is constant within a step of Step (aligned to the Unix epoch), so
// that a step's mean is known exactly.
type Model struct {
	// End is where the memory leak reaches MemoryNow; history is written up to it.
	End  time.Time
	Step time.Duration
	// Host is the instance label's host part.
	Host string
}

// The model's constants.
const (
	CPUMean, CPUAmplitude = 0.35, 0.25 // busy share: a daily cycle around the mean
	CPUNoise              = 0.02
	Iowait                = 0.02 // iowait share, not busy
	MemoryNow             = 0.88 // memory usage at End
	MemoryLeakPerDay      = 0.09 // its growth per day
	MemTotalBytes         = 8 << 30
	SwapTotalBytes        = 2 << 30
	CPUs                  = 2
	Disk                  = "sda"
	// The filesystem: FSDevice of FSType mounted at FSMountpoint, FSSizeBytes with FSReserved of it for root,
	// filling at FSFillPerDay of df's Use% a day to FSUsageNow at End, its inodes at FSInodes in use.
	FSDevice, FSMountpoint, FSType = "/dev/sdb", "/data", "ext4"
	FSSizeBytes                    = 1 << 40
	FSReserved                     = 0.05
	FSUsageNow, FSFillPerDay       = 0.8, 0.03
	FSFiles, FSInodes              = 1 << 26, 0.3
	day                            = 24 * time.Hour
)

// SeriesLabels are the label names and values of the model's series of a target: none for a host-wide one, the
// disk's or the filesystem's for per-device ones.
func SeriesLabels(t *collector.Target) (names, values []string) {
	switch {
	case !t.PerDevice():
		return nil, nil
	case strings.HasPrefix(t.Name, "filesystem_"):
		return []string{"device", "mountpoint", "fstype"}, []string{FSDevice, FSMountpoint, FSType}
	}
	return []string{"device"}, []string{Disk}
}

// Noise is a deterministic uniform value in [-1, 1] for a step index and a stream: the same arguments give the
// same value in every run, and different streams are independent.
func Noise(idx int64, stream uint64) float64 {
	z := uint64(idx)*0x9e3779b97f4a7c15 + stream*0xbf58476d1ce4e5b9
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11)/float64(1<<52) - 1
}

// step returns the start of the step holding t and its index.
func (m Model) step(t time.Time) (time.Time, int64) {
	s := t.Truncate(m.Step)
	return s, s.UnixNano() / int64(m.Step)
}

func phase(t time.Time, shift float64) float64 {
	return math.Sin(2*math.Pi*float64(t.UnixNano()%int64(day))/float64(day) + shift)
}

// CPUBusy is the busy share (not idle, not iowait) of all CPUs in the step holding t.
func (m Model) CPUBusy(t time.Time) float64 {
	s, i := m.step(t)
	return CPUMean + CPUAmplitude*phase(s, 0) + CPUNoise*Noise(i, 1)
}

// MemoryUsage is 1 − MemAvailable/MemTotal in the step holding t.
func (m Model) MemoryUsage(t time.Time) float64 {
	s, i := m.step(t)
	return MemoryNow - MemoryLeakPerDay*m.End.Sub(s).Hours()/24 + 0.002*Noise(i, 2)
}

// SwapUsage is 1 − SwapFree/SwapTotal in the step holding t.
func (m Model) SwapUsage(t time.Time) float64 {
	s, _ := m.step(t)
	return 0.1 + 0.05*phase(s, 2)
}

// Load1 is the 1-minute load average in the step holding t.
func (m Model) Load1(t time.Time) float64 {
	s, i := m.step(t)
	return 1 + 0.8*phase(s, 0.3) + 0.05*Noise(i, 3)
}

// DiskUtilization is sda's share of time busy in the step holding t.
func (m Model) DiskUtilization(t time.Time) float64 {
	s, _ := m.step(t)
	return 0.2 + 0.1*phase(s, 1)
}

// DiskReadBytes and DiskWriteBytes are sda's bytes per second in the step holding t.
func (m Model) DiskReadBytes(t time.Time) float64 {
	s, _ := m.step(t)
	return 5e6 * (1 + 0.5*phase(s, 0.5))
}

// DiskWriteBytes is sda's bytes written per second in the step holding t.
func (m Model) DiskWriteBytes(t time.Time) float64 {
	s, _ := m.step(t)
	return 2e6 * (1 + 0.3*phase(s, 1.5))
}

// FilesystemUsage is df's Use% of the filesystem in the step holding t: used / (used + avail).
func (m Model) FilesystemUsage(t time.Time) float64 {
	s, i := m.step(t)
	return FSUsageNow - FSFillPerDay*m.End.Sub(s).Hours()/24 + 0.001*Noise(i, 4)
}

// FilesystemInodes is the share of the filesystem's inodes in use in the step holding t.
func (m Model) FilesystemInodes(t time.Time) float64 {
	s, _ := m.step(t)
	return FSInodes + 0.01*phase(s, 0.7)
}

// fsBytes are the filesystem's size, free and available bytes in the step holding t, as statfs gives them: the
// usage u = used / (used + avail) with used = size − free and avail = free − reserved.
func (m Model) fsBytes(t time.Time) (size, free, avail float64) {
	size = FSSizeBytes
	usable := size * (1 - FSReserved)
	avail = math.Round((1 - m.FilesystemUsage(t)) * usable)
	return size, avail + size*FSReserved, avail
}

// Value is the known answer of a forecast target (collector.Target name) for the step holding t.
func (m Model) Value(target string, t time.Time) float64 {
	switch target {
	case "cpu_usage_ratio":
		return m.CPUBusy(t)
	case "memory_usage_ratio":
		return m.MemoryUsage(t)
	case "swap_usage_ratio":
		return m.SwapUsage(t)
	case "load1":
		return m.Load1(t)
	case "disk_utilization_ratio":
		return m.DiskUtilization(t)
	case "disk_read_bytes_per_second":
		return m.DiskReadBytes(t)
	case "disk_write_bytes_per_second":
		return m.DiskWriteBytes(t)
	case "filesystem_usage_ratio":
		size, free, avail := m.fsBytes(t)
		return (size - free) / (size - free + avail)
	case "filesystem_inodes_usage_ratio":
		return math.Round(m.FilesystemInodes(t)*FSFiles) / FSFiles
	}
	return math.NaN()
}

// NodeValue is what the exporter's definitions give from node_exporter's series scraped every interval for the
// step starting at s: for a counter, the mean rate of the increases between the scrapes that end in [s, s + Step)
// (each increase covers the interval before its scrape); for a gauge, the value of the step.
func (m Model) NodeValue(target string, s time.Time, interval time.Duration) float64 {
	switch target {
	case "cpu_usage_ratio", "disk_utilization_ratio", "disk_read_bytes_per_second", "disk_write_bytes_per_second":
		sum, n := 0.0, 0
		for t := s.Truncate(interval); t.Before(s.Add(m.Step)); t = t.Add(interval) {
			if !t.Before(s) {
				sum, n = sum+m.Value(target, t.Add(-interval)), n+1
			}
		}
		return sum / float64(n)
	}
	return m.Value(target, s)
}

// Writer writes samples in the OpenMetrics text format, remembering the first error. Given a Part, it writes the
// samples in [From, To) only.
type Writer struct {
	w      *bufio.Writer
	lo, hi time.Time
	err    error
}

// NewWriter returns a Writer to out; End finishes the file.
func NewWriter(out io.Writer) *Writer {
	w := &Writer{w: bufio.NewWriter(out)}
	if p, ok := out.(*Part); ok {
		w.lo, w.hi = p.From, p.To
	}
	return w
}

// Part is a writer of the samples in [From, To) only: the history of a long span is written in parts, each made
// into blocks on its own (promtool reads its whole input again for every 2 h block it makes).
type Part struct {
	io.Writer
	From, To time.Time
}

// Sample writes one sample of the series name{labels} (labels without braces) at a millisecond timestamp.
func (w *Writer) Sample(name, labels string, v float64, at time.Time) {
	if !w.hi.IsZero() && (at.Before(w.lo) || !at.Before(w.hi)) {
		return
	}
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, "%s{%s} %g %.3f\n", name, labels, v, float64(at.UnixMilli())/1000)
	}
}

// Series writes one series at every interval in (from, to]: value gives the sample at t from the interval
// (t − interval, t] (a counter adds to its total).
func (w *Writer) Series(name, labels string, from, to time.Time, interval time.Duration, value func(t time.Time) float64) {
	w.each(name, labels, from, to, interval, value, false)
}

// each writes a series; a stateful one (a counter) is computed from its start even where it is not written.
func (w *Writer) each(name, labels string, from, to time.Time, interval time.Duration, value func(t time.Time) float64, stateful bool) {
	t := from.Add(interval)
	if !stateful && !w.hi.IsZero() && t.Before(w.lo) {
		t = t.Add(w.lo.Sub(t).Truncate(interval))
	}
	for ; !t.After(to) && (w.hi.IsZero() || t.Before(w.hi)); t = t.Add(interval) {
		w.Sample(name, labels, value(t), t)
	}
}

// counter is a counter's value function: it adds rate(t − interval) × interval at every sample, and restarts
// from zero (a reboot) at reset.
func counter(rate func(time.Time) float64, interval time.Duration, reset time.Time) func(time.Time) float64 {
	total := 1e6
	return func(t time.Time) float64 {
		if !t.Before(reset) && t.Add(-interval).Before(reset) {
			total = 0
		}
		total += rate(t.Add(-interval)) * interval.Seconds()
		return total
	}
}

// WriteNodeExporter writes node_exporter's series of the host for (from, to], scraped every interval, with the
// counters reset (a reboot) at reset. Besides sda it has a partition sda1 and a loop0, which the default device
// filter drops, and its CPUs differ from each other, so that a wrong aggregation shows.
func WriteNodeExporter(out io.Writer, m Model, from, to time.Time, interval time.Duration, reset time.Time) error {
	w := NewWriter(out)
	inst := fmt.Sprintf(`instance="%s:9100",job="node"`, m.Host)
	w.Series("node_exporter_build_info", inst+`,version="1.5.0"`, from, to, interval, func(time.Time) float64 { return 1 })
	for cpu := range CPUs {
		skew := 0.05 * float64(2*cpu-1) // cpu0 less busy, cpu1 more: the host's share is the mean
		busy := func(t time.Time) float64 { return min(1-Iowait, max(0, m.CPUBusy(t)+skew)) }
		modes := map[string]func(time.Time) float64{
			"user":    func(t time.Time) float64 { return 0.7 * busy(t) },
			"system":  func(t time.Time) float64 { return 0.2 * busy(t) },
			"softirq": func(t time.Time) float64 { return 0.1 * busy(t) },
			"nice":    func(time.Time) float64 { return 0 },
			"irq":     func(time.Time) float64 { return 0 },
			"steal":   func(time.Time) float64 { return 0 },
			"iowait":  func(time.Time) float64 { return Iowait },
			"idle":    func(t time.Time) float64 { return 1 - Iowait - busy(t) },
		}
		for _, mode := range []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"} {
			w.each("node_cpu_seconds_total", fmt.Sprintf(`cpu="%d",%s,mode="%s"`, cpu, inst, mode), from, to, interval,
				counter(modes[mode], interval, reset), true)
		}
	}
	disks := []struct {
		name              string
		util, read, write func(time.Time) float64
	}{
		{Disk, m.DiskUtilization, m.DiskReadBytes, m.DiskWriteBytes},
		{"sda1", func(time.Time) float64 { return 0.9 }, func(time.Time) float64 { return 9e8 }, func(time.Time) float64 { return 9e8 }},
		{"loop0", func(time.Time) float64 { return 0.9 }, func(time.Time) float64 { return 9e8 }, func(time.Time) float64 { return 9e8 }},
	}
	for _, metric := range []string{"node_disk_io_time_seconds_total", "node_disk_read_bytes_total", "node_disk_written_bytes_total"} {
		for _, d := range disks {
			rate := map[string]func(time.Time) float64{"node_disk_io_time_seconds_total": d.util,
				"node_disk_read_bytes_total": d.read, "node_disk_written_bytes_total": d.write}[metric]
			w.each(metric, fmt.Sprintf(`device="%s",%s`, d.name, inst), from, to, interval, counter(rate, interval, reset), true)
		}
	}
	w.Series("node_load1", inst, from, to, interval, m.Load1)
	w.Series("node_memory_MemAvailable_bytes", inst, from, to, interval, func(t time.Time) float64 {
		return math.Round((1 - m.MemoryUsage(t)) * MemTotalBytes)
	})
	w.Series("node_memory_MemTotal_bytes", inst, from, to, interval, func(time.Time) float64 { return MemTotalBytes })
	w.Series("node_memory_SwapFree_bytes", inst, from, to, interval, func(t time.Time) float64 {
		return math.Round((1 - m.SwapUsage(t)) * SwapTotalBytes)
	})
	w.Series("node_memory_SwapTotal_bytes", inst, from, to, interval, func(time.Time) float64 { return SwapTotalBytes })
	// The filesystem, and a squashfs the default filesystem type filter drops.
	for _, fs := range []struct {
		labels            string
		size, free, avail func(time.Time) float64
		files, filesFree  func(time.Time) float64
	}{
		{fmt.Sprintf(`device=%q,fstype=%q,mountpoint=%q,%s`, FSDevice, FSType, FSMountpoint, inst),
			func(t time.Time) float64 { s, _, _ := m.fsBytes(t); return s },
			func(t time.Time) float64 { _, f, _ := m.fsBytes(t); return f },
			func(t time.Time) float64 { _, _, a := m.fsBytes(t); return a },
			func(time.Time) float64 { return FSFiles },
			func(t time.Time) float64 { return FSFiles - math.Round(m.FilesystemInodes(t)*FSFiles) }},
		{`device="/dev/loop3",fstype="squashfs",mountpoint="/snap/core/17200",` + inst,
			func(time.Time) float64 { return 1 << 30 }, func(time.Time) float64 { return 1 << 20 }, func(time.Time) float64 { return 1 << 20 },
			func(time.Time) float64 { return 1 << 20 }, func(time.Time) float64 { return 1 << 10 }},
	} {
		w.Series("node_filesystem_size_bytes", fs.labels, from, to, interval, fs.size)
		w.Series("node_filesystem_free_bytes", fs.labels, from, to, interval, fs.free)
		w.Series("node_filesystem_avail_bytes", fs.labels, from, to, interval, fs.avail)
		w.Series("node_filesystem_files", fs.labels, from, to, interval, fs.files)
		w.Series("node_filesystem_files_free", fs.labels, from, to, interval, fs.filesFree)
	}
	return w.End()
}

// windowMean is the mean of f over the seconds of (t − window, t], as the exporter's window gauges are.
func windowMean(f func(time.Time) float64, t time.Time, window time.Duration) float64 {
	sum, n := 0.0, 0
	for s := t.Add(-window + time.Second); !s.After(t); s = s.Add(time.Second) {
		sum += f(s.Add(-time.Second)) // the second (s − 1 s, s]
		n++
	}
	return sum / float64(n)
}

// WriteServermon writes servermon_exporter's observed gauges of the host for (from, to], scraped every interval:
// window means over window of the model, but load1, which is the latest value.
func WriteServermon(out io.Writer, m Model, from, to time.Time, interval, window time.Duration) error {
	w := NewWriter(out)
	inst := fmt.Sprintf(`instance="%s:9843",job="servermon"`, m.Host)
	mean := func(f func(time.Time) float64) func(time.Time) float64 {
		return func(t time.Time) float64 { return windowMean(f, t, window) }
	}
	w.Series("servermon_build_info", inst+`,version="0.1.0"`, from, to, interval, func(time.Time) float64 { return 1 })
	w.Series("servermon_cpu_usage_ratio", inst, from, to, interval, mean(m.CPUBusy))
	dev := `device="` + Disk + `",` + inst
	w.Series("servermon_disk_read_bytes_per_second", dev, from, to, interval, mean(m.DiskReadBytes))
	w.Series("servermon_disk_utilization_ratio", dev, from, to, interval, mean(m.DiskUtilization))
	w.Series("servermon_disk_write_bytes_per_second", dev, from, to, interval, mean(m.DiskWriteBytes))
	w.Series("servermon_load1", inst, from, to, interval, func(t time.Time) float64 { return m.Load1(t.Add(-time.Second)) })
	w.Series("servermon_memory_usage_ratio", inst, from, to, interval, mean(m.MemoryUsage))
	w.Series("servermon_swap_usage_ratio", inst, from, to, interval, mean(m.SwapUsage))
	// The filesystem families are latest reads, as load1.
	fs := fmt.Sprintf(`device=%q,fstype=%q,mountpoint=%q,%s`, FSDevice, FSType, FSMountpoint, inst)
	for _, target := range []string{"filesystem_usage_ratio", "filesystem_inodes_usage_ratio"} {
		w.Series("servermon_"+target, fs, from, to, interval, func(t time.Time) float64 { return m.Value(target, t.Add(-time.Second)) })
	}
	return w.End()
}

// End writes the end marker and flushes; it returns the first error of any write.
func (w *Writer) End() error {
	if w.err == nil {
		_, w.err = io.WriteString(w.w, "# EOF\n")
	}
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// MakeBlocks turns an OpenMetrics file into Prometheus blocks in dataDir with promtool.
func MakeBlocks(ctx context.Context, promtool, file, dataDir string) error {
	out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", file, dataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtool tsdb create-blocks-from openmetrics %s: %w\n%s", file, err, out)
	}
	return nil
}

// CreateBlocks is MakeBlocks, failing t on an error.
func CreateBlocks(ctx context.Context, t testing.TB, promtool, file, dataDir string) {
	t.Helper()
	if err := MakeBlocks(ctx, promtool, file, dataDir); err != nil {
		t.Fatal(err)
	}
}

// BuildHistory writes the history of [from, to] with write, in parts aligned to multiples of part (since the Unix
// epoch, as Prometheus aligns its blocks), and makes blocks of each in dataDir, workers parts at a time. write must
// write the same history whatever part it is given (Part). The parts' files are written in dir and removed.
func BuildHistory(ctx context.Context, promtool, dir, dataDir string, from, to time.Time, part time.Duration, workers int,
	write func(io.Writer) error) error {
	var parts []Part
	for lo := from; !lo.After(to); {
		hi := lo.Truncate(part).Add(part)
		if hi.After(to) {
			hi = to.Add(time.Millisecond) // the samples at to too
		}
		parts = append(parts, Part{From: lo, To: hi})
		lo = hi
	}
	errs := make([]error, len(parts))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				errs[i] = buildPart(ctx, promtool, filepath.Join(dir, fmt.Sprintf("history-%d.om", i)), dataDir, parts[i], write)
			}
		})
	}
	for i := range parts {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// buildPart writes one part of the history to path and makes blocks of it.
func buildPart(ctx context.Context, promtool, path, dataDir string, p Part, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer os.Remove(path)
	p.Writer = f
	err = write(&p)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return MakeBlocks(ctx, promtool, path, dataDir)
}

// WriteHistory is BuildHistory in parts of a day, one at a time, failing t on an error.
func WriteHistory(ctx context.Context, t testing.TB, promtool, dir, dataDir string, from, to time.Time, write func(io.Writer) error) {
	t.Helper()
	if err := BuildHistory(ctx, promtool, dir, dataDir, from, to, day, 1, write); err != nil {
		t.Fatal(err)
	}
}

// WriteProc writes a fake /proc into dir (internal/fakeproc) whose values are the model's at End: memory and swap
// usage, load and an idle sda. Its counters do not move, so the exporter's live CPU and disk steps stay missing or
// zero for the few steps a test runs. Its mount table (1/mountinfo) holds the model's filesystem at FSMountpoint:
// an exporter given a --path.rootfs with that directory in it statfs'es it there.
func WriteProc(dir string, m Model) error {
	tree, err := fakeproc.New(dir, fakeproc.Machine{CPUs: CPUs, MemTotal: MemTotalBytes / 1024, SwapTotal: SwapTotalBytes / 1024,
		Disks: []fakeproc.Disk{{Major: 8, Name: Disk, Reads: 1000, ReadSectors: 80000, IOMs: 3000}}})
	if err != nil {
		return err
	}
	last := m.End.Add(-m.Step)
	tree.Mem.MemAvailable = uint64((1 - m.MemoryUsage(last)) * MemTotalBytes / 1024)
	tree.Mem.MemFree = tree.Mem.MemAvailable / 2
	tree.Mem.SwapFree = uint64((1 - m.SwapUsage(last)) * SwapTotalBytes / 1024)
	tree.Load.Load = [3]float64{m.Load1(last), 0.4, 0.3}
	mountinfo := fmt.Sprintf("1 0 8:16 / %s rw,relatime shared:1 - %s %s rw\n", FSMountpoint, FSType, FSDevice)
	return errors.Join(tree.Write(), tree.WriteRaw("1/mountinfo", []byte(mountinfo)), tree.Close())
}

// Latest tells the targets whose families are the latest read (load1, the filesystems) from the window means.
func Latest(target string) bool { return target == "load1" || strings.HasPrefix(target, "filesystem_") }

// OwnValue is what the exporter's own series give for the step starting at s when scraped every interval with
// window means over window: the mean of the window means scraped in [s + window/2, s + Step + window/2), whose
// windows are centred in the step; for a latest read (Latest), the mean of the scrapes in [s, s + Step).
func (m Model) OwnValue(target string, s time.Time, interval, window time.Duration) float64 {
	f := func(t time.Time) float64 { return m.Value(target, t) }
	lo := s.Add(window / 2)
	if Latest(target) {
		lo = s
	}
	sum, n := 0.0, 0
	for t := lo.Truncate(interval); t.Before(lo.Add(m.Step)); t = t.Add(interval) {
		switch {
		case t.Before(lo):
		case Latest(target):
			sum, n = sum+f(t.Add(-time.Second)), n+1
		default:
			sum, n = sum+windowMean(f, t, window), n+1
		}
	}
	return sum / float64(n)
}

// Lookup finds one of the names of a program in PATH, or returns an error that says how to install it: .ci/deps
// installs every program the tests and benchmarks need.
func Lookup(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %v found in PATH: install Debian's prometheus (prometheus, promtool) and "+
		"prometheus-node-exporter packages; run .ci/deps (or make deps)", names)
}

// Require is Lookup, failing (never skipping) t when the program is missing.
func Require(t testing.TB, names ...string) string {
	t.Helper()
	p, err := Lookup(names...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// LaunchPrometheus starts the prometheus binary bin with config (YAML, written to dir/prometheus.yml) and its
// storage in dataDir, on a free loopback port, with its output in dir/prometheus.log, and waits until it is ready.
// It returns the process, which the caller stops, and its base URL.
func LaunchPrometheus(ctx context.Context, bin, dir, dataDir, config string, args ...string) (*childproc.Process, string, error) {
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return nil, "", fmt.Errorf("prometheus configuration: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, append([]string{"--config.file=" + path, "--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + addr}, args...)...)
	cmd.Dir = dir
	p, err := childproc.Start("prometheus", cmd, filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, "", err
	}
	url := "http://" + addr
	if err := p.WaitReady(ctx, url+"/-/ready"); err != nil {
		_, _ = p.Stop(10 * time.Second)
		return nil, "", fmt.Errorf("%w\n%s", err, p.LogTail(30))
	}
	return p, url, nil
}

// Prometheus starts Debian's prometheus as LaunchPrometheus does and stops it when the test ends.
func Prometheus(ctx context.Context, t testing.TB, dir, dataDir, config string, args ...string) (*childproc.Process, string) {
	t.Helper()
	p, url, err := LaunchPrometheus(ctx, Require(t, "prometheus"), dir, dataDir, config, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := p.Stop(10 * time.Second); errors.Is(err, childproc.ErrKilled) {
			t.Log(err)
		}
	})
	return p, url
}
