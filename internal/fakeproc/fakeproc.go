// Package fakeproc writes fake /proc trees in the kernel's spelling, for tests, benchmarks and harnesses that run
// exporters on hosts that do not exist: /proc/stat with per-CPU lines, meminfo, loadavg, diskstats with 14, 18 or
// 20 fields a line, and pressure/{cpu,io,memory} (or no pressure directory, a kernel without PSI).
//
// A Tree holds the fake host's counters and gauges in the kernel's units as exported fields, so a scenario can set
// any of them; Advance moves them on by rates (Levels) over elapsed time, as the kernel's would, and Write puts them
// in the files. Each file is replaced atomically (written to a temporary file in the same directory, then renamed
// over the old one), so a reader never sees half a file, and a file whose content has not changed is not written
// again. Rendering reuses the tree's buffers: a Write allocates nothing beyond what the system calls need, so one
// process can drive hundreds of trees several times a second. Put such trees on a tmpfs (/dev/shm): there a
// replacement costs tens of microseconds, on ext4 about half a millisecond, because ext4 flushes the data of a file
// renamed over another (auto_da_alloc). Tests whose reads and writes take turns can set InPlace instead.
//
// The fault hooks (WriteRaw, Rewrite, Remove) put content in a tree that the counters cannot express: garbage,
// truncated files, numbers out of range, a file or the pressure directory gone. The next Write replaces the
// tree's own files again.
//
// A Tree is not safe for concurrent use; readers of its files need no coordination with it.
package fakeproc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// UserHZ is the tick rate of /proc/stat's CPU columns on every Linux architecture.
const UserHZ = 100

// CPUTimes are the ten columns of one "cpu" line of /proc/stat, in USER_HZ ticks since boot.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal, Guest, GuestNice float64 // in the kernel's column order
}

// StatCounters are the lines of /proc/stat after the CPU lines.
type StatCounters struct {
	Intr         uint64   // interrupts since boot, the first number of the intr line
	IRQs         []uint64 // the per-vector counts after it
	Ctxt         uint64   // context switches since boot
	BootTime     uint64   // btime, Unix seconds
	Processes    uint64   // forks since boot
	ProcsRunning uint64   // tasks runnable now
	ProcsBlocked uint64   // tasks blocked on IO now
	// SoftIRQ is the softirq line: the total, then HI, TIMER, NET_TX, NET_RX, BLOCK, IRQ_POLL, TASKLET, SCHED,
	// HRTIMER and RCU.
	SoftIRQ [11]uint64
}

// Meminfo holds the lines of /proc/meminfo that tell how much memory is used, in kB. The other lines are written
// with the values of a 24 GiB host.
type Meminfo struct {
	MemTotal, MemFree, MemAvailable, Buffers, Cached, SwapCached, SwapTotal, SwapFree uint64 // the lines of these names
}

// LoadAvg is the content of /proc/loadavg.
type LoadAvg struct {
	Load                      [3]float64 // 1, 5 and 15 minute load averages
	Running, Threads, LastPID uint64     // runnable/all tasks, the last PID handed out
}

// Disk is one line of /proc/diskstats: a block device and its counters since it appeared (sectors of 512 bytes,
// times in milliseconds). The kernel keeps the times in 32 bits: they are written modulo 2^32, as it wraps them.
type Disk struct {
	Major, Minor uint32 // device numbers
	Name         string // device name
	// Fields is the line's field count, major, minor and name included: 14 (before Linux 4.18), 18 (with the
	// discard fields) or 20 (with the flush fields, Linux 5.5 on); 0 means 20.
	Fields int

	Reads, ReadsMerged, ReadSectors, ReadMs             float64 // completed reads, merges, sectors, time reading
	Writes, WritesMerged, WriteSectors, WriteMs         float64 // the same for writes
	InFlight, IOMs, WeightedMs                          float64 // in flight now, time busy, time × requests in flight
	Discards, DiscardsMerged, DiscardSectors, DiscardMs float64 // as for reads (18 and 20 fields)
	Flushes, FlushMs                                    float64 // completed flushes, time flushing (20 fields)
}

