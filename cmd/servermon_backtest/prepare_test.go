package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSortSeriesCountsRowsOutOfOrder(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	pts := []point{{at(10), 1}, {at(20), 2}, {at(5), 3}, {at(20), 4}, {at(15), 5}, {at(30), 6}}
	if n := sortSeries(pts); n != 2 {
		t.Errorf("%d rows out of order, want 2 (the rows at 5 s and 15 s)", n)
	}
	want := []point{{at(5), 3}, {at(10), 1}, {at(15), 5}, {at(20), 2}, {at(20), 4}, {at(30), 6}}
	checkPoints(t, pts, want) // stable: the two rows at 20 s keep their order
	if n := sortSeries(pts); n != 0 {
		t.Errorf("sorted input: %d rows out of order", n)
	}
}

func TestMergeSteps(t *testing.T) {
	t0 := time.Date(2025, 10, 26, 0, 0, 0, 0, time.UTC)
	in := func() []point {
		return []point{
			{t0, 1},
			{t0.Add(5 * time.Minute), 2}, {t0.Add(5 * time.Minute), 4}, // exact duplicates
			{t0.Add(5*time.Minute + 10*time.Second), 9}, // a near one, in the same step
			{t0.Add(10 * time.Minute), 5},
		}
	}
	g := newGrid(t0, 5*time.Minute)
	for _, tc := range []struct {
		policy string
		want   []point
	}{
		{duplicatesLast, []point{{t0, 1}, {t0.Add(5*time.Minute + 10*time.Second), 9}, {t0.Add(10 * time.Minute), 5}}},
		{duplicatesMean, []point{{t0, 1}, {t0.Add(5 * time.Minute), 5}, {t0.Add(10 * time.Minute), 5}}},
	} {
		var rep inputReport
		got, err := mergeSteps(in(), g, tc.policy, &rep)
		if err != nil {
			t.Fatalf("%s: %v", tc.policy, err)
		}
		checkPoints(t, got, tc.want)
		if rep.duplicates != 2 || rep.exact != 1 {
			t.Errorf("%s: %d rows merged, %d of them exact; want 2 and 1", tc.policy, rep.duplicates, rep.exact)
		}
	}
	var rep inputReport
	_, err := mergeSteps(in(), g, duplicatesError, &rep)
	if err == nil || !strings.Contains(err.Error(), "rows at 2025-10-26T00:05:00Z and 2025-10-26T00:05:00Z fall into one forecast step of 5m0s") ||
		!strings.Contains(err.Error(), "--input.duplicates=last") {
		t.Errorf("error policy: %v", err)
	}
}

func TestFindGaps(t *testing.T) {
	t0 := time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC)
	var pts []point
	for _, i := range []int{0, 1, 2, 5, 6, 10, 11} {
		pts = append(pts, point{t0.Add(time.Duration(i) * time.Minute), 1})
	}
	var rep inputReport
	findGaps(pts, newGrid(t0, time.Minute), &rep)
	if rep.gaps != 2 || rep.missingSteps != 5 || rep.longestGap != 3 ||
		!rep.longestFrom.Equal(t0.Add(6*time.Minute)) || !rep.longestTo.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("%+v; want 2 gaps of 5 steps, the longest 3 between minutes 6 and 10", rep)
	}
}

