package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/servermon/servermon_exporter/internal/dashquery"
)

// dashboardFiles are the committed, generated Grafana dashboards whose queries the stack test runs.
var dashboardFiles = []string{"../dashboards/servermon-host.json", "../dashboards/servermon-fleet.json"}

// readDashboard decodes the dashboard file f into doc.
func readDashboard(t *testing.T, f string, doc any) {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatalf("read dashboard: %v", err)
	}
	if err := json.Unmarshal(data, doc); err != nil {
		t.Fatalf("parse %s: %v", f, err)
	}
}

// dashQuery is one PromQL query of a dashboard panel.
type dashQuery struct{ dashquery.Query }

func (q dashQuery) String() string {
	return fmt.Sprintf("%s %q %s: %s", filepath.Base(q.File), q.Panel, q.Ref, q.Expr)
}

// loadDashboardQueries returns every query of both dashboards (dashquery.Load).
func loadDashboardQueries(t *testing.T) []dashQuery {
	t.Helper()
	var out []dashQuery
	for _, f := range dashboardFiles {
		qs, err := dashquery.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			out = append(out, dashQuery{q})
		}
	}
	return out
}

// dashVariable is a Grafana template variable with a label_values query.
type dashVariable struct {
	file, name string
	metric     string // series selector, "" for label_values(label)
	label      string
}

var labelValuesRe = regexp.MustCompile(`^label_values\((?:(.+),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// loadDashboardVariables returns the query variables of both dashboards.
func loadDashboardVariables(t *testing.T) []dashVariable {
	t.Helper()
	var out []dashVariable
	for _, f := range dashboardFiles {
		var doc struct {
			Templating struct {
				List []struct {
					Type, Name string
					Query      any
				}
			}
		}
		readDashboard(t, f, &doc)
		for _, v := range doc.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, _ := v.Query.(string)
			if m, ok := v.Query.(map[string]any); ok {
				q, _ = m["query"].(string)
			}
			sub := labelValuesRe.FindStringSubmatch(strings.TrimSpace(q))
			if sub == nil {
				t.Fatalf("%s: variable %s: query %q is not label_values(...)", f, v.Name, q)
			}
			out = append(out, dashVariable{file: f, name: v.Name, metric: sub[1], label: sub[2]})
		}
	}
	return out
}

var grafanaVarRe = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|\[\[([a-zA-Z0-9_]+)\]\]|\$([a-zA-Z0-9_]+)`)

// substituteVariables replaces Grafana's variable syntaxes ($x, ${x}, ${x:fmt}, [[x]]) by their values; a
// variable without a value is an error, so a new dashboard variable cannot go unnoticed.
func substituteVariables(expr string, values map[string]string) (string, error) {
	var missing []string
	out := grafanaVarRe.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVarRe.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: no value for variables %v", expr, missing)
	}
	return out, nil
}

func TestSubstituteVariables(t *testing.T) {
	vals := map[string]string{"job": "servermon", "horizon": "6s", "__rate_interval": "4s"}
	got, err := substituteVariables(`rate(x{job=~"$job"}[$__rate_interval]) offset ${horizon} + [[job]] ${job:regex}`, vals)
	if want := `rate(x{job=~"servermon"}[4s]) offset 6s + servermon servermon`; err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if _, err := substituteVariables(`x{instance="$instance"}`, vals); err == nil {
		t.Error("a variable without a value was accepted")
	}
}

func TestDashboardQueriesFound(t *testing.T) {
	qs := loadDashboardQueries(t)
	files := map[string]int{}
	for _, q := range qs {
		files[q.File]++
		if q.Panel == "" {
			t.Errorf("query without a panel title: %s", q)
		}
	}
	for _, f := range dashboardFiles {
		if files[f] == 0 {
			t.Errorf("%s: no queries found", f)
		}
	}
	if len(loadDashboardVariables(t)) == 0 {
		t.Error("no template variables found")
	}
}

// stackMountpoint is the mount point the stack test gives the dashboards' mountpoint variable: the root
// filesystem, which every machine has. The stack's fake /proc lists it in its mountinfo (stackMountinfo), and the
// exporter statfs'es it under stackRootfs.
const stackMountpoint = "/"

// withoutDataInTheStack are the dashboard panels whose queries cannot return data in the stack test, with the
// reason. Their queries must run without error.
var withoutDataInTheStack = map[string]string{
	"Soonest disk full (trusted)":                        fillingFilesystemNeeded,
	"Filesystems filling up soonest (trusted forecasts)": fillingFilesystemNeeded,
	"Full in $mountpoint":                                fillRecentWindowNeeded,
}

// fillRecentWindowNeeded says why a filesystem's time until threshold stays empty in the stack: the fill estimator
// (forecast.Fill) gives none before it has seen its recent window, an hour of steps whatever the step, and the
// stack runs for about a minute without a backfill.
const fillRecentWindowNeeded = "the fill estimator needs its recent window (1 h) of steps"

// fillingFilesystemNeeded says why the trusted "disk full" panels stay empty in the stack: they need a filesystem
// that fills steadily, so that its forecast beats naive (the trust gate) and its time until threshold is finite.
// The exporter runs as a process of its own, whose statfs a test cannot fake, on a real filesystem (stackRootfs),
// which does not fill while the test runs; filling a real disk is not an option. The rules' promtool tests and
// bench/fsfill cover filling filesystems.
const fillingFilesystemNeeded = "needs a steadily filling filesystem"