// Resource names a file of /proc/pressure.
type Resource int

// The resources of /proc/pressure.
const (
	PressureCPU Resource = iota
	PressureIO
	PressureMemory
	resources
)

// String returns the resource's file name.
func (r Resource) String() string {
	switch r {
	case PressureCPU:
		return "cpu"
	case PressureIO:
		return "io"
	case PressureMemory:
		return "memory"
	}
	return "Resource(" + strconv.Itoa(int(r)) + ")"
}

// PSILine is the "some" or "full" line of a pressure file: the stall averages in percent over 10 s, 60 s and
// 300 s, and the total stall time in microseconds.
type PSILine struct {
	Avg10, Avg60, Avg300 float64 // percent
	Total                float64 // µs
}

// PSI is one pressure file.
type PSI struct {
	Some, Full PSILine // some or all non-idle tasks stalled
}

// Machine describes a fake host for New.
type Machine struct {
	CPUs      int    // online CPUs, at least 1: one "cpuN" line each
	MemTotal  uint64 // kB
	SwapTotal uint64 // kB; 0 for a host without swap
	// Disks are the lines of /proc/diskstats, in order, with their initial counters.
	Disks []Disk
	// Pressure lists the files written under pressure/; with none there is no pressure directory.
	Pressure []Resource
	// LoadPeriods are the time constants the load averages move with under Advance; zero means the kernel's 1, 5
	// and 15 minutes. A harness that compresses time shortens them.
	LoadPeriods [3]time.Duration
}

// Tree is a fake /proc directory and the host state it shows. The exported fields are what Write puts in the
// files; set them directly, or let Advance move them.
type Tree struct {
	CPU      CPUTimes       // the "cpu" line: all CPUs together
	PerCPU   []CPUTimes     // the "cpuN" lines
	Stat     StatCounters   // the other lines of stat
	Mem      Meminfo        // meminfo
	Load     LoadAvg        // loadavg
	Disks    []Disk         // the lines of diskstats, in order: append, remove or rename to hot-plug devices
	Pressure [resources]PSI // by Resource; only the machine's resources are written

	// InPlace makes Write rewrite the files in place, through descriptors it keeps open (written at offset 0, then
	// truncated), instead of replacing them: a few microseconds a file on any filesystem, but a reader that reads
	// during a Write can see a mix of old and new content. For tests that read only between writes; Close releases
	// the descriptors.
	InPlace bool

	dir     string
	periods [3]time.Duration
	files   []file
	scratch []byte
}

// file is one file of the tree and what was last written to it.
type file struct {
	name, path, tmp string
	render          func(t *Tree, b []byte) []byte
	last            []byte
	known           bool     // last is the file's content: unset after a fault hook touched the file
	open            *os.File // the file, with InPlace
}

// New writes a tree for m into dir (created if needed): CPUs idle since boot a day ago, all memory and swap free,
// the disks' counters as given, no pressure stalls, load 0.
func New(dir string, m Machine) (*Tree, error) {
	if m.CPUs < 1 {
		return nil, fmt.Errorf("fake /proc: %d CPUs", m.CPUs)
	}
	for _, d := range m.Disks {
		if !validFields(d.Fields) {
			return nil, fmt.Errorf("fake /proc: disk %s: %d fields, want 14, 18 or 20", d.Name, d.Fields)
		}
	}
	t := &Tree{dir: dir, periods: m.LoadPeriods, PerCPU: make([]CPUTimes, m.CPUs), Disks: append([]Disk(nil), m.Disks...)}
	for i, p := range t.periods {
		if p <= 0 {
			t.periods[i] = [3]time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}[i]
		}
	}
	const day = 86400 * UserHZ
	for i := range t.PerCPU {
		t.PerCPU[i].Idle = day
	}
	t.CPU.Idle = day * float64(m.CPUs)
	t.Stat = StatCounters{IRQs: make([]uint64, 64+8*m.CPUs), BootTime: 1700000000, Processes: 1000, ProcsRunning: 1}
	t.Mem = Meminfo{MemTotal: m.MemTotal, MemAvailable: m.MemTotal, Buffers: m.MemTotal / 400, Cached: m.MemTotal / 20,
		SwapTotal: m.SwapTotal, SwapFree: m.SwapTotal}
	t.Mem.MemFree = m.MemTotal - t.Mem.Buffers - t.Mem.Cached
	t.Load = LoadAvg{Running: 1, Threads: 100 + 10*uint64(m.CPUs), LastPID: 1000}
	t.init(m.Pressure)
	if err := t.Write(); err != nil {
		return nil, err
	}
	return t, nil
}

