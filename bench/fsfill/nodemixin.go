package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// nodeMixinRules are node-mixin's NodeFilesystemSpaceFillingUp alerts (prometheus/node_exporter,
// docs/node-mixin/alerts/alerts.libsonnet) with its default selectors and thresholds: warning when less than 40 %
// is available and predict_linear over 6 h says empty within 24 h, critical below 20 % and within 4 h, both for 1 h
// on filesystems that are not read-only.
func nodeMixinRules() string {
	return "groups:\n  - name: node-exporter-filesystem\n    rules:\n" +
		nodeMixinRule(40, "24*60*60", "warning") + nodeMixinRule(20, "4*60*60", "critical")
}

// nodeMixinRule is one severity of NodeFilesystemSpaceFillingUp, as node-mixin spells it.
func nodeMixinRule(availPercent int, within, severity string) string {
	const sel = `{job="node",fstype!="",mountpoint!=""}`
	return fmt.Sprintf(`      - alert: NodeFilesystemSpaceFillingUp
        expr: |
          (
            node_filesystem_avail_bytes%[1]s / node_filesystem_size_bytes%[1]s * 100 < %[2]d
          and
            predict_linear(node_filesystem_avail_bytes%[1]s[6h], %[3]s) < 0
          and
            node_filesystem_readonly%[1]s == 0
          )
        for: 1h
        labels:
          severity: %[4]s
`, sel, availPercent, within, severity)
}

// scraped is what node_exporter would have exposed for one run, scraped once a minute.
type scraped struct {
	instance    string
	avail, size []float64
	// Minutes of the run: alerts are counted as fresh-start alarms before freshEnd, as false from scoreFrom to
	// falseEnd (exclusive), and the first warning and critical looked for from onset to full (for fills).
	freshEnd, scoreFrom, falseEnd, onset, full int
	fills                                      bool
}

