package collector

import (
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/prometheus/procfs/blockdevice"
)

// DefaultDiskExclude is node_exporter's default: RAM disks, loop devices, floppies and partitions, whose IO is
// already counted on the whole disk.
const DefaultDiskExclude = `^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`

// sectorBytes is the unit of the sector columns of /proc/diskstats, 512 whatever the device's sector size.
const sectorBytes = 512

var diskLabels = []string{"device"}

// The per-disk forecast targets, three series a disk.
var (
	diskGroup       = &SeriesGroup{Name: "disk", DefaultMax: 96, Per: "3 per disk"}
	diskUtilTarget  = &Target{Name: "disk_utilization_ratio", Title: "Disk utilisation", Max: 1, ThresholdFlag: "disk", ThresholdDefault: 0.9, Group: diskGroup}
	diskReadTarget  = &Target{Name: "disk_read_bytes_per_second", Title: "Disk reads", Max: math.Inf(1), Group: diskGroup}
	diskWriteTarget = &Target{Name: "disk_write_bytes_per_second", Title: "Disk writes", Max: math.Inf(1), Group: diskGroup}
)

var (
	diskReadBytesFamily = &Family{Name: "servermon_disk_read_bytes_per_second", LabelNames: diskLabels,
		Help: "Bytes read per second (iostat rkB/s, in bytes).", Target: diskReadTarget}
	diskWriteBytesFamily = &Family{Name: "servermon_disk_write_bytes_per_second", LabelNames: diskLabels,
		Help: "Bytes written per second (iostat wkB/s, in bytes).", Target: diskWriteTarget}
	diskReadsFamily = &Family{Name: "servermon_disk_reads_per_second", LabelNames: diskLabels,
		Help: "Reads completed per second (iostat r/s)."}
	diskWritesFamily = &Family{Name: "servermon_disk_writes_per_second", LabelNames: diskLabels,
		Help: "Writes completed per second (iostat w/s)."}
	diskReadAwaitFamily = &Family{Name: "servermon_disk_read_await_seconds", LabelNames: diskLabels,
		Help: "Mean time a completed read took, queueing included (iostat r_await, in seconds; 0 without reads)."}
	diskWriteAwaitFamily = &Family{Name: "servermon_disk_write_await_seconds", LabelNames: diskLabels,
		Help: "Mean time a completed write took, queueing included (iostat w_await, in seconds; 0 without writes)."}
	diskQueueFamily = &Family{Name: "servermon_disk_queue_length", LabelNames: diskLabels,
		Help: "Mean number of requests queued or in service (iostat aqu-sz)."}
	diskUtilFamily = &Family{Name: "servermon_disk_utilization_ratio", LabelNames: diskLabels,
		Help:     "Share of time the device had IO in flight (iostat %util, as a ratio).",
		PeakName: "servermon_disk_utilization_peak_ratio",
		PeakHelp: "Highest per-interval share of time the device had IO in flight (iostat %util, as a ratio).",
		Max:      1, Target: diskUtilTarget}
	// Kernels before 4.18 have no discard fields in /proc/diskstats, before 5.5 no flush fields; the families are
	// then absent for the device rather than 0.
	diskDiscardsFamily = &Family{Name: "servermon_disk_discards_per_second", LabelNames: diskLabels,
		Help: "Discard requests completed per second (iostat d/s)."}
	diskDiscardBytesFamily = &Family{Name: "servermon_disk_discard_bytes_per_second", LabelNames: diskLabels,
		Help: "Bytes discarded per second (iostat dkB/s, in bytes)."}
	diskDiscardAwaitFamily = &Family{Name: "servermon_disk_discard_await_seconds", LabelNames: diskLabels,
		Help: "Mean time a completed discard took, queueing included (iostat d_await, in seconds; 0 without discards)."}
	diskFlushesFamily = &Family{Name: "servermon_disk_flushes_per_second", LabelNames: diskLabels,
		Help: "Flush requests completed per second (iostat f/s)."}
	diskFlushAwaitFamily = &Family{Name: "servermon_disk_flush_await_seconds", LabelNames: diskLabels,
		Help: "Mean time a completed flush took, queueing included (iostat f_await, in seconds; 0 without flushes)."}
)

// Field counts of a /proc/diskstats line (major, minor and name included) from which it has the discard fields
// (Linux 4.18) and the flush fields (5.5).
const (
	diskstatsDiscardFields = 18
	diskstatsFlushFields   = 20
)

// DiskConfig selects the devices of the disk collector.
type DiskConfig struct {
	// Include, when set, keeps only devices whose name matches.
	Include *regexp.Regexp
	// Exclude drops devices whose name matches (applied after Include).
	Exclude *regexp.Regexp
}

// Wants reports whether the filters keep device.
func (c DiskConfig) Wants(device string) bool { return matches(c.Include, c.Exclude, device) }

