package collector

import (
	"fmt"
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

var (
	diskReadBytesFamily = &Family{Name: "servermon_disk_read_bytes_per_second", LabelNames: diskLabels,
		Help: "Bytes read per second (iostat rkB/s, in bytes).", Target: "disk_read_bytes_per_second"}
	diskWriteBytesFamily = &Family{Name: "servermon_disk_write_bytes_per_second", LabelNames: diskLabels,
		Help: "Bytes written per second (iostat wkB/s, in bytes).", Target: "disk_write_bytes_per_second"}
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
		Max:      1, Target: "disk_utilization_ratio"}
)

// DiskConfig selects the devices of the disk collector.
type DiskConfig struct {
	// Include, when set, keeps only devices whose name matches.
	Include *regexp.Regexp
	// Exclude drops devices whose name matches (applied after Include).
	Exclude *regexp.Regexp
}

func (c DiskConfig) wants(device string) bool {
	if c.Include != nil && !c.Include.MatchString(device) {
		return false
	}
	return c.Exclude == nil || !c.Exclude.MatchString(device)
}

type diskGauges struct {
	readBytes, writeBytes, reads, writes, readAwait, writeAwait, queue, util *Gauge
}

type diskReading struct {
	at    time.Time
	stats blockdevice.IOStats
}

type diskSource struct {
	fs  blockdevice.FS
	cfg DiskConfig

	cur, prev map[string]diskReading
	gauges    map[string]*diskGauges
}

// NewDisk returns the source of /proc/diskstats.
func NewDisk(fs blockdevice.FS, cfg DiskConfig) Source {
	return &diskSource{fs: fs, cfg: cfg, cur: map[string]diskReading{}, prev: map[string]diskReading{}, gauges: map[string]*diskGauges{}}
}

func (d *diskSource) Name() string { return "disk" }

func (d *diskSource) Read(now time.Time) error {
	stats, err := d.fs.ProcDiskstats()
	if err != nil {
		return fmt.Errorf("reading diskstats: %w", err)
	}
	d.prev, d.cur = d.cur, d.prev
	clear(d.cur)
	for _, s := range stats {
		if s.DeviceName == "" || !d.cfg.wants(s.DeviceName) {
			continue
		}
		d.cur[s.DeviceName] = diskReading{at: now, stats: s.IOStats}
	}
	return nil
}

func (d *diskSource) Update(st *Store) {
	for name, g := range d.gauges {
		if _, ok := d.cur[name]; !ok {
			for _, x := range g.all() {
				st.Remove(x)
			}
			delete(d.gauges, name)
		}
	}
	for name, cur := range d.cur {
		g, ok := d.gauges[name]
		if !ok {
			g = newDiskGauges(st, name)
			d.gauges[name] = g
		}
		if prev, ok := d.prev[name]; ok {
			g.observe(st, cur, prev)
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

func (g *diskGauges) all() []*Gauge {
	return []*Gauge{g.readBytes, g.writeBytes, g.reads, g.writes, g.readAwait, g.writeAwait, g.queue, g.util}
}

// observe records one interval with the iostat -x formulas, Δ over the interval and dt in seconds:
//
//	r/s = Δreads/dt            rkB/s = Δread_sectors·512/dt   r_await = Δread_ticks/Δreads (ms)
//	w/s = Δwrites/dt           wkB/s = Δwrite_sectors·512/dt  w_await = Δwrite_ticks/Δwrites (ms)
//	aqu-sz = Δweighted_io_ticks/(dt·1000)                      %util = Δio_ticks/(dt·1000)
//
// If any counter went backwards (device re-created, 32-bit wrap) the interval is skipped.
func (g *diskGauges) observe(st *Store, cur, prev diskReading) {
	dt := cur.at.Sub(prev.at).Seconds()
	if dt <= 0 {
		return
	}
	c, p := &cur.stats, &prev.stats
	var d [8]float64
	for i, pair := range [8][2]uint64{
		{c.ReadIOs, p.ReadIOs}, {c.ReadSectors, p.ReadSectors}, {c.ReadTicks, p.ReadTicks},
		{c.WriteIOs, p.WriteIOs}, {c.WriteSectors, p.WriteSectors}, {c.WriteTicks, p.WriteTicks},
		{c.WeightedIOTicks, p.WeightedIOTicks}, {c.IOsTotalTicks, p.IOsTotalTicks},
	} {
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
}