// nodeMixin evaluates node-mixin's rules on the runs with `promtool test rules`: the runs are its input series
// (one instance each, 1 m apart), the rules are evaluated every minute as Prometheus would, and PromQL queries of
// the ALERTS series the evaluation writes give each run's firing minutes and the first minutes at which an alert
// starts to fire (firing, and not firing a minute before). The queries are
// written to fail (they expect a sample that cannot exist), so that promtool prints what they returned.
func nodeMixin(ctx context.Context, promtool, dir string, runs []scraped) ([]score, error) {
	if err := os.WriteFile(filepath.Join(dir, "node-mixin.yml"), []byte(nodeMixinRules()), 0o644); err != nil {
		return nil, fmt.Errorf("write node-mixin rules: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("rule_files: [node-mixin.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n")
	for _, r := range runs {
		labels := fmt.Sprintf(`job="node",instance=%q,device="/dev/vdb",mountpoint="/data",fstype="ext4"`, r.instance)
		fmt.Fprintf(&b, "      - series: 'node_filesystem_avail_bytes{%s}'\n        values: '%s'\n", labels, encodeValues(r.avail))
		fmt.Fprintf(&b, "      - series: 'node_filesystem_size_bytes{%s}'\n        values: '%s'\n", labels, encodeValues(r.size))
		fmt.Fprintf(&b, "      - series: 'node_filesystem_readonly{%s}'\n        values: '0x%d'\n", labels, len(r.avail)-1)
	}
	b.WriteString("    promql_expr_test:\n")
	// Each query is tagged with its kind in a label q, which also appears in the expression promtool prints.
	query := func(kind, expr string, at int) {
		fmt.Fprintf(&b, "      - expr: '%s'\n        eval_time: %dm\n        exp_samples: [{labels: 'never{}', value: -1}]\n",
			fmt.Sprintf(`label_replace(%s, "q", "%s", "", "")`, expr, kind), at)
	}
	for _, r := range runs {
		sel := fmt.Sprintf(`ALERTS{alertname="NodeFilesystemSpaceFillingUp",alertstate="firing",instance=%q`, r.instance)
		count := func(from, to int) string {
			return fmt.Sprintf(`count_over_time((max by (instance) (%s}))[%dm:1m])`, sel, to-from)
		}
		if r.freshEnd > 0 {
			query("fresh", count(0, r.freshEnd), r.freshEnd-1)
		}
		if r.falseEnd > r.scoreFrom {
			query("false", count(r.scoreFrom, r.falseEnd), r.falseEnd-1)
		}
		if r.fills {
			d := r.full - r.onset + 1
			for _, sev := range []string{"warning", "critical"} {
				a := fmt.Sprintf(`%s,severity=%q}`, sel, sev)
				query(sev, fmt.Sprintf(`min_over_time(timestamp(%s unless %s offset 1m)[%dm:1m])`, a, a, d), r.full)
			}
		}
	}
	test := filepath.Join(dir, "test.yml")
	if err := os.WriteFile(test, b.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write promtool test: %w", err)
	}
	cmd := exec.CommandContext(ctx, promtool, "test", "rules", "test.yml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil, fmt.Errorf("promtool test rules passed, but every query was written to fail:\n%s", out)
	}
	if !bytes.Contains(out, []byte("FAILED:")) {
		return nil, fmt.Errorf("promtool test rules: %w\n%s", err, out)
	}
	return parseNodeMixin(string(out), runs)
}

// encodeValues writes promtool's values notation, with runs of equal values as "vxN".
func encodeValues(vs []float64) string {
	var b strings.Builder
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[i] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(vs[i], 'f', -1, 64))
		if j > i {
			fmt.Fprintf(&b, "x%d", j-i)
		}
		i = j + 1
	}
	return b.String()
}

var (
	failedExpr = regexp.MustCompile(`expr: "(.*)", time: .*,\n\s*exp: .*\n\s*got: (.*)`)
	exprKind   = regexp.MustCompile(`instance=\\"([^\\]+)\\".*\\"q\\", \\"(\w+)\\"`)
	gotValue   = regexp.MustCompile(`\} ([-+0-9.eE]+)$`)
)

func parseNodeMixin(out string, runs []scraped) ([]score, error) {
	idx := map[string]int{}
	res := make([]score, len(runs))
	for i, r := range runs {
		idx[r.instance] = i
		res[i] = score{warnAt: -1, critAt: -1}
	}
	matches := failedExpr.FindAllStringSubmatch(out, -1)
	want := 0
	for _, r := range runs {
		if r.freshEnd > 0 {
			want++
		}
		if r.falseEnd > r.scoreFrom {
			want++
		}
		if r.fills {
			want += 2
		}
	}
	if len(matches) != want {
		return nil, fmt.Errorf("promtool printed %d query results, want %d:\n%.2000s", len(matches), want, out)
	}
	for _, m := range matches {
		k := exprKind.FindStringSubmatch(m[1])
		if k == nil {
			return nil, fmt.Errorf("unexpected query %q", m[1])
		}
		i, ok := idx[k[1]]
		if !ok {
			return nil, fmt.Errorf("query of unknown instance %q", k[1])
		}
		v := -1.0
		if got := strings.TrimSpace(m[2]); got != "nil" {
			g := gotValue.FindStringSubmatch(got)
			if g == nil {
				return nil, fmt.Errorf("cannot read result %q of %q", got, m[1])
			}
			var err error
			if v, err = strconv.ParseFloat(g[1], 64); err != nil {
				return nil, fmt.Errorf("result %q of %q: %w", got, m[1], err)
			}
		}
		switch {
		case k[2] == "fresh":
			res[i].freshMin = max(0, int(v))
		case k[2] == "false":
			res[i].falseMin = max(0, int(v))
		case v >= 0 && k[2] == "warning":
			res[i].warnAt = int(v / 60)
		case v >= 0 && k[2] == "critical":
			res[i].critAt = int(v / 60)
		}
	}
	return res, nil
}

// promtoolTimeout bounds one promtool run.
const promtoolTimeout = 10 * time.Minute
