package collector

import (
	"bytes"

	"github.com/prometheus/procfs"
)

// psiReading is one /proc/pressure file as procfs's PSIStats holds it, with the lines stored in place.
type psiReading struct {
	some, full       procfs.PSILine
	hasSome, hasFull bool
}

// parsePSI parses a /proc/pressure file into r as procfs's PSIStatsForResource would, and reports false when a
// "some" or "full" line is not in the kernel's spelling:
//
//	some avg10=0.12 avg60=0.34 avg300=0.56 total=123456
//
// Lines with any other first word are ignored, as procfs ignores them.
func parsePSI(data []byte, r *psiReading) bool {
	if len(data) >= maxProcFS {
		return false
	}
	*r = psiReading{}
	ls := lines(data)
	for {
		line, ok := ls.next()
		if !ok {
			return true
		}
		if len(line) >= maxScanLine {
			return false // procfs's scanner stops there without an error
		}
		prefix, rest := line, line[len(line):]
		if i := bytes.IndexByte(line, ' '); i >= 0 {
			prefix, rest = line[:i], line[i+1:]
		}
		var dst *procfs.PSILine
		switch string(prefix) {
		case "some":
			dst, r.hasSome = &r.some, true
		case "full":
			dst, r.hasFull = &r.full, true
		default:
			continue
		}
		if !parsePSILine(rest, dst) {
			return false
		}
	}
}

// parsePSILine parses "avg10=F avg60=F avg300=F total=N", with single spaces. As with Sscanf, whatever follows the
// digits of total is ignored.
func parsePSILine(b []byte, l *procfs.PSILine) bool {
	for _, avg := range [3]struct {
		key string
		dst *float64
	}{{"avg10=", &l.Avg10}, {"avg60=", &l.Avg60}, {"avg300=", &l.Avg300}} {
		if !hasPrefix(b, avg.key) {
			return false
		}
		v, n, ok := parseDecimal(b[len(avg.key):])
		if !ok {
			return false
		}
		b = b[len(avg.key)+n:]
		if len(b) == 0 || b[0] != ' ' {
			return false
		}
		*avg.dst, b = v, b[1:]
	}
	if !hasPrefix(b, "total=") {
		return false
	}
	b = b[len("total="):]
	n := 0
	for n < len(b) && b[n]-'0' <= 9 {
		n++
	}
	total, ok := parseUint(b[:n])
	l.Total = total
	return ok
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }
