package rules

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

func TestCompressExpr(t *testing.T) {
	cases := []struct{ in, want string }{
		{`rate(x[5m])`, `rate(x[500ms])`},
		{`max_over_time(x[1h:5m]) offset 1h30m`, `max_over_time(x[6s:500ms]) offset 9s`},
		{`servermon_forecast_seconds_until_threshold{target="memory_usage_ratio"} < 7200`,
			`servermon_forecast_seconds_until_threshold{target="memory_usage_ratio"} < 12`},
		{`7200 >= bool servermon_forecast_seconds_until_threshold`, `12 >= bool servermon_forecast_seconds_until_threshold`},
		{`servermon_forecast_seconds_until_threshold > bool 7200`, `servermon_forecast_seconds_until_threshold > bool 12`},
		{`x and on (job, instance) servermon_forecast_history_seconds >= 21600`,
			`x and on (job, instance) servermon_forecast_history_seconds >= 36`},
		{`servermon_load15 > 4000 and on (job) servermon_forecast_history_seconds >= 21600`,
			`servermon_load15 > 4000 and on (job) servermon_forecast_history_seconds >= 36`},
		{`count by (job) (instance:servermon_forecast_seconds_until_threshold:trusted < 86400)`,
			`count by (job) (instance:servermon_forecast_seconds_until_threshold:trusted < 144)`},
		{`a > 0 and on (job) time() - process_start_time_seconds < 3600`, `a > 0 and on (job) time() - process_start_time_seconds < 6`},
		{`servermon_forecast_error_ratio{horizon="1h"} > 1 < +Inf`, `servermon_forecast_error_ratio{horizon="6s"} > 1 < +Inf`},
		{`x{horizon = "5m", target="1h"}`, `x{horizon = "500ms", target="1h"}`},
		{`x{horizon="$horizon"} offset $horizon`, `x{horizon="$horizon"} offset $horizon`},
		{`servermon_disk_read_await_seconds > 600 # not a forecast time: 1h`, `servermon_disk_read_await_seconds > 600 # not a forecast time: 1h`},
		{`topk(50, servermon_load1) > 1e3 or vector(0x10)`, `topk(50, servermon_load1) > 1e3 or vector(0x10)`},
		{`servermon_forecast_history_seconds > 6e3`, `servermon_forecast_history_seconds > 10`},
	}
	for _, c := range cases {
		got, _, err := compressExpr(c.in, 600)
		if err != nil {
			t.Errorf("compressExpr(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("compressExpr(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestCompressExprRejects(t *testing.T) {
	for _, in := range []string{
		`x{horizon=~"1h|6h"}`,         // a regexp of horizons: no faithful rewrite
		`rate(x[7s])`,                 // 7s/600 is not a whole number of milliseconds
		`x{horizon="soon"}`,           // not a duration
		`x{job="unterminated}`,        // lexer error
		`servermon_load1 > 3foo`,      // number glued to letters
		`x{horizon="1h"} offset 1ms`,  // 1ms/600
		`y[1h:1s] + x{horizon="7ms"}`, // 7ms/600
	} {
		if out, _, err := compressExpr(in, 600); err == nil {
			t.Errorf("compressExpr(%q) = %q, want an error", in, out)
		}
	}
}

// shippedExprs returns every expression of the shipped rules and dashboards, the inputs the compression and the
// stack test handle.
func shippedExprs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range allRules(t) {
		out = append(out, r.Expr)
	}
	for _, q := range loadDashboardQueries(t) {
		out = append(out, q.Expr)
	}
	return out
}

func TestLexRoundTrip(t *testing.T) {
	for _, e := range shippedExprs(t) {
		ts, err := lexPromQL(e)
		if err != nil {
			t.Errorf("lex: %v", err)
			continue
		}
		if got := joinTokens(ts); got != e {
			t.Errorf("lex round trip changed %q into %q", e, got)
		}
	}
}

// compressedRuleFiles compresses the shipped rule files into dir and returns their paths; every value the audit
// finds wrong is a test error.
func compressedRuleFiles(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	kept := map[string]bool{}
	for _, name := range []string{alertsFile, recordsFile} {
		orig, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		comp, n, k, err := compressRuleFile(orig, compressFactor, uncompressedGroups)
		if err != nil {
			t.Fatalf("compress %s: %v", name, err)
		}
		for _, g := range k {
			kept[g] = true
		}
		if n == 0 {
			t.Errorf("compress %s: nothing changed", name)
		}
		for _, err := range auditCompression(orig, comp, compressFactor, uncompressedGroups) {
			t.Errorf("compressed %s: %v", name, err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, comp, 0o644); err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
		paths = append(paths, p)
	}
	for g := range uncompressedGroups {
		if !kept[g] {
			t.Errorf("group %s, to be kept uncompressed, is in no rule file", g)
		}
	}
	return paths
}

// TestCompressShippedRules compresses the shipped rules, audits the result, checks it with promtool, and checks
// that every horizon the compressed rules select is one the exporter publishes when its default horizons are
// compressed the same way (otherwise the trust gate could never open in the stack test).
func TestCompressShippedRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	paths := compressedRuleFiles(t, t.TempDir())
	if out, err := run(t, ".", promtool, append([]string{"check", "rules"}, paths...)...); err != nil ||
		strings.Contains(out, "WARNING") {
		t.Fatalf("promtool check rules on the compressed rules: %v\n%s", err, out)
	}
	var published []string
	for _, h := range stackHorizons(t) {
		published = append(published, exposition.FormatDuration(h))
	}
	for _, p := range paths {
		for _, r := range loadRules(t, p) {
			ts, err := lexPromQL(r.Expr)
			if err != nil {
				t.Fatal(err)
			}
			for i, tok := range ts {
				if tok.kind != tokString || prevSignificant(ts, prevSignificant(ts, i)) < 0 ||
					ts[prevSignificant(ts, prevSignificant(ts, i))].text != "horizon" {
					continue
				}
				if h := strings.Trim(tok.text, `"`); !slices.Contains(published, h) {
					t.Errorf("%s selects horizon %q; the stack's exporter publishes %v", r.name(), h, published)
				}
			}
		}
	}
}

// TestAuditCatchesMisses makes sure the audit fails on what a broken compression would produce: a threshold, a
// for:, a range or a horizon left at its production value, or an annotation touched.
func TestAuditCatchesMisses(t *testing.T) {
	orig, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	comp, _, _, err := compressRuleFile(orig, compressFactor, uncompressedGroups)
	if err != nil {
		t.Fatal(err)
	}
	if errs := auditCompression(orig, comp, compressFactor, uncompressedGroups); len(errs) != 0 {
		t.Fatalf("audit of the good compression: %v", errs)
	}
	for _, m := range []struct{ from, to string }{
		{"< 12\n", "< 7200\n"},                         // ETA threshold left in production seconds
		{">= 36\n", ">= 21600\n"},                      // history gate left
		{`horizon="6s"`, `horizon="1h"`},               // horizon left
		{"[1s500ms]", "[15m]"},                         // range left
		{"for: 1s\n", "for: 10m\n"},                    // for: left
		{"< 12\n", "< 13\n"},                           // wrong factor
		{"run out within 2 hours", "run out soon"},     // annotation changed
		{"severity: critical", "severity: warning"},    // label changed
		{"servermon_anomalous[", "servermon_up_fake["}, // expression changed
	} {
		if !strings.Contains(string(comp), m.from) {
			t.Errorf("mutation %q: not found in the compressed rules", m.from)
			continue
		}
		bad := strings.Replace(string(comp), m.from, m.to, 1)
		if errs := auditCompression(orig, []byte(bad), compressFactor, uncompressedGroups); len(errs) == 0 {
			t.Errorf("audit accepted the compressed rules with %q replaced by %q", m.from, m.to)
		}
	}
}

func TestCompressRuleFileKeepsGroups(t *testing.T) {
	orig, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	comp, _, kept, err := compressRuleFile(orig, compressFactor, uncompressedGroups)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != len(uncompressedGroups) {
		t.Errorf("kept %v, want the groups of %v", kept, uncompressedGroups)
	}
	// Every group is either kept verbatim or compressed: the audit of the same output without the keep list
	// must complain about the kept groups, each of which has times in it.
	if errs := auditCompression(orig, comp, compressFactor, nil); len(errs) == 0 {
		t.Error("the kept groups passed an audit that expects them compressed")
	}
}

// stackHorizons are the exporter's default forecast horizons compressed by compressFactor: the horizons the stack
// test runs the exporter with.
func stackHorizons(t *testing.T) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, h := range forecast.DefaultConfig().Horizons {
		if h%(compressFactor*time.Millisecond) != 0 {
			t.Fatalf("default horizon %v is not a whole number of milliseconds once divided by %d", h, compressFactor)
		}
		out = append(out, h/compressFactor)
	}
	return out
}
