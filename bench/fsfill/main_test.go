package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestQuick is a small version of the bench's check: one seed of six scenarios in their short form, both sides
// (node-mixin through promtool). Our rule must give no false alarm, miss no fill, and alert no later than
// maxLagMin after node-mixin (docs/forecasting.md: on sudden fills the trust gate holds our alert back, by up to
// 30 minutes over the 72 fills of the 24-seed run); node-mixin must warn of the fill and false-alarm somewhere (a
// new node, a sawtooth or a burst), or the comparison itself would be broken.
func TestQuick(t *testing.T) {
	const maxLagMin = 45
	o := options{seeds: 1, first: 1, quick: true, promtool: "promtool", workers: 2,
		names: []string{"steady_fill", "new_node", "daily_cleanup", "temp_burst", "resize", "static_high"},
		ours:  ourSettings{threshold: 0.95, warnFor: 30, critFor: 15, rescale: true, noSeriesETA: true}}
	results, err := bench(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	nmFalse := 0
	for _, r := range results {
		nmFalse += r.nm.falseMin
		if r.ours.falseMin > 0 {
			t.Errorf("%s seed %d: our rule fired %d minutes on a filesystem that does not fill [%s]", r.scenario, r.seed, r.ours.falseMin, r.params)
		}
		if !r.fills {
			continue
		}
		if r.ours.warnAt < 0 {
			t.Errorf("%s seed %d: our rule missed the fill [%s]", r.scenario, r.seed, r.params)
			continue
		}
		nm := r.nm.warnAt
		if nm < 0 {
			t.Errorf("%s seed %d: node-mixin missed the fill; the evaluation of its rules is broken [%s]", r.scenario, r.seed, r.params)
			continue
		}
		if first := firstAlert(r.ours); first > nm+maxLagMin {
			t.Errorf("%s seed %d: our first alert %d min after node-mixin's warning [%s]", r.scenario, r.seed, first-nm, r.params)
		}
	}
	if nmFalse == 0 {
		t.Error("node-mixin never fired where nothing fills; the evaluation of its rules is broken")
	}
	var b strings.Builder
	report(&b, results, o)
	if !strings.Contains(b.String(), "false_alarm_hours servermon=0.0 ") {
		t.Errorf("report:\n%s", b.String())
	}
}

// TestAlertStateMatchesPromtool checks the replay's `for` against Prometheus' own: the same condition series,
// evaluated by promtool as an alert with the same `for`, fires at the same minutes.
func TestAlertStateMatchesPromtool(t *testing.T) {
	cond := []bool{false, true, true, true, false, true, true, true, true, true, false, false, true, true, true, true}
	for _, forMin := range []int{0, 2, 3} {
		a := alertState{forMin: forMin}
		var want []int
		for m, c := range cond {
			if a.eval(c) {
				want = append(want, m)
			}
		}
		got := promtoolFiring(t, cond, forMin)
		if !equalInts(got, want) {
			t.Errorf("for %dm: promtool fires at %v, the replay at %v", forMin, got, want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEncodeValues(t *testing.T) {
	for in, want := range map[string]string{
		"1 1 1 2 3 3": "1x2 2 3x1",
		"5":           "5",
		"0.5 1e12":    "0.5 1000000000000",
	} {
		var vs []float64
		for _, f := range strings.Fields(in) {
			var v float64
			if _, err := fmtSscan(f, &v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		if got := encodeValues(vs); got != want {
			t.Errorf("encodeValues(%s) = %q, want %q", in, got, want)
		}
	}
	if q := quantile([]float64{3, 1, 2}, 0.5); q != 2 {
		t.Errorf("median of 1, 2, 3: %v", q)
	}
	if !math.IsNaN(quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
}

var fmtSscan = fmt.Sscan

// promtoolFiring evaluates an alert on cond (one value a minute) with promtool and returns the minutes at which it
// fires.
func promtoolFiring(t *testing.T, cond []bool, forMin int) []int {
	t.Helper()
	dir := t.TempDir()
	rule := "groups:\n  - name: g\n    rules:\n      - alert: Cond\n        expr: cond == 1\n"
	if forMin > 0 {
		rule += fmt.Sprintf("        for: %dm\n", forMin)
	}
	var vals []string
	for _, c := range cond {
		vals = append(vals, map[bool]string{true: "1", false: "0"}[c])
	}
	test := "rule_files: [r.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n" +
		"      - series: 'cond'\n        values: '" + strings.Join(vals, " ") + "'\n    promql_expr_test:\n"
	for m := range cond {
		test += fmt.Sprintf("      - expr: 'ALERTS{alertstate=\"firing\"}'\n        eval_time: %dm\n        exp_samples: [{labels: 'never{}', value: -1}]\n", m)
	}
	for name, data := range map[string]string{"r.yml": rule, "t.yml": test} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("promtool", "test", "rules", "t.yml")
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	var firing []int
	for _, m := range regexp.MustCompile(`time: (\d+)m,\n\s*exp: .*\n\s*got: (.*)`).FindAllStringSubmatch(string(out), -1) {
		if strings.TrimSpace(m[2]) != "nil" {
			n, _ := strconv.Atoi(m[1])
			firing = append(firing, n)
		}
	}
	if strings.Count(string(out), "exp:") != len(cond) {
		t.Fatalf("promtool printed %d results for %d minutes:\n%s", strings.Count(string(out), "exp:"), len(cond), out)
	}
	return firing
}
