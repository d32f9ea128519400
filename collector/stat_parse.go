package collector

import (
	"github.com/prometheus/procfs"
)

// userHZ is the tick rate of /proc/stat's CPU columns, as procfs assumes it (USER_HZ is 100 on every Linux
// architecture procfs supports): a column in seconds is ticks/userHZ.
const userHZ = 100

// coreStat is one CPU's line of /proc/stat.
type coreStat struct {
	id   int64
	stat procfs.CPUStat
}

// statReading is what the cpu source uses of /proc/stat: the host-wide line and, in ascending id order, the
// per-CPU lines (procfs's Stat.CPUTotal and Stat.CPU).
type statReading struct {
	total procfs.CPUStat
	cores []coreStat
}

// maxProcFS is the most procfs's ReadFileNoStat reads of a file; it silently drops the rest, so larger content is
// left to procfs to keep its semantics.
const maxProcFS = 1 << 20

// parseStat parses /proc/stat into r (whose cores slice it reuses) as procfs's Stat would, and reports false when
// the content is not in the kernel's spelling, for procfs to deal with. Lines the exporter does not use (intr,
// ctxt, softirq, ...) are checked as procfs checks them, so that a malformed one still fails the read, but not
// converted.
func parseStat(data []byte, r *statReading) bool {
	if len(data) >= maxProcFS {
		return false
	}
	r.total = procfs.CPUStat{}
	r.cores = r.cores[:0]
	ls := lines(data)
	for {
		line, ok := ls.next()
		if !ok {
			return true
		}
		key, rest := field(line)
		if !plain(key) {
			return false
		}
		// procfs skips lines of fewer than two fields.
		if first, _ := field(rest); len(first) == 0 {
			continue
		}
		switch string(key) {
		case "intr": // thousands of counters on large machines; validated, never converted
			if !validUints(rest) {
				return false
			}
			continue
		case "btime", "ctxt", "processes", "procs_running", "procs_blocked":
			first, _ := field(rest)
			if _, ok := parseUint(first); !ok || !plain(rest) {
				return false
			}
			continue
		case "softirq":
			if !validSoftIRQ(rest) {
				return false
			}
			continue
		}
		if len(key) < 3 || string(key[:3]) != "cpu" {
			continue // a line procfs does not read either
		}
		var s procfs.CPUStat
		if !parseCPUColumns(rest, &s) {
			return false
		}
		if len(key) == 3 {
			r.total = s
			continue
		}
		id, ok := parseUint(key[3:])
		if !ok || id > 1<<62 || (len(r.cores) > 0 && int64(id) <= r.cores[len(r.cores)-1].id) {
			return false // cpu-1, cpu+1, out of order or repeated: procfs knows what it makes of those
		}
		r.cores = append(r.cores, coreStat{id: int64(id), stat: s})
	}
}

// parseCPUColumns reads up to ten tick columns into s, in seconds, as procfs's Sscanf("%s %f ...") does: columns
// beyond the tenth are ignored, missing ones stay 0, and any other field is left to procfs.
func parseCPUColumns(b []byte, s *procfs.CPUStat) bool {
	cols := [10]*float64{&s.User, &s.Nice, &s.System, &s.Idle, &s.Iowait, &s.IRQ, &s.SoftIRQ, &s.Steal, &s.Guest, &s.GuestNice}
	i := 0
	for _, c := range cols {
		if i = skipBlank(b, i); i == len(b) {
			return true
		}
		var n uint64
		var ok bool
		if n, i, ok = uintAt(b, i); !ok {
			return false
		}
		// float64(n) rounds to nearest even, as ParseFloat does for the same digits; the division by 100 is the
		// one procfs does.
		*c = float64(n) / userHZ
	}
	return true
}

// validSoftIRQ checks a softirq line as procfs's Sscanf("%s %d ×11") does: eleven counters, more are ignored.
func validSoftIRQ(b []byte) bool {
	if !plain(b) {
		return false
	}
	for range 11 {
		var f []byte
		f, b = field(b)
		if _, ok := parseUint(f); !ok {
			return false
		}
	}
	return true
}