// gainedSelector names the series of a metric the exporter does not export yet: a metric name, and for a metric
// that already exists with other targets, the new target.
type gainedSelector struct {
	metric string
	target string // "" for any series of the metric
}

func (g gainedSelector) String() string {
	if g.target == "" {
		return g.metric
	}
	return fmt.Sprintf("%s{target=%q}", g.metric, g.target)
}

// gainedInIssues10And11 are the metrics the exporter gains in issues 10 and 11, which the dashboards already queried
// before the exporter had them. A dashboard query or variable that selects one of them is not required to return
// data; it must run without error and, as long as the exporter lacks the metric, return nothing: once it returns
// data the test fails and names the entry to remove. Both issues' metrics are exported now, so the set is empty;
// the lead removes it when merging. The filesystem panels that need a filling filesystem are in
// withoutDataInTheStack instead.
var gainedInIssues10And11 = []gainedSelector{}

// gainedIn returns the entry of gainedInIssues10And11 that a PromQL expression (or selector) selects, if any: a
// selector of the entry's metric that, when the entry has a target, has the matcher target="<target>".
func gainedIn(expr string) (gainedSelector, bool) { return selectedFrom(gainedInIssues10And11, expr) }

// selectedFrom returns the entry of set that expr selects, if any (see gainedIn).
func selectedFrom(set []gainedSelector, expr string) (gainedSelector, bool) {
	ts, err := lexPromQL(expr)
	if err != nil {
		return gainedSelector{}, false
	}
	for i, tok := range ts {
		if tok.kind != tokIdent {
			continue
		}
		for _, g := range set {
			if tok.text != g.metric {
				continue
			}
			if g.target == "" || selectorHas(ts, i, "target", g.target) {
				return g, true
			}
		}
	}
	return gainedSelector{}, false
}

// selectorHas reports whether the label matchers right after the metric name at ts[i] include label="value".
func selectorHas(ts []token, i int, label, value string) bool {
	j := nextSignificant(ts, i)
	if j < 0 || ts[j].text != "{" {
		return false
	}
	for j = nextSignificant(ts, j); j >= 0 && ts[j].text != "}"; j = nextSignificant(ts, j) {
		op := nextSignificant(ts, j)
		if op < 0 {
			return false
		}
		val := nextSignificant(ts, op)
		if ts[j].text == label && ts[op].text == "=" && val >= 0 && ts[val].text == strconv.Quote(value) {
			return true
		}
	}
	return false
}

func TestGainedIn(t *testing.T) {
	// The set as it was before the exporter had issue 11's metrics.
	set := []gainedSelector{
		{metric: "servermon_filesystem_usage_ratio"},
		{metric: "servermon_filesystem_avail_bytes"},
		{metric: "servermon_forecast_seconds_until_threshold", target: "filesystem_usage_ratio"},
		{metric: "instance:servermon_forecast_seconds_until_threshold:trusted", target: "filesystem_usage_ratio"},
	}
	for expr, want := range map[string]string{
		`servermon_filesystem_usage_ratio{job=~"$job"}`:                                                     "servermon_filesystem_usage_ratio",
		`max by (mountpoint) (servermon_filesystem_avail_bytes{job=~"$job"})`:                               "servermon_filesystem_avail_bytes",
		`servermon_forecast_ready{job=~"$job"}`:                                                             "",
		`servermon_forecast_seconds_until_threshold{job=~"$job",target="filesystem_usage_ratio"}`:           `servermon_forecast_seconds_until_threshold{target="filesystem_usage_ratio"}`,
		`min(instance:servermon_forecast_seconds_until_threshold:trusted{target="filesystem_usage_ratio"})`: `instance:servermon_forecast_seconds_until_threshold:trusted{target="filesystem_usage_ratio"}`,
		`servermon_forecast_seconds_until_threshold{job=~"$job",target="memory_usage_ratio"}`:               "",
		`servermon_forecast_seconds_until_threshold{job=~"$job"}`:                                           "",
		`instance:servermon_forecast_seconds_until_threshold:trusted{job=~"$job"} < +Inf`:                   "",
		`servermon_forecast_cpu_usage_ratio{horizon="$horizon"} offset $horizon`:                            "",
	} {
		g, ok := selectedFrom(set, expr)
		if got := map[bool]string{true: g.String()}[ok]; got != want {
			t.Errorf("selectedFrom(%s) = %q, want %q", expr, got, want)
		}
	}
}

// TestGainedSetUsed keeps gainedInIssues10And11 exact: every entry is selected by some dashboard query or variable.
func TestGainedSetUsed(t *testing.T) {
	used := map[gainedSelector]bool{}
	for _, q := range loadDashboardQueries(t) {
		if g, ok := gainedIn(q.Expr); ok {
			used[g] = true
		}
	}
	for _, v := range loadDashboardVariables(t) {
		if g, ok := gainedIn(v.metric); ok {
			used[g] = true
		}
	}
	for _, g := range gainedInIssues10And11 {
		if !used[g] {
			t.Errorf("gainedInIssues10And11 lists %s, which no dashboard query selects", g)
		}
	}
}