type diskGauges struct {
	readBytes, writeBytes, reads, writes, readAwait, writeAwait, queue, util *Gauge
	// nil where the device's lines lack the fields
	discards, discardBytes, discardAwait *Gauge
	flushes, flushAwait                  *Gauge
}

// diskDevice is one line of /proc/diskstats across readings. Devices are keyed by name, so the name is allocated
// once, when the device first appears; a device that is not in a reading is forgotten.
type diskDevice struct {
	name   string
	wanted bool // passes the include/exclude filters, decided once
	seen   uint64
	// cur was read at reading curSeq, prev at prevSeq; a rate needs prevSeq = curSeq-1. curFields and prevFields
	// are their lines' field counts (diskLine.count).
	cur, prev             blockdevice.IOStats
	curSeq, prevSeq       uint64
	curFields, prevFields int
	gauges                *diskGauges
}

type diskSource struct {
	proc ProcFS
	cfg  DiskConfig
	file *procFile

	lines   []diskLine
	devices map[string]*diskDevice
	// seq counts successful readings; at and prevAt are the times of the latest two.
	seq        uint64
	at, prevAt time.Duration
}

// NewDisk returns the source of /proc/diskstats.
func NewDisk(proc ProcFS, cfg DiskConfig) Source {
	return &diskSource{proc: proc, cfg: cfg, file: proc.file("diskstats", false), devices: map[string]*diskDevice{}}
}

func (d *diskSource) Name() string { return "disk" }

func (d *diskSource) Read(now time.Duration) error {
	data, err := d.file.read()
	if err != nil {
		return fmt.Errorf("reading diskstats: %w", err)
	}
	if err := d.parse(data); err != nil {
		return err
	}
	seq := d.seq + 1
	for i := range d.lines {
		l := &d.lines[i]
		dev, ok := d.devices[string(l.name)]
		if !ok {
			name := string(l.name)
			dev = &diskDevice{name: name, wanted: d.cfg.Wants(name)}
			d.devices[name] = dev
		}
		// A device listed twice keeps its last line, as a map keyed by name would.
		if dev.wanted && dev.seen == seq {
			dev.cur, dev.curFields = l.stats, l.count
			continue
		}
		dev.seen = seq
		if dev.wanted {
			dev.prev, dev.prevSeq, dev.prevFields = dev.cur, dev.curSeq, dev.curFields
			dev.cur, dev.curSeq, dev.curFields = l.stats, seq, l.count
		}
	}
	for name, dev := range d.devices {
		if dev.seen != seq && dev.gauges == nil {
			delete(d.devices, name) // gone, with no gauges for Update to remove
		}
	}
	d.seq, d.prevAt, d.at = seq, d.at, now
	return nil
}

// parse parses /proc/diskstats' content into d.lines, through procfs when the fast parser does not take it.
func (d *diskSource) parse(data []byte) error {
	var ok bool
	if d.lines, ok = parseDiskstats(data, d.lines); ok {
		return nil
	}
	stats, err := d.proc.bd.ProcDiskstats()
	if err != nil {
		return fmt.Errorf("reading diskstats: %w", err)
	}
	d.lines = d.lines[:0]
	for _, s := range stats {
		d.lines = append(d.lines, diskLine{major: s.MajorNumber, minor: s.MinorNumber, name: []byte(s.DeviceName),
			stats: s.IOStats, count: s.IoStatsCount})
	}
	return nil
}

// Close closes /proc/diskstats.
func (d *diskSource) Close() error { return d.file.Close() }

func (d *diskSource) Update(st *Store) {
	dt := (d.at - d.prevAt).Seconds()
	for name, dev := range d.devices {
		if dev.seen != d.seq {
			if dev.gauges != nil {
				dev.gauges.remove(st)
			}
			delete(d.devices, name)
			continue
		}
		if !dev.wanted {
			continue
		}
		if dev.gauges == nil {
			dev.gauges = newDiskGauges(st, dev.name)
		}
		dev.gauges.fit(st, dev.name, dev.curFields)
		if dev.prevSeq == d.seq-1 && dev.prevSeq > 0 {
			dev.gauges.observe(st, &dev.cur, &dev.prev, min(dev.curFields, dev.prevFields), dt)
		}
	}
}

func newDiskGauges(st *Store, device string) *diskGauges {
	return &diskGauges{
		readBytes:  st.Gauge(diskReadBytesFamily, device),
		writeBytes: st.Gauge(diskWriteBytesFamily, device),
		reads:      st.Gauge(diskReadsFamily, device),
		writes:     st.Gauge(diskWritesFamily, device),
		readAwait:  st.Gauge(diskReadAwaitFamily, device),
		writeAwait: st.Gauge(diskWriteAwaitFamily, device),
		queue:      st.Gauge(diskQueueFamily, device),
		util:       st.Gauge(diskUtilFamily, device),
	}
}

