package collector

import (
	"github.com/prometheus/procfs"
)

// meminfoKeys are the /proc/meminfo fields the memory source uses, in meminfoReading's order.
const (
	miMemTotal = iota
	miMemFree
	miMemAvailable
	miBuffers
	miCached
	miSReclaimable
	miSwapTotal
	miSwapFree
	miCount
)

// meminfoReading holds the fields of /proc/meminfo the exporter uses, in the kernel's unit (kB) and in bytes, and
// a procfs.Meminfo whose fields for them point into it, nil where the file lacks them, as procfs fills them.
type meminfoReading struct {
	val, bytes [miCount]uint64
	info       procfs.Meminfo
}

// maxScanLine is the longest line a default bufio.Scanner returns (bufio.MaxScanTokenSize, newline included);
// procfs stops reading meminfo, pressure and diskstats at a longer one, so such files are left to procfs.
const maxScanLine = 64*1024 - 1

// parseMeminfo parses /proc/meminfo into r as procfs's Meminfo would, and reports false when the content is not
// in the kernel's spelling. As in procfs every line must be "Key: value" or "Key: value kB"; only the fields the
// exporter uses are stored.
func parseMeminfo(data []byte, r *meminfoReading) bool {
	if len(data) >= maxProcFS {
		return false
	}
	r.info = procfs.Meminfo{}
	m := &r.info
	// dst are the procfs.Meminfo fields of each key, its value in kB and in bytes.
	dst := [miCount]struct{ val, bytes **uint64 }{
		miMemTotal:     {&m.MemTotal, &m.MemTotalBytes},
		miMemFree:      {&m.MemFree, &m.MemFreeBytes},
		miMemAvailable: {&m.MemAvailable, &m.MemAvailableBytes},
		miBuffers:      {&m.Buffers, &m.BuffersBytes},
		miCached:       {&m.Cached, &m.CachedBytes},
		miSReclaimable: {&m.SReclaimable, &m.SReclaimableBytes},
		miSwapTotal:    {&m.SwapTotal, &m.SwapTotalBytes},
		miSwapFree:     {&m.SwapFree, &m.SwapFreeBytes},
	}
	ls := lines(data)
	for {
		line, ok := ls.next()
		if !ok {
			return true
		}
		if len(line) >= maxScanLine || !plain(line) {
			return false
		}
		key, rest := field(line)
		num, rest := field(rest)
		unit, rest := field(rest)
		if extra, _ := field(rest); len(num) == 0 || len(extra) > 0 {
			return false // procfs: "Malformed line"
		}
		// procfs parses with ParseUint(s, 0, 64): a leading 0 means octal (or 0x hex, 0b binary); plain decimals
		// are the same in both readings only without one.
		if len(num) > 1 && num[0] == '0' {
			return false
		}
		val, ok := parseUint(num)
		if !ok {
			return false
		}
		b := val
		if len(unit) > 0 {
			if string(unit) != "kB" {
				return false
			}
			b = 1024 * val // wraps on overflow, as procfs's does
		}
		i := meminfoIndex(key)
		if i < 0 {
			continue
		}
		r.val[i], r.bytes[i] = val, b
		*dst[i].val, *dst[i].bytes = &r.val[i], &r.bytes[i]
	}
}

func meminfoIndex(key []byte) int {
	switch string(key) {
	case "MemTotal:":
		return miMemTotal
	case "MemFree:":
		return miMemFree
	case "MemAvailable:":
		return miMemAvailable
	case "Buffers:":
		return miBuffers
	case "Cached:":
		return miCached
	case "SReclaimable:":
		return miSReclaimable
	case "SwapTotal:":
		return miSwapTotal
	case "SwapFree:":
		return miSwapFree
	}
	return -1
}
