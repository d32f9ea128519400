package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/forecast"
)

var btStart = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// btSeries is a noisy daily cycle with spikes at a 5 minute step.
func btSeries(n int) []point {
	r := rand.New(rand.NewPCG(1, 2))
	pts := make([]point, n)
	for i := range pts {
		tm := btStart.Add(time.Duration(i) * 5 * time.Minute)
		v := 0.3 + 0.1*math.Sin(2*math.Pi*float64(i%288)/288) + 0.05*r.NormFloat64()
		if r.Float64() < 0.02 {
			v += r.Float64()
		}
		pts[i] = point{tm, math.Max(0, v)}
	}
	return pts
}

func writeSeriesCSV(t *testing.T, pts []point) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for _, p := range pts {
		fmt.Fprintf(&b, "%d,%s\n", p.T.Unix(), strconv.FormatFloat(p.V, 'g', -1, 64))
	}
	path := filepath.Join(t.TempDir(), "series.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runBacktest(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), code
}

type outRow struct {
	origin, target      time.Time
	value               float64
	hasForecast         bool
	point, lower, upper float64
	hasScore, anomalous bool
	score               float64
}

func parseOutput(t *testing.T, out string) []outRow {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "timestamp,target_timestamp,value,forecast,lower,upper,anomaly_score,anomalous" {
		t.Fatalf("header %q", lines[0])
	}
	var rows []outRow
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 8 {
			t.Fatalf("row %d has %d fields: %q", i, len(f), l)
		}
		var r outRow
		var err error
		num := func(s string) float64 {
			v, e := strconv.ParseFloat(s, 64)
			if e != nil {
				t.Fatalf("row %d: %v", i, e)
			}
			return v
		}
		if r.origin, err = time.Parse(time.RFC3339, f[0]); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if r.target, err = time.Parse(time.RFC3339, f[1]); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		r.value = num(f[2])
		if f[3] != "" {
			r.hasForecast = true
			r.point, r.lower, r.upper = num(f[3]), num(f[4]), num(f[5])
		} else if f[4] != "" || f[5] != "" {
			t.Fatalf("row %d: bounds without a forecast: %q", i, l)
		}
		if f[6] != "" {
			r.hasScore = true
			r.score = num(f[6])
			switch f[7] {
			case "0":
			case "1":
				r.anomalous = true
			default:
				t.Fatalf("row %d: anomalous %q", i, f[7])
			}
		} else if f[7] != "" {
			t.Fatalf("row %d: anomalous without a score: %q", i, l)
		}
		rows = append(rows, r)
	}
	return rows
}

func TestBacktestRows(t *testing.T) {
	pts := btSeries(3000)
	path := writeSeriesCSV(t, pts)
	out, stderr, code := runBacktest(t, "", "--input="+path, "--horizon=1h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := parseOutput(t, out)
	if len(rows) != len(pts) {
		t.Fatalf("%d rows for %d samples", len(rows), len(pts))
	}
	forecasts := 0
	for i, r := range rows {
		if !r.origin.Equal(pts[i].T) || !r.target.Equal(pts[i].T.Add(time.Hour)) || r.value != pts[i].V {
			t.Fatalf("row %d: %+v does not match sample %+v", i, r, pts[i])
		}
		if r.hasForecast {
			forecasts++
			if !(r.lower <= r.point && r.point <= r.upper) {
				t.Errorf("row %d: point %v outside [%v, %v]", i, r.point, r.lower, r.upper)
			}
		}
	}
	// Warm-up: forecasts start after max(60, 12 + 32) steps and then never stop on a regular series.
	if want := len(pts) - 59; forecasts != want {
		t.Errorf("%d rows with forecasts, want %d", forecasts, want)
	}

	// Exactly the exporter's forecast code: the same series driven directly gives the same last row.
	cfg := forecast.DefaultConfig()
	cfg.Step, cfg.Horizons = 5*time.Minute, []time.Duration{time.Hour}
	s, err := forecast.NewSeries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		s.Push(p.T, p.V)
	}
	p, _ := s.Forecast(0)
	last := rows[len(rows)-1]
	if p.Point != last.point || p.Lower != last.lower || p.Upper != last.upper {
		t.Errorf("last row %+v, direct forecast %+v", last, p)
	}
}