func validFields(n int) bool { return n == 0 || n == 14 || n == 18 || n == 20 }

// init sets up the files of the tree.
func (t *Tree) init(pressure []Resource) {
	add := func(name string, render func(*Tree, []byte) []byte) {
		path := filepath.Join(t.dir, name)
		t.files = append(t.files, file{name: name, path: path, tmp: tmpPath(path), render: render})
	}
	add("stat", (*Tree).appendStat)
	add("meminfo", (*Tree).appendMeminfo)
	add("loadavg", (*Tree).appendLoadAvg)
	add("diskstats", func(t *Tree, b []byte) []byte { return AppendDiskstats(b, t.Disks) })
	for _, r := range pressure {
		add("pressure/"+r.String(), func(t *Tree, b []byte) []byte { return appendPSI(b, t.Pressure[r]) })
	}
}

// Dir returns the tree's directory, the exporters' --path.procfs.
func (t *Tree) Dir() string { return t.dir }

// Write puts the tree's state into its files, each replaced atomically (rewritten in place with InPlace); files
// whose content is unchanged since the last Write are left alone. A file or directory a fault hook removed is
// created again.
func (t *Tree) Write() error {
	for i := range t.files {
		f := &t.files[i]
		t.scratch = f.render(t, t.scratch[:0])
		if f.known && bytes.Equal(t.scratch, f.last) {
			continue
		}
		var err error
		if t.InPlace {
			err = f.rewrite(t.scratch)
		} else {
			err = replace(f.path, f.tmp, t.scratch)
		}
		if err != nil {
			f.known = false
			return err
		}
		f.last, t.scratch = t.scratch, f.last
		f.known = true
	}
	return nil
}

// Close closes the files an InPlace tree holds open. The files stay; a later Write opens them again.
func (t *Tree) Close() error {
	var errs []error
	for i := range t.files {
		errs = append(errs, t.files[i].close())
	}
	return errors.Join(errs...)
}

// rewrite writes b over the file in place, opening it on first use.
func (f *file) rewrite(b []byte) error {
	if f.open == nil {
		file, err := os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o644)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
				return fmt.Errorf("fake /proc: %w", err)
			}
			file, err = os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o644)
		}
		if err != nil {
			return fmt.Errorf("fake /proc: %w", err)
		}
		f.open = file
	}
	if _, err := f.open.WriteAt(b, 0); err != nil {
		f.close()
		return fmt.Errorf("fake /proc: %w", err)
	}
	if err := f.open.Truncate(int64(len(b))); err != nil {
		f.close()
		return fmt.Errorf("fake /proc: %w", err)
	}
	return nil
}

func (f *file) close() error {
	if f.open == nil {
		return nil
	}
	err := f.open.Close()
	f.open = nil
	return err
}

// WriteRaw replaces the file name (relative to the tree, such as "stat" or "pressure/io") with content, atomically.
// The next Write replaces it with the tree's state again, if it is one of the tree's files.
func (t *Tree) WriteRaw(name string, content []byte) error {
	t.forget(name)
	return WriteFile(t.dir, name, content)
}

