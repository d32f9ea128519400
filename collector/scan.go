package collector

import (
	"bytes"
	"math/bits"
)

// The fast parsers read /proc content as bytes and recognise only the kernel's own spelling: ASCII fields
// separated by spaces or tabs, unsigned decimal integers, and decimals such as 0.25. Whatever they do not
// recognise makes them report false, and the source hands the file to procfs instead. These helpers are the
// shared pieces of that grammar; each is exact, never approximate, where it accepts.

// lines splits data the way bufio.ScanLines does, which procfs reads every file with: on '\n', dropping one
// '\r' before it, and without an empty last line after a final '\n'.
type lines []byte

// next returns the next line, or false at the end.
func (l *lines) next() ([]byte, bool) {
	if len(*l) == 0 {
		return nil, false
	}
	var line []byte
	if i := bytes.IndexByte(*l, '\n'); i >= 0 {
		line, *l = (*l)[:i], (*l)[i+1:]
	} else {
		line, *l = *l, nil
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// plain reports whether b holds only printable ASCII and tabs. On such bytes, splitting at spaces and tabs finds
// the same fields as strings.Fields and fmt's scanning, whose notion of space also covers \v, \f, \r and Unicode.
func plain(b []byte) bool {
	for _, c := range b {
		if (c < ' ' || c > '~') && c != '\t' {
			return false
		}
	}
	return true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// field returns the first field of b, separated by spaces or tabs, and what follows it; field is empty when b
// holds none.
func field(b []byte) (f, rest []byte) {
	i := 0
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isBlank(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

// skipBlank returns the index of the first byte of b at or after i that is not a space or a tab.
func skipBlank(b []byte, i int) int {
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	return i
}

// uintAt parses the field that starts at b[i] as an unsigned decimal, as parseUint does, and returns it with the
// index after it. The field must end at a space, a tab or the end of b: any other byte in it, or none at all,
// makes ok false. One pass over the bytes checks, splits and converts, which is what long diskstats and stat
// files need.
func uintAt(b []byte, i int) (n uint64, next int, ok bool) {
	start := i
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			if !isBlank(b[i]) {
				return 0, i, false
			}
			break
		}
		n = n*10 + uint64(d)
	}
	if i-start >= 20 { // may have wrapped: check exactly
		n, ok = parseUint(b[start:i])
		return n, i, ok
	}
	return n, i, i > start
}

// parseUint parses an unsigned decimal integer as strconv.ParseUint(s, 10, 64) does, digits only. It gives up
// (false) on anything else, including 21 digits or more, which ParseUint may still accept with leading zeros.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	if len(b) < 20 { // at most 19 digits: below 10^19 < 2^64, no overflow possible
		for _, c := range b {
			d := c - '0'
			if d > 9 {
				return 0, false
			}
			n = n*10 + uint64(d)
		}
		return n, true
	}
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, 10)
		sum, carry := bits.Add64(lo, uint64(d), 0)
		if hi != 0 || carry != 0 {
			return 0, false
		}
		n = sum
	}
	return n, true
}

// validUints reports whether b is a list of unsigned decimal integers that all fit in 64 bits, separated by
// spaces or tabs: the check procfs applies to lines such as intr, without converting them.
func validUints(b []byte) bool {
	run := 0
	for i, c := range b {
		switch {
		case c-'0' <= 9:
			run++
		case isBlank(c):
			if run >= 20 {
				if _, ok := parseUint(b[i-run : i]); !ok {
					return false
				}
			}
			run = 0
		default:
			return false
		}
	}
	if run >= 20 {
		_, ok := parseUint(b[len(b)-run:])
		return ok
	}
	return true
}

// pow10 holds the powers of ten that are exact in a float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseDecimal parses digits with an optional fraction (12, 0.25) at the start of b, and returns the value, the
// number of bytes it used, and false when b does not start with such a number of at most 15 digits. With m the
// digits read as an integer and k the number of fraction digits, the value is
//
//	v = m / 10^k
//
// where m < 10^15 < 2^53 and 10^k are exact in a float64 and IEEE division rounds correctly, so v is exactly what
// strconv.ParseFloat returns for the same digits (Clinger's fast path, which strconv takes too).
func parseDecimal(b []byte) (v float64, n int, ok bool) {
	var m uint64
	digits, fracDigits, dot := 0, 0, false
	for ; n < len(b); n++ {
		c := b[n]
		if c-'0' <= 9 {
			if digits == 15 {
				return 0, 0, false
			}
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				fracDigits++
			}
			continue
		}
		if c != '.' || dot || digits == 0 {
			break // ".5" and "5." are valid to ParseFloat but never written by the kernel: left to procfs
		}
		dot = true
	}
	if digits == 0 || (dot && fracDigits == 0) {
		return 0, 0, false
	}
	return float64(m) / pow10[fracDigits], n, true
}
