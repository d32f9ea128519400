package rules

import (
	"os"
	"strings"
	"testing"
)

// markdownTables returns the tables of the "## Thresholds" section of
// docs/runbooks.md, keyed by the first header cell; each row is its cells
// with surrounding spaces and backticks removed.
func markdownTables(t *testing.T) map[string][][]string {
	t.Helper()
	data, err := os.ReadFile(runbooksFile)
	if err != nil {
		t.Fatalf("read runbooks: %v", err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Thresholds\n")
	if !ok {
		t.Fatal("docs/runbooks.md has no '## Thresholds' section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	tables := map[string][][]string{}
	var header string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			header = ""
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
		}
		switch {
		case header == "":
			header = cells[0]
		case strings.HasPrefix(cells[0], "---"):
		default:
			tables[header] = append(tables[header], cells)
		}
	}
	return tables
}

// TestThresholdTableMatchesRules checks that each row of the thresholds table
// names exactly one rule whose expr contains the row's fragment and whose
// for: equals the row's, and that every alert has a row.
func TestThresholdTableMatchesRules(t *testing.T) {
	rows := markdownTables(t)["Rule"]
	if len(rows) == 0 {
		t.Fatal("thresholds table (header 'Rule') not found or empty")
	}
	rules := allRules(t)
	covered := map[int]bool{}
	for _, row := range rows {
		if len(row) != 5 {
			t.Errorf("row %q: want 5 cells", row)
			continue
		}
		name, severity, fragment, forCell := row[0], row[1], row[2], row[3]
		if forCell == "-" {
			forCell = ""
		}
		if severity == "-" {
			severity = ""
		}
		var matched []int
		for i, r := range rules {
			if r.name() == name && r.Labels["severity"] == severity {
				matched = append(matched, i)
			}
		}
		if len(matched) != 1 {
			t.Errorf("row %s/%s matches %d rules, want 1", name, severity, len(matched))
			continue
		}
		r := rules[matched[0]]
		covered[matched[0]] = true
		if !strings.Contains(normalize(r.Expr), normalize(fragment)) {
			t.Errorf("%s/%s: expr does not contain the table's %q:\n%s", name, severity, fragment, r.Expr)
		}
		if r.For != forCell {
			t.Errorf("%s/%s: for %q, table says %q", name, severity, r.For, forCell)
		}
	}
	for i, r := range rules {
		if r.Alert != "" && !covered[i] {
			t.Errorf("alert %s/%s has no row in the thresholds table", r.Alert, r.Labels["severity"])
		}
	}
}

// TestTrustGate checks the trust gate: its record holds both fragments of the gate table, joined per target and per
// mount (two mounts of one device must not borrow each other's gate); the record of trusted times until threshold
// is the ETAs joined with it; every other rule reading raw ETAs or anomaly flags joins the gate record, and the
// worse-than-naive alert has the history fragment.
func TestTrustGate(t *testing.T) {
	rows := markdownTables(t)["Gate"]
	if len(rows) != 2 {
		t.Fatalf("gate table (header 'Gate') has %d rows, want 2", len(rows))
	}
	const join = "and on (job, instance, target, device, mountpoint) "
	var fragments []string
	historyGate := ""
	for _, row := range rows {
		fragments = append(fragments, normalize(row[1]))
		if strings.HasPrefix(row[1], "servermon_forecast_history_seconds") {
			historyGate = join + row[1]
		}
	}
	if historyGate == "" {
		t.Fatal("gate table has no servermon_forecast_history_seconds row")
	}
	rules := allRules(t)
	// The gate's two records come first, in the order they depend on each other, in the alerts' first group.
	if len(rules) < 2 || rules[0].Record != trustedRecord || rules[1].Record != trustedETARecord {
		t.Fatalf("the first rules of %s must record %s, then %s", alertsFile, trustedRecord, trustedETARecord)
	}
	gate := normalize(rules[0].Expr)
	for _, f := range fragments {
		if !strings.Contains(gate, f) {
			t.Errorf("%s lacks the gate's %q:\n%s", trustedRecord, f, rules[0].Expr)
		}
	}
	if !strings.Contains(gate, join) {
		t.Errorf("%s does not join its fragments %q:\n%s", trustedRecord, join, rules[0].Expr)
	}
	gated := 0
	for _, r := range rules[1:] {
		expr := normalize(r.Expr)
		switch {
		case etaMetric.MatchString(r.Expr), anomalousMetric.MatchString(r.Expr):
			if !strings.Contains(expr, join+trustedRecord) {
				t.Errorf("%s: reads raw ETAs or anomaly flags without %q:\n%s", r.name(), join+trustedRecord, r.Expr)
			}
		case trustedETA.MatchString(r.Expr):
		case r.Alert == "ServermonForecastWorseThanNaive":
			if !strings.Contains(expr, normalize(historyGate)) {
				t.Errorf("%s: expr lacks the history gate %q:\n%s", r.name(), historyGate, r.Expr)
			}
		default:
			continue
		}
		gated++
	}
	// The ETA record, memory x2, swap x2, CPU, disk, filesystem x2, anomaly, worse-than-naive, and the records
	// reading ETAs and anomalies: the gate must not silently vanish.
	if gated < 12 {
		t.Errorf("only %d rules are trust-gated; expected every forecast rule", gated)
	}
}