// localExport writes pts as an export in local time without offsets would: in CEST (UTC+2) before switch and in
// CET (UTC+1) from it on, as Europe/Berlin's clocks went back at 2025-10-26T01:00:00Z (or, with forward, forward
// at 2025-03-30T01:00:00Z: CET before, CEST after).
func localExport(t *testing.T, pts []point, switchAt time.Time, forward bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for _, p := range pts {
		before, after := 2*time.Hour, time.Hour
		if forward {
			before, after = after, before
		}
		off := before
		if !p.T.Before(switchAt) {
			off = after
		}
		fmt.Fprintf(&b, "%s,%s\n", p.T.Add(off).Format("2006-01-02 15:04:05"), strconv.FormatFloat(p.V, 'g', -1, 64))
	}
	path := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// summaryValues returns the first number of every "name: number …" line of a --summary.
func summaryValues(t *testing.T, stderr string) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for _, l := range strings.Split(stderr, "\n") {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || strings.HasPrefix(l, "servermon_backtest: ") {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
		if err != nil {
			t.Fatalf("summary line %q: %v", l, err)
		}
		got[k] = f
	}
	return got
}

// TestBacktestDaylightSavingExport: an export in local time across the autumn change repeats an hour: twelve rows
// whose timestamps each equal an earlier row's, eleven of them before the last row of the first pass (the twelfth,
// 02:55, equals it). The run sorts and merges them with one warning each, counts them in --summary, and writes one
// row per step.
func TestBacktestDaylightSavingExport(t *testing.T) {
	start := time.Date(2025, 10, 25, 0, 0, 0, 0, time.UTC)
	pts := btSeries(600)
	for i := range pts {
		pts[i].T = start.Add(time.Duration(i) * 5 * time.Minute)
	}
	switchAt := time.Date(2025, 10, 26, 1, 0, 0, 0, time.UTC)
	path := localExport(t, pts, switchAt, false)

	out, stderr, code := runBacktest(t, "", "--input="+path, "--horizon=1h", "--summary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"warning: 11 rows out of time order; sorted", "warning: 12 rows fall into a forecast step of 5m0s with another row (12 with the same timestamp); kept the last"} {
		if n := strings.Count(stderr, w); n != 1 {
			t.Errorf("%q %d times on stderr, want once:\n%s", w, n, stderr)
		}
	}
	sum := summaryValues(t, stderr)
	for k, w := range map[string]float64{"observations": 600, "rows out of order": 11, "duplicate rows": 12, "gaps": 0} {
		if sum[k] != w {
			t.Errorf("summary %q = %v, want %v", k, sum[k], w)
		}
	}
	rows := parseOutput(t, out)
	if len(rows) != 600-12 {
		t.Fatalf("%d rows, want one per step: %d", len(rows), 600-12)
	}
	// The repeated local hour 02:00–02:55 is kept from its second pass (CET), the later rows of the file.
	local := func(p point) time.Time { return p.T.Add(time.Hour) }
	byTime := map[time.Time]outRow{}
	for i, r := range rows {
		byTime[r.origin] = r
		if i > 0 && !r.origin.After(rows[i-1].origin) {
			t.Fatalf("row %d at %v is not after %v", i, r.origin, rows[i-1].origin)
		}
		if i >= 59 && !r.hasForecast {
			t.Errorf("row %d (%v) after the warm-up has no forecast", i, r.origin)
		}
	}
	for _, p := range pts {
		if p.T.Before(switchAt) || !p.T.Before(switchAt.Add(time.Hour)) {
			continue
		}
		if r := byTime[local(p)]; r.value != p.V {
			t.Errorf("local %v: value %v, want the second pass's %v", local(p), r.value, p.V)
		}
	}

	// mean averages the two passes; error refuses them, naming the flag.
	out, stderr, code = runBacktest(t, "", "--input="+path, "--horizon=1h", "--input.duplicates=mean")
	if code != 0 {
		t.Fatalf("mean: exit %d: %s", code, stderr)
	}
	byTime = map[time.Time]outRow{}
	for _, r := range parseOutput(t, out) {
		byTime[r.origin] = r
	}
	for i, p := range pts {
		if p.T.Before(switchAt) || !p.T.Before(switchAt.Add(time.Hour)) {
			continue
		}
		first := pts[i-12] // the same local time an hour earlier, in CEST
		if r, want := byTime[local(p)], first.V/2+p.V/2; math.Abs(r.value-want) > 1e-15 {
			t.Errorf("mean: local %v: value %v, want %v", local(p), r.value, want)
		}
	}
	if _, stderr, code := runBacktest(t, "", "--input="+path, "--input.duplicates=error"); code != 1 ||
		!strings.Contains(stderr, "rows at 2025-10-26T02:00:00Z and 2025-10-26T02:00:00Z fall into one forecast step") {
		t.Errorf("error: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runBacktest(t, "", "--input="+path, "--input.duplicates=first"); code != 2 || !strings.Contains(stderr, `--input.duplicates=first: want one of last, mean, error`) {
		t.Errorf("bad policy: exit %d, %q", code, stderr)
	}
}

// TestBacktestSpringGapIsReported: the spring change skips a local hour, which --summary reports as a gap.
func TestBacktestSpringGapIsReported(t *testing.T) {
	start := time.Date(2025, 3, 29, 0, 0, 0, 0, time.UTC)
	pts := btSeries(600)
	for i := range pts {
		pts[i].T = start.Add(time.Duration(i) * 5 * time.Minute)
	}
	path := localExport(t, pts, time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC), true)
	_, stderr, code := runBacktest(t, "", "--input="+path, "--horizon=1h", "--summary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "gaps: 1 (12 steps without an observation; the longest, 12 steps, between 2025-03-30T01:55:00Z and 2025-03-30T03:00:00Z)\n"; !strings.Contains(stderr, want) {
		t.Errorf("summary lacks %q:\n%s", want, stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("a gap is no reason for a warning:\n%s", stderr)
	}
}

// TestBacktestNearDuplicate: a row 10 s after another at a 5 m step is merged like an exact duplicate, with a
// warning, rather than accepted as a row of its own with empty forecast columns.
func TestBacktestNearDuplicate(t *testing.T) {
	pts := btSeries(300)
	extra := point{pts[200].T.Add(10 * time.Second), 0.77}
	withExtra := append(append(append([]point(nil), pts[:201]...), extra), pts[201:]...)
	out, stderr, code := runBacktest(t, "", "--input="+writeSeriesCSV(t, withExtra), "--horizon=1h", "--summary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: 1 rows fall into a forecast step of 5m0s with another row (0 with the same timestamp)") {
		t.Errorf("no warning about the near duplicate:\n%s", stderr)
	}
	if sum := summaryValues(t, stderr); sum["duplicate rows"] != 1 {
		t.Errorf("summary counts %v duplicate rows, want 1", sum["duplicate rows"])
	}
	rows := parseOutput(t, out)
	if len(rows) != len(pts) {
		t.Fatalf("%d rows for %d steps", len(rows), len(pts))
	}
	if r := rows[200]; !r.origin.Equal(extra.T) || r.value != extra.V || !r.hasForecast {
		t.Errorf("row of the merged step: %+v, want the later row's time and value %+v, with a forecast", r, extra)
	}
	for i, r := range rows[59:] {
		if !r.hasForecast {
			t.Errorf("row %d has no forecast", i+59)
		}
	}
}
