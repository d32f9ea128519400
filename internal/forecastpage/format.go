package forecastpage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// unit is how a target's values read to people, from the Prometheus unit suffix of its name (the target names are
// the observed families' names less servermon_, so they carry the suffix the exposition conventions require).
type unit int

const (
	unitPlain          unit = iota // a count such as the load average
	unitRatio                      // shown in per cent
	unitBytes                      // IEC multiples
	unitBytesPerSecond             // IEC multiples per second
	unitSeconds
)

// unitOf returns the unit of a target name.
func unitOf(target string) unit {
	switch {
	case strings.HasSuffix(target, "_ratio"):
		return unitRatio
	case strings.HasSuffix(target, "_bytes_per_second"):
		return unitBytesPerSecond
	case strings.HasSuffix(target, "_bytes"):
		return unitBytes
	case strings.HasSuffix(target, "_seconds"):
		return unitSeconds
	}
	return unitPlain
}

// jsonName is the unit's name in the JSON API.
func (u unit) jsonName() string {
	return [...]string{"", "ratio", "bytes", "bytes_per_second", "seconds"}[u]
}

// format renders v in the unit, with about three significant digits.
func (u unit) format(v float64) string {
	if math.IsNaN(v) {
		return "unknown"
	}
	if math.IsInf(v, 0) {
		if v > 0 {
			return "∞"
		}
		return "−∞"
	}
	switch u {
	case unitRatio:
		return trimNumber(v*100, 1) + " %"
	case unitBytes:
		return iec(v, "B")
	case unitBytesPerSecond:
		return iec(v, "B/s")
	case unitSeconds:
		return humanDuration(v)
	}
	return significant(v)
}

// formatLevel renders a threshold or an axis label: as format, with as few digits as it needs.
func (u unit) formatLevel(v float64) string {
	if u == unitRatio && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + " %"
	}
	return u.format(v)
}

// iec renders v with a binary multiple of suffix: 1.5 KiB/s.
func iec(v float64, suffix string) string {
	prefixes := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(prefixes)-1 {
		v /= 1024
		i++
	}
	return significant(v) + " " + prefixes[i] + suffix
}

// significant renders v with three significant digits but no exponent below 10⁶: 0.523, 12.3, 1234.
func significant(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e6:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return trimNumber(v, 1)
	case a >= 0.01:
		return trimNumber(v, 2)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

// trimNumber renders v with at most decimals decimals, without trailing zeros.
func trimNumber(v float64, decimals int) string {
	switch {
	case math.IsNaN(v):
		return "unknown"
	case math.IsInf(v, 0):
		return unitPlain.format(v)
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// humanDuration renders a span of seconds as an operator reads it, rounded to what a forecast can tell: minutes
// below 90 minutes, then hours and tens of minutes below 10 hours, hours below 2 days, days and hours beyond.
func humanDuration(sec float64) string {
	switch {
	case math.IsNaN(sec):
		return "unknown"
	case math.IsInf(sec, 1):
		return "never"
	case sec >= maxSpan:
		return "decades"
	case sec < 60:
		return "less than a minute"
	case sec < 90*60:
		return fmt.Sprintf("%d min", int(math.Round(sec/60)))
	case sec < 10*3600:
		m := int(math.Round(sec/600)) * 10
		if m%60 == 0 {
			return fmt.Sprintf("%d h", m/60)
		}
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	case sec < 48*3600:
		return fmt.Sprintf("%d h", int(math.Round(sec/3600)))
	}
	h := int(math.Round(sec / 3600))
	if h%24 == 0 {
		return fmt.Sprintf("%d d", h/24)
	}
	return fmt.Sprintf("%d d %d h", h/24, h%24)
}

// exactSpan is a horizon for people: "5 min", "1 h", "24 h".
func exactSpan(d time.Duration) string { return strings.TrimPrefix(spanName(d.Seconds()), "+") }

// spanName is a chart axis offset: "−12 h", "+30 min", "now".
func spanName(sec float64) string {
	if sec == 0 {
		return "now"
	}
	sign := "+"
	if sec < 0 {
		sign = "−"
	}
	a := math.Abs(sec)
	switch {
	case a > 2*86400 && math.Mod(a, 86400) == 0:
		return sign + strconv.Itoa(int(a/86400)) + " d"
	case a >= 3600:
		return sign + trimNumber(a/3600, 1) + " h"
	case a >= 60:
		return sign + trimNumber(a/60, 1) + " min"
	}
	return sign + trimNumber(a, 0) + " s"
}
