package collector

import (
	"math"

	"github.com/prometheus/procfs/blockdevice"
)

// diskLine is one line of /proc/diskstats as procfs's blockdevice.Diskstats holds it; name points into the
// file's buffer.
type diskLine struct {
	major, minor uint32
	name         []byte
	stats        blockdevice.IOStats
	count        int // fields read, as Diskstats.IoStatsCount
}

// parseDiskstats parses /proc/diskstats as procfs's ProcDiskstats would, appending to out (reused), and reports
// false when the content is not in the kernel's spelling. As in procfs a line is read with
// Sscanf("%d %d %s %d ×17"): fields beyond the twentieth are ignored, and a line of fewer than 14 fields is
// skipped.
func parseDiskstats(data []byte, out []diskLine) ([]diskLine, bool) {
	out = out[:0]
	ls := lines(data)
	for {
		line, ok := ls.next()
		if !ok {
			return out, true
		}
		if len(line) >= maxScanLine || !plain(line) {
			return out, false
		}
		var d diskLine
		f, rest := field(line)
		if len(f) == 0 {
			continue // nothing to scan: procfs skips it
		}
		for _, dst := range [2]*uint32{&d.major, &d.minor} {
			n, ok := parseUint(f)
			if !ok || n > math.MaxUint32 {
				return out, false
			}
			*dst, d.count = uint32(n), d.count+1
			f, rest = field(rest)
			if len(f) == 0 {
				break
			}
		}
		if len(f) > 0 {
			d.name, d.count = f, d.count+1
			if !parseIOStats(rest, &d) {
				return out, false
			}
		}
		if d.count >= 14 {
			out = append(out, d)
		}
	}
}

// parseIOStats reads up to 17 counters into d.stats, counting them in d.count.
func parseIOStats(b []byte, d *diskLine) bool {
	s := &d.stats
	for _, dst := range [17]*uint64{&s.ReadIOs, &s.ReadMerges, &s.ReadSectors, &s.ReadTicks, &s.WriteIOs,
		&s.WriteMerges, &s.WriteSectors, &s.WriteTicks, &s.IOsInProgress, &s.IOsTotalTicks, &s.WeightedIOTicks,
		&s.DiscardIOs, &s.DiscardMerges, &s.DiscardSectors, &s.DiscardTicks, &s.FlushRequestsCompleted,
		&s.TimeSpentFlushing} {
		var f []byte
		f, b = field(b)
		if len(f) == 0 {
			return true
		}
		n, ok := parseUint(f)
		if !ok {
			return false
		}
		*dst, d.count = n, d.count+1
	}
	return true
}
