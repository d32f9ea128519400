package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// readCSV reads a "timestamp,value" CSV with Unix-second or RFC3339 timestamps and returns its points and step
// (median of the first up to 32 positive differences, like the backtest CLI).
func readCSV(path string) ([]time.Time, []float64, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	var ts []time.Time
	var vs []float64
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if len(fields) != 2 || line == 1 && fields[0] == "timestamp" {
			continue
		}
		var t time.Time
		if sec, err := strconv.ParseFloat(fields[0], 64); err == nil {
			t = time.Unix(0, int64(sec*1e9)).UTC()
		} else if t, err = time.Parse(time.RFC3339, fields[0]); err != nil {
			return nil, nil, 0, fmt.Errorf("line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("line %d: %w", line, err)
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("read: %w", err)
	}
	var d []time.Duration
	for i := 1; i < len(ts) && len(d) < 32; i++ {
		if dt := ts[i].Sub(ts[i-1]); dt > 0 {
			d = append(d, dt)
		}
	}
	if len(d) == 0 {
		return nil, nil, 0, fmt.Errorf("%s: fewer than two distinct timestamps", path)
	}
	slices.Sort(d)
	return ts, vs, d[len(d)/2], nil
}

// writeCSV writes a series as "timestamp,value" with Unix-second timestamps.
func writeCSV(path string, ts []time.Time, vs []float64) error {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i, t := range ts {
		fmt.Fprintf(&b, "%d,%s\n", t.Unix(), strconv.FormatFloat(vs[i], 'g', -1, 64))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