func TestBacktestPrefixProperty(t *testing.T) {
	pts := btSeries(1500)
	full, _, code := runBacktest(t, "", "--input="+writeSeriesCSV(t, pts), "--horizon=1h")
	if code != 0 {
		t.Fatal("full run failed")
	}
	fullLines := strings.Split(full, "\n")
	for _, n := range []int{33, 100, 700} {
		out, stderr, code := runBacktest(t, "", "--input="+writeSeriesCSV(t, pts[:n]), "--horizon=1h")
		if code != 0 {
			t.Fatalf("prefix %d: exit %d: %s", n, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != n+1 {
			t.Fatalf("prefix %d: %d lines", n, len(lines))
		}
		for i, l := range lines {
			if l != fullLines[i] {
				t.Fatalf("prefix %d, line %d:\n%s\nfull run:\n%s", n, i, l, fullLines[i])
			}
		}
	}
}

func TestBacktestSummary(t *testing.T) {
	pts := btSeries(2000)
	out, stderr, code := runBacktest(t, "", "--input="+writeSeriesCSV(t, pts), "--horizon=30m", "--summary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := parseOutput(t, out)
	values := map[time.Time]float64{}
	for _, r := range rows {
		values[r.origin] = r.value
	}
	var n, covered int
	var mae, naive float64
	for _, r := range rows {
		truth, ok := values[r.target]
		if !r.hasForecast || !ok {
			continue
		}
		n++
		mae += math.Abs(truth - r.point)
		naive += math.Abs(truth - r.value)
		if truth >= r.lower && truth <= r.upper {
			covered++
		}
	}
	got := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("summary line %q", l)
		}
		f, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
		if err != nil {
			t.Fatalf("summary line %q: %v", l, err)
		}
		got[k] = f
	}
	want := map[string]float64{
		"rows scored":                float64(n),
		"MAE":                        mae / float64(n),
		"naive MAE":                  naive / float64(n),
		"MAE ratio (forecast/naive)": mae / naive,
		"interval coverage":          float64(covered) / float64(n),
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > 1e-9*math.Abs(w) {
			t.Errorf("summary %q = %v (present %v), recomputed %v", k, g, ok, w)
		}
	}
	if _, ok := got["predict_linear ratio (predict_linear/naive)"]; !ok {
		t.Errorf("no predict_linear baseline in the summary:\n%s", stderr)
	}
	if n != len(pts)-59-6 {
		t.Errorf("%d rows scored, want %d", n, len(pts)-59-6)
	}
}

func TestBacktestStdinAndPrometheusJSON(t *testing.T) {
	pts := btSeries(200)
	var vals []string
	for _, p := range pts {
		vals = append(vals, fmt.Sprintf("[%d,\"%s\"]", p.T.Unix(), strconv.FormatFloat(p.V, 'g', -1, 64)))
	}
	js := `{"status":"success","data":{"resultType":"matrix","result":[` +
		`{"metric":{"instance":"a"},"values":[[0,"1"],[300,"2"]]},` +
		`{"metric":{"instance":"b"},"values":[` + strings.Join(vals, ",") + `]}]}}`
	out, stderr, code := runBacktest(t, js, "--input=-", `--series=instance="b"`, "--horizon=5m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fromCSV, _, _ := runBacktest(t, "", "--input="+writeSeriesCSV(t, pts), "--horizon=5m")
	if out != fromCSV {
		t.Error("the same series from Prometheus JSON on stdin and from CSV gives different rows")
	}
}

func TestBacktestBadUsage(t *testing.T) {
	path := writeSeriesCSV(t, btSeries(100))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "--input"},
		{[]string{"--input=" + path, "--horizon=7m"}, 2, "not a multiple of the input's step 5m0s"},
		{[]string{"--input=" + path, "--horizon=7m", "--step=2m"}, 2, "not a multiple of step"},
		{[]string{"--input=" + path, "--horizon=banana"}, 2, "horizon"},
		{[]string{"--input=" + path, "--coverage=1.5"}, 2, "coverage"},
		{[]string{"--input=" + path, "--min=1", "--max=0"}, 2, "min < max"},
		{[]string{"--input=" + path, "--bogus"}, 2, "bogus"},
		{[]string{"--input=" + filepath.Join(t.TempDir(), "missing.csv")}, 1, "no such file"},
		{[]string{"--input=-"}, 1, "read -"},
	} {
		out, stderr, code := runBacktest(t, "", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
		if code != 0 && out != "" {
			t.Errorf("%v: output on failure: %q", tc.args, out)
		}
	}
	if _, _, code := runBacktest(t, "", "--help"); code != 0 {
		t.Errorf("--help exit %d", code)
	}
}

func TestInferStep(t *testing.T) {
	mk := func(secs ...int64) []point {
		var p []point
		for _, s := range secs {
			p = append(p, point{T: time.Unix(s, 0)})
		}
		return p
	}
	if st, err := inferStep(mk(0, 60, 120, 125, 180, 240)); err != nil || st != time.Minute {
		t.Errorf("jittered minutes: %v %v", st, err)
	}
	if _, err := inferStep(mk(5)); err == nil {
		t.Error("one sample: no error")
	}
	// Only the first stepPrefix differences count.
	secs := []int64{0}
	for i := 1; i <= stepPrefix; i++ {
		secs = append(secs, int64(i)*300)
	}
	for i := 1; i <= 100; i++ {
		secs = append(secs, secs[len(secs)-1]+60)
	}
	if st, _ := inferStep(mk(secs...)); st != 5*time.Minute {
		t.Errorf("step from a bounded prefix: %v, want 5m", st)
	}
}

func TestBacktestJitteredTimestamps(t *testing.T) {
	pts := btSeries(600)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range pts {
		// ±40 s around the 5 m grid, and the whole series 2 m 10 s off the epoch grid
		pts[i].T = pts[i].T.Add(130*time.Second + time.Duration(r.IntN(81)-40)*time.Second)
	}
	path := writeSeriesCSV(t, pts)
	if _, stderr, code := runBacktest(t, "", "--input="+path, "--horizon=1h"); code != 2 || !strings.Contains(stderr, "pass --step") {
		t.Errorf("jittered input without --step: exit %d, %q; want a usage error suggesting --step", code, stderr)
	}
	out, stderr, code := runBacktest(t, "", "--input="+path, "--horizon=1h", "--step=5m", "--summary")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := parseOutput(t, out)
	for i, row := range rows[59:] {
		if !row.hasForecast || !row.hasScore {
			t.Fatalf("row %d after warm-up has no forecast or score: jitter put two samples into one step", i+59)
		}
	}
	if !strings.Contains(stderr, fmt.Sprintf("rows scored: %d\n", len(pts)-59-12)) {
		t.Errorf("summary does not score every row whose target is in the input:\n%s", stderr)
	}
}

// TestBacktestTargetBounds: --target takes the bounds the exporter forecasts the target with (a ratio: [0, 1]),
// unless --max says otherwise, and an unknown target is a usage error.
func TestBacktestTargetBounds(t *testing.T) {
	pts := make([]point, 400)
	for i := range pts {
		pts[i] = point{time.Unix(1.7e9, 0).Add(time.Duration(i) * time.Minute), 0.97 + 0.03*math.Sin(float64(i)/3)}
	}
	path := writeSeriesCSV(t, pts)
	highest := func(args ...string) float64 {
		t.Helper()
		out, stderr, code := runBacktest(t, "", append([]string{"--input=" + path, "--horizon=5m"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		top := math.Inf(-1)
		for _, r := range parseOutput(t, out) {
			if r.hasForecast {
				top = math.Max(top, r.upper)
			}
		}
		return top
	}
	if top := highest("--target=memory_usage_ratio"); top != 1 {
		t.Errorf("highest upper bound %v with --target=memory_usage_ratio, want it clamped to exactly 1", top)
	}
	if top := highest("--target=memory_usage_ratio", "--max=2"); !(top > 1) {
		t.Errorf("highest upper bound %v with --max=2, want above 1", top)
	}
	if _, stderr, code := runBacktest(t, "", "--input="+path, "--target=gpu_usage_ratio"); code != 2 || !strings.Contains(stderr, "--target=gpu_usage_ratio: want one of cpu_usage_ratio") {
		t.Errorf("unknown target: exit %d, %q", code, stderr)
	}
}
