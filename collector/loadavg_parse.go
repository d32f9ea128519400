package collector

import (
	"github.com/prometheus/procfs"
)

// parseLoadAvg parses /proc/loadavg into l as procfs's LoadAvg would: the first three fields as floats. It reports
// false when they are not plain decimals separated by spaces, tabs or newlines.
func parseLoadAvg(data []byte, l *procfs.LoadAvg) bool {
	if len(data) >= maxProcFS {
		return false
	}
	i := 0
	for _, dst := range [3]*float64{&l.Load1, &l.Load5, &l.Load15} {
		for i < len(data) && (isBlank(data[i]) || data[i] == '\n') {
			i++
		}
		v, n, ok := parseDecimal(data[i:])
		if !ok {
			return false
		}
		i += n
		// strings.Fields ends the field only at a space; anything else glued to the number is procfs's to judge.
		if i < len(data) && !isBlank(data[i]) && data[i] != '\n' {
			return false
		}
		*dst = v
	}
	return true
}
