// Package exposition writes metric families in the Prometheus text format (version 0.0.4), straight into a byte
// slice: the exporter renders its body once per sample and serves it to every scrape, so rendering must not
// allocate per sample line.
//
// Every part of the exporter that contributes families to /metrics is a Producer. The sampler renders its
// observed gauges and then calls each Producer in turn.
package exposition

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Producer appends metric families to an exposition body.
type Producer interface {
	// AppendMetrics appends the producer's families, in the text format, and returns the extended slice. The
	// families of all producers of one body must have distinct names.
	AppendMetrics(b []byte) []byte
}

// Metric types, as the TYPE line spells them.
const (
	Gauge   = "gauge"
	Counter = "counter"
	Summary = "summary"
)

// AppendHeader appends the HELP and TYPE lines of a family.
func AppendHeader(b []byte, name, help, typ string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = appendEscaped(b, help, false)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

// AppendSample appends one sample line: name, labels rendered by Labels, and value.
func AppendSample(b []byte, name, labels string, v float64) []byte {
	b = append(b, name...)
	b = append(b, labels...)
	b = append(b, ' ')
	b = AppendValue(b, v)
	return append(b, '\n')
}

// AppendValue appends a sample value the way the text format spells it.
func AppendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// Labels renders a label set as `{name="value",…}`, or "" when there are no labels. names and values have the same
// length. Producers render each series' labels once, when the series appears, and keep the string.
func Labels(names, values []string) string {
	if len(names) == 0 {
		return ""
	}
	var b []byte
	b = append(b, '{')
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
		b = append(b, `="`...)
		b = appendEscaped(b, values[i], true)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

// appendEscaped escapes backslash and newline (and, in label values, the double quote) as the text format requires.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// FormatFloat formats a label value such as a threshold, as short as round-trips.
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// FormatDuration spells a duration in its largest whole unit, as horizon labels and HELP texts use it: 24h, 5m,
// 1s, 250ms. Durations that are no whole number of milliseconds fall back to time.Duration's spelling.
func FormatDuration(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d != 0 && d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return d.String()
}