// fit creates the discard and flush gauges when the device's line has their fields, and removes them when it no
// longer has (a device re-created by an older driver, or a fake tree).
func (g *diskGauges) fit(st *Store, device string, fields int) {
	switch hasDiscards := fields >= diskstatsDiscardFields; {
	case hasDiscards && g.discards == nil:
		g.discards = st.Gauge(diskDiscardsFamily, device)
		g.discardBytes = st.Gauge(diskDiscardBytesFamily, device)
		g.discardAwait = st.Gauge(diskDiscardAwaitFamily, device)
	case !hasDiscards && g.discards != nil:
		for _, x := range [...]*Gauge{g.discards, g.discardBytes, g.discardAwait} {
			st.Remove(x)
		}
		g.discards, g.discardBytes, g.discardAwait = nil, nil, nil
	}
	switch hasFlushes := fields >= diskstatsFlushFields; {
	case hasFlushes && g.flushes == nil:
		g.flushes = st.Gauge(diskFlushesFamily, device)
		g.flushAwait = st.Gauge(diskFlushAwaitFamily, device)
	case !hasFlushes && g.flushes != nil:
		st.Remove(g.flushes)
		st.Remove(g.flushAwait)
		g.flushes, g.flushAwait = nil, nil
	}
}

func (g *diskGauges) remove(st *Store) {
	for _, x := range [...]*Gauge{g.readBytes, g.writeBytes, g.reads, g.writes, g.readAwait, g.writeAwait, g.queue, g.util,
		g.discards, g.discardBytes, g.discardAwait, g.flushes, g.flushAwait} {
		st.Remove(x)
	}
}

// observe records one interval with the iostat -x formulas (sysstat's iostat.c), Δ over the interval and dt in
// seconds:
//
//	r/s = Δreads/dt            rkB/s = Δread_sectors·512/dt     r_await = Δread_ticks/Δreads (ms)
//	w/s = Δwrites/dt           wkB/s = Δwrite_sectors·512/dt    w_await = Δwrite_ticks/Δwrites (ms)
//	d/s = Δdiscards/dt         dkB/s = Δdiscard_sectors·512/dt  d_await = Δdiscard_ticks/Δdiscards (ms)
//	f/s = Δflushes/dt                                           f_await = Δflush_ticks/Δflushes (ms)
//	aqu-sz = Δweighted_io_ticks/(dt·1000)                        %util = Δio_ticks/(dt·1000)
//
// The discard and flush values need fields that the two readings' lines both have (fields, the smaller count).
// If any counter went backwards (device re-created, 32-bit wrap) the interval is skipped.
func (g *diskGauges) observe(st *Store, c, p *blockdevice.IOStats, fields int, dt float64) {
	if dt <= 0 {
		return
	}
	n := 8
	switch {
	case fields >= diskstatsFlushFields && g.flushes != nil:
		n = 13
	case fields >= diskstatsDiscardFields && g.discards != nil:
		n = 11
	}
	pairs := [13][2]uint64{
		{c.ReadIOs, p.ReadIOs}, {c.ReadSectors, p.ReadSectors}, {c.ReadTicks, p.ReadTicks},
		{c.WriteIOs, p.WriteIOs}, {c.WriteSectors, p.WriteSectors}, {c.WriteTicks, p.WriteTicks},
		{c.WeightedIOTicks, p.WeightedIOTicks}, {c.IOsTotalTicks, p.IOsTotalTicks},
		{c.DiscardIOs, p.DiscardIOs}, {c.DiscardSectors, p.DiscardSectors}, {c.DiscardTicks, p.DiscardTicks},
		{c.FlushRequestsCompleted, p.FlushRequestsCompleted}, {c.TimeSpentFlushing, p.TimeSpentFlushing},
	}
	var d [13]float64
	for i, pair := range pairs[:n] {
		v, ok := counterDelta(pair[0], pair[1])
		if !ok {
			return
		}
		d[i] = v
	}
	reads, readSectors, readTicks, writes, writeSectors, writeTicks, weighted, ioTicks := d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
	st.Observe(g.reads, reads, dt)
	st.Observe(g.writes, writes, dt)
	st.Observe(g.readBytes, readSectors*sectorBytes, dt)
	st.Observe(g.writeBytes, writeSectors*sectorBytes, dt)
	st.Observe(g.readAwait, readTicks/1000, reads)
	st.Observe(g.writeAwait, writeTicks/1000, writes)
	st.Observe(g.queue, weighted/1000, dt)
	st.Observe(g.util, ioTicks/1000, dt)
	if n >= 11 {
		discards, discardSectors, discardTicks := d[8], d[9], d[10]
		st.Observe(g.discards, discards, dt)
		st.Observe(g.discardBytes, discardSectors*sectorBytes, dt)
		st.Observe(g.discardAwait, discardTicks/1000, discards)
	}
	if n == 13 {
		flushes, flushTicks := d[11], d[12]
		st.Observe(g.flushes, flushes, dt)
		st.Observe(g.flushAwait, flushTicks/1000, flushes)
	}
}