// Rewrite replaces the file name with edit applied to its current content: a truncation, garbage around it.
func (t *Tree) Rewrite(name string, edit func(old []byte) []byte) error {
	old, err := os.ReadFile(filepath.Join(t.dir, name))
	if err != nil {
		return fmt.Errorf("fake /proc: %w", err)
	}
	return t.WriteRaw(name, edit(old))
}

// Remove removes the file or directory name (such as "meminfo", or "pressure" for a kernel without PSI) until the
// next Write.
func (t *Tree) Remove(name string) error {
	t.forget(name)
	return Remove(t.dir, name)
}

// forget marks the files at or under name as of unknown content, and closes them: a hook replaces or removes them.
func (t *Tree) forget(name string) {
	name = filepath.Clean(name)
	for i := range t.files {
		if f := &t.files[i]; f.name == name || strings.HasPrefix(f.name, name+"/") || name == "." {
			f.known = false
			_ = f.close()
		}
	}
}

// WriteFile writes content to the file name under dir atomically, creating the directories it needs: for fault
// tests and for trees copied from fixtures.
func WriteFile(dir, name string, content []byte) error {
	path := filepath.Join(dir, name)
	return replace(path, tmpPath(path), content)
}

// Remove removes the file or directory name under dir.
func Remove(dir, name string) error {
	if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("fake /proc: %w", err)
	}
	return nil
}

func tmpPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
}

// replace writes b to tmp and renames it over path, creating the directory when it is missing.
func replace(path, tmp string, b []byte) error {
	err := os.WriteFile(tmp, b, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("fake /proc: %w", err)
		}
		err = os.WriteFile(tmp, b, 0o644)
	}
	if err != nil {
		return fmt.Errorf("fake /proc: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("fake /proc: %w", err)
	}
	return nil
}

// Levels are what the fake host does over an interval, as rates: Advance turns them into counters.
type Levels struct {
	// CPU is how CPU time is spent.
	CPU CPUShares
	// MemUsed and SwapUsed set MemAvailable to MemTotal·(1 − MemUsed) and SwapFree to SwapTotal·(1 − SwapUsed).
	MemUsed, SwapUsed float64
	// Load is the number of runnable and uninterruptible tasks the load averages move towards.
	Load float64
	// Disks[i] is what Tree.Disks[i] does; disks beyond it are idle.
	Disks []DiskLevel
	// Stall is, by Resource, the share of wall time some or all non-idle tasks were stalled on it.
	Stall [resources]Stall
}

// CPUShares are the shares of all CPU time (every CPU alike) spent in each mode; idle is what is left of 1.
type CPUShares struct {
	User, Nice, System, IOWait, IRQ, SoftIRQ, Steal float64 // shares in [0, 1]
}

// Busy is a busy share of all CPUs split as a typical server's: 70 % user, 30 % system.
func Busy(share float64) CPUShares { return CPUShares{User: 0.7 * share, System: 0.3 * share} }

// Stall is the share of wall time some or all non-idle tasks were stalled on a resource.
type Stall struct {
	Some, Full float64 // shares in [0, 1]
}

// DiskLevel is what one disk does: the rates iostat -x prints.
type DiskLevel struct {
	ReadIOPS, WriteIOPS       float64       // completed requests per second
	ReadBytes, WriteBytes     float64       // bytes per second
	ReadAwait, WriteAwait     time.Duration // time per request
	DiscardIOPS               float64       // discards per second
	DiscardBytes              float64       // bytes discarded per second
	DiscardAwait              time.Duration // time per discard
	FlushIOPS                 float64       // flushes per second
	FlushAwait                time.Duration // time per flush
	Util                      float64       // share of wall time with requests in flight (%util / 100)
	Queue                     float64       // average number of requests in flight (aqu-sz)
	ReadsMerged, WritesMerged float64       // merges per second
}

