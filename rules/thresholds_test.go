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

// TestTrustGate checks that every rule reading raw forecast ETAs or anomaly
// flags is gated by both fragments of the gate table, joined per target and
// per mount (two mounts of one device must not borrow each other's gate).
func TestTrustGate(t *testing.T) {
	rows := markdownTables(t)["Gate"]
	if len(rows) != 2 {
		t.Fatalf("gate table (header 'Gate') has %d rows, want 2", len(rows))
	}
	const join = "and on (job, instance, target, device, mountpoint) "
	var gates, historyGate []string
	for _, row := range rows {
		gates = append(gates, join+row[1])
		if strings.HasPrefix(row[1], "servermon_forecast_history_seconds") {
			historyGate = []string{join + row[1]}
		}
	}
	if historyGate == nil {
		t.Fatal("gate table has no servermon_forecast_history_seconds row")
	}
	gated := 0
	for _, r := range allRules(t) {
		var want []string
		switch {
		case etaMetric.MatchString(r.Expr), anomalousMetric.MatchString(r.Expr):
			want = gates
		case r.Alert == "ServermonForecastWorseThanNaive":
			want = historyGate
		default:
			continue
		}
		gated++
		expr := normalize(r.Expr)
		for _, g := range want {
			if !strings.Contains(expr, g) {
				t.Errorf("%s: expr lacks the trust gate %q:\n%s", r.name(), g, r.Expr)
			}
		}
	}
	// Memory x2, swap x2, CPU, disk, filesystem x2, anomaly, worse-than-naive,
	// and the records reading ETAs and anomalies: the gate must not silently
	// vanish.
	if gated < 12 {
		t.Errorf("only %d rules are trust-gated; expected every forecast rule", gated)
	}
}
