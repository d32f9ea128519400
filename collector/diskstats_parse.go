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
		if len(line) >= maxScanLine {
			return out, false
		}
		var d diskLine
		if !parseDiskLine(line, &d) {
			return out, false
		}
		if d.count >= 14 {
			out = append(out, d)
		}
	}
}

// parseDiskLine reads the fields of one line into d, counting them in d.count; a line that ends early is not an
// error (Sscanf's io.EOF, which procfs ignores). Numbers are digits only, the name printable ASCII; whatever follows
// the twentieth field is ignored, as Sscanf ignores it.
func parseDiskLine(line []byte, d *diskLine) bool {
	s := &d.stats
	counters := [17]*uint64{&s.ReadIOs, &s.ReadMerges, &s.ReadSectors, &s.ReadTicks, &s.WriteIOs,
		&s.WriteMerges, &s.WriteSectors, &s.WriteTicks, &s.IOsInProgress, &s.IOsTotalTicks, &s.WeightedIOTicks,
		&s.DiscardIOs, &s.DiscardMerges, &s.DiscardSectors, &s.DiscardTicks, &s.FlushRequestsCompleted,
		&s.TimeSpentFlushing}
	i := 0
	for _, dst := range [2]*uint32{&d.major, &d.minor} {
		if i = skipBlank(line, i); i == len(line) {
			return true
		}
		var n uint64
		var ok bool
		if n, i, ok = uintAt(line, i); !ok || n > math.MaxUint32 {
			return false
		}
		*dst, d.count = uint32(n), d.count+1
	}
	if i = skipBlank(line, i); i == len(line) {
		return true
	}
	start := i
	for ; i < len(line) && !isBlank(line[i]); i++ {
		if c := line[i]; c < '!' || c > '~' {
			return false // fmt's %s would split at a Unicode space, or take bytes we cannot vouch for
		}
	}
	d.name, d.count = line[start:i], d.count+1
	for _, dst := range counters {
		if i = skipBlank(line, i); i == len(line) {
			return true
		}
		var ok bool
		if *dst, i, ok = uintAt(line, i); !ok {
			return false
		}
		d.count++
	}
	return true
}