// Advance moves the tree's state on by dt at the given levels: CPU times and disk and stall counters grow by rate ×
// dt, memory and swap are set, the load averages decay towards the load as the kernel's do. With dt 0 only the
// gauges are set. The PSI averages stay as set: exporters derive stall shares from the totals.
func (t *Tree) Advance(dt time.Duration, l Levels) {
	sec := max(dt.Seconds(), 0)
	t.advanceCPU(sec*UserHZ, l.CPU)

	t.Mem.MemAvailable = uint64(float64(t.Mem.MemTotal) * (1 - clamp01(l.MemUsed)))
	t.Mem.MemFree = t.Mem.MemAvailable - min(t.Mem.MemAvailable, t.Mem.Buffers+t.Mem.Cached)
	t.Mem.SwapFree = uint64(float64(t.Mem.SwapTotal) * (1 - clamp01(l.SwapUsed)))

	load := max(l.Load, 0)
	for i, p := range t.periods {
		t.Load.Load[i] += (load - t.Load.Load[i]) * -math.Expm1(-sec/p.Seconds())
	}
	t.Load.Running = max(1, uint64(math.Round(load)))

	for i := range min(len(l.Disks), len(t.Disks)) {
		t.Disks[i].advance(sec, &l.Disks[i])
	}
	for r := range t.Pressure {
		t.Pressure[r].Some.Total += sec * 1e6 * clamp01(l.Stall[r].Some)
		t.Pressure[r].Full.Total += sec * 1e6 * clamp01(l.Stall[r].Full)
	}
}

// advanceCPU adds ticks per CPU split by the shares (scaled down if they add up to more than 1).
func (t *Tree) advanceCPU(ticks float64, s CPUShares) {
	s = CPUShares{clamp01(s.User), clamp01(s.Nice), clamp01(s.System), clamp01(s.IOWait), clamp01(s.IRQ),
		clamp01(s.SoftIRQ), clamp01(s.Steal)}
	sum := s.User + s.Nice + s.System + s.IOWait + s.IRQ + s.SoftIRQ + s.Steal
	if sum > 1 {
		ticks /= sum
	}
	add := func(c *CPUTimes, ticks float64) {
		c.User += ticks * s.User
		c.Nice += ticks * s.Nice
		c.System += ticks * s.System
		c.IOWait += ticks * s.IOWait
		c.IRQ += ticks * s.IRQ
		c.SoftIRQ += ticks * s.SoftIRQ
		c.Steal += ticks * s.Steal
		c.Idle += ticks * max(0, 1-sum)
	}
	for i := range t.PerCPU {
		add(&t.PerCPU[i], ticks)
	}
	add(&t.CPU, ticks*float64(max(1, len(t.PerCPU))))
}

func (d *Disk) advance(sec float64, l *DiskLevel) {
	ms := func(a time.Duration) float64 { return float64(a) / float64(time.Millisecond) }
	d.Reads += sec * l.ReadIOPS
	d.ReadsMerged += sec * l.ReadsMerged
	d.ReadSectors += sec * l.ReadBytes / 512
	d.ReadMs += sec * l.ReadIOPS * ms(l.ReadAwait)
	d.Writes += sec * l.WriteIOPS
	d.WritesMerged += sec * l.WritesMerged
	d.WriteSectors += sec * l.WriteBytes / 512
	d.WriteMs += sec * l.WriteIOPS * ms(l.WriteAwait)
	d.Discards += sec * l.DiscardIOPS
	d.DiscardSectors += sec * l.DiscardBytes / 512
	d.DiscardMs += sec * l.DiscardIOPS * ms(l.DiscardAwait)
	d.Flushes += sec * l.FlushIOPS
	d.FlushMs += sec * l.FlushIOPS * ms(l.FlushAwait)
	d.IOMs += sec * 1000 * clamp01(l.Util)
	d.WeightedMs += sec * 1000 * max(0, l.Queue)
}

func clamp01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }
