//lint:file-ignore SA1019 The v1 dashboard schema is deprecated in the SDK in favour of v2, but v1 JSON (with schemaVersion) is what every Grafana release imports; v2 needs Grafana 12 with new APIs.

package dashboards

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestCommittedJSONIsGenerated(t *testing.T) {
	for _, f := range Files() {
		got, err := Render(f.Build)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		again, err := Render(f.Build)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !bytes.Equal(got, again) {
			t.Errorf("%s: two renders differ; generation is not byte-stable", f.Name)
		}
		want, err := os.ReadFile(f.Name)
		if err != nil {
			t.Fatalf("read committed %s: %v", f.Name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the code generates: run `go generate ./...` in dashboards/ and commit", f.Name)
		}
	}
}

func TestDashboardBasics(t *testing.T) {
	wantUID := map[string]string{"servermon-host.json": hostUID, "servermon-fleet.json": fleetUID}
	for name, b := range committed(t) {
		if b.UID != wantUID[name] || b.Title == "" {
			t.Errorf("%s: uid %q title %q, want uid %q and a title", name, b.UID, b.Title, wantUID[name])
		}
		if b.SchemaVersion < 36 {
			t.Errorf("%s: schemaVersion %d, want a current one (>= 36)", name, b.SchemaVersion)
		}
		ds, ok := b.variable("datasource")
		if !ok || ds.Type != "datasource" || ds.Label != "Data source" || ds.Query != "prometheus" {
			t.Errorf("%s: datasource variable %+v, want type datasource, label \"Data source\", query prometheus", name, ds)
		}
		for _, v := range []string{"job", "instance"} {
			if _, ok := b.variable(v); !ok {
				t.Errorf("%s: no %s variable", name, v)
			}
		}
		ids := map[int]bool{}
		for _, p := range b.allPanels() {
			if p.ID <= 0 || ids[p.ID] {
				t.Errorf("%s: panel %q has id %d, want unique positive ids", name, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: panel %q has no unit", name, p.Title)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: panel %q datasource %+v, want uid ${datasource}", name, p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", name, p.Title)
			}
			for _, q := range p.Targets {
				if q.Datasource == nil || q.Datasource.UID != "${datasource}" {
					t.Errorf("%s: panel %q query %s datasource %+v, want uid ${datasource}", name, p.Title, q.RefID, q.Datasource)
				}
			}
		}
		for _, v := range b.Templating.List {
			if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
				t.Errorf("%s: variable %s datasource %+v, want uid ${datasource}", name, v.Name, v.Datasource)
			}
		}
	}
}

// Values the tests substitute for the dashboard variables. Sentinels for
// job and instance let the checks see that a matcher uses the variable.
var substitutions = strings.NewReplacer(
	"$job", "__job__",
	"$instance", "__instance__",
	"$device", "__device__",
	"$mountpoint", "__mountpoint__",
	"$horizon", "1h",
)

// gainedInIssues10And11 are the metrics the dashboards query that the
// exporter gains in issues 10 (servermon_forecast_ready and
// servermon_forecast_warmup_seconds, the forecast warm-up) and 11 (the
// filesystem collector and its forecast), and does not export yet. They are
// in the contract (testdata/exporter-metrics.txt) but not yet in the
// exporter's golden output, so they are exempt from the golden check.
// TestGainedMetricsNotYetExported fails as soon as the golden output has one
// of them: then it leaves this set. Both issues' metrics are exported now,
// so it is empty; the lead removes it when merging. rules/stack_dashboards_test.go
// has the same set for the stack test.
var gainedInIssues10And11 = map[string]bool{}

// knownMetrics is every name a dashboard may query: the contract's, the
// exporter's golden output's and the recording rules'.
func knownMetrics(t *testing.T) (known, golden map[string]bool) {
	t.Helper()
	known = readNames(t, "testdata/exporter-metrics.txt")
	golden = goldenNames(t)
	for n := range golden {
		known[n] = true
	}
	for n := range recordNames(t) {
		known[n] = true
	}
	return known, golden
}

// parseQuery substitutes the variables and parses a PromQL expression.
func parseQuery(t *testing.T, where, expr string) parser.Expr {
	t.Helper()
	s := substitutions.Replace(expr)
	if strings.Contains(s, "$") {
		t.Errorf("%s: unknown variable left in %q", where, s)
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(s)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, s, err)
		return nil
	}
	return e
}

// checkSelectors checks the metric names of an expression and that every
// selector is filtered by the job variable and, unless it is a job-level
// recording rule, the instance variable.
func checkSelectors(t *testing.T, where string, e parser.Expr, known, golden map[string]bool) (metrics []string) {
	t.Helper()
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		metrics = append(metrics, vs.Name)
		if !known[vs.Name] {
			t.Errorf("%s: metric %q is neither exported nor recorded", where, vs.Name)
		}
		if golden != nil && strings.HasPrefix(vs.Name, "servermon_") && !golden[vs.Name] && !gainedInIssues10And11[vs.Name] {
			t.Errorf("%s: metric %q is not in the exporter's golden output", where, vs.Name)
		}
		need := map[string]string{"job": "__job__", "instance": "__instance__"}
		if strings.HasPrefix(vs.Name, "job") && strings.Contains(vs.Name, ":") {
			delete(need, "instance") // aggregated away by the rule
		}
		for _, m := range vs.LabelMatchers {
			if want, ok := need[m.Name]; ok && m.Type == labels.MatchRegexp && m.Value == want {
				delete(need, m.Name)
			}
		}
		for l := range need {
			t.Errorf("%s: selector %s lacks %s=~\"$%s\"", where, vs, l, l)
		}
		return nil
	})
	return metrics
}

var labelValues = regexp.MustCompile(`^label_values\((.+), *(\w+)\)$`)

func TestQueries(t *testing.T) {
	known, golden := knownMetrics(t)
	for name, b := range committed(t) {
		queries := 0
		for _, p := range b.allPanels() {
			for _, q := range p.Targets {
				where := name + ": " + p.Title + " " + q.RefID
				if e := parseQuery(t, where, q.Expr); e != nil {
					checkSelectors(t, where, e, known, golden)
					queries++
				}
				if strings.Contains(p.Title, "$device") && !strings.Contains(q.Expr, `device=~"$device"`) {
					t.Errorf("%s: a panel of a device row must select device=~\"$device\"", where)
				}
				if strings.Contains(p.Title, "$mountpoint") && !strings.Contains(q.Expr, `mountpoint=~"$mountpoint"`) {
					t.Errorf("%s: a panel of a filesystem row must select mountpoint=~\"$mountpoint\"", where)
				}
			}
		}
		if queries < 10 {
			t.Errorf("%s: only %d queries parsed", name, queries)
		}
		for _, v := range b.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, _ := v.Query.(string)
			m := labelValues.FindStringSubmatch(q)
			if m == nil || m[2] != v.Name {
				t.Errorf("%s: variable %s query %q, want label_values(selector, %s)", name, v.Name, q, v.Name)
				continue
			}
			e := parseQuery(t, name+": variable "+v.Name, m[1])
			if e == nil {
				continue
			}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && !known[vs.Name] {
					t.Errorf("%s: variable %s lists unknown metric %q", name, v.Name, vs.Name)
				}
				return nil
			})
			// Variables below job depend on it, so a job pick narrows them.
			if v.Name != "job" && !strings.Contains(m[1], `job=~"$job"`) {
				t.Errorf("%s: variable %s does not follow $job: %q", name, v.Name, q)
			}
		}
	}
}

// hostFamilies maps each forecast metric of the host dashboard to the
// observed metric it forecasts.
var hostFamilies = map[string]string{
	"servermon_forecast_cpu_usage_ratio":             "servermon_cpu_usage_ratio",
	"servermon_forecast_memory_usage_ratio":          "servermon_memory_usage_ratio",
	"servermon_forecast_swap_usage_ratio":            "servermon_swap_usage_ratio",
	"servermon_forecast_load1":                       "servermon_load1",
	"servermon_forecast_disk_utilization_ratio":      "servermon_disk_utilization_ratio",
	"servermon_forecast_disk_read_bytes_per_second":  "servermon_disk_read_bytes_per_second",
	"servermon_forecast_disk_write_bytes_per_second": "servermon_disk_write_bytes_per_second",
	"servermon_forecast_filesystem_usage_ratio":      "servermon_filesystem_usage_ratio",
}

// exprs returns the expressions of a panel's queries.
func (p panel) exprs() []string {
	var out []string
	for _, q := range p.Targets {
		out = append(out, q.Expr)
	}
	return out
}

// TestHostForecastPanels checks that each forecast family has two panels:
// a band panel over the dashboard's range with the observed value and the
// forecast point and both bounds at $horizon, and an ahead panel over now to
// now + $horizon with the forecast alone (beyond now, an observed series
// would only be Prometheus repeating the newest sample).
func TestHostForecastPanels(t *testing.T) {
	b := committed(t)["servermon-host.json"]
	for forecast, observed := range hostFamilies {
		bands, aheads := 0, 0
		for _, p := range b.allPanels() {
			exprs := p.exprs()
			if !slices.ContainsFunc(exprs, func(e string) bool { return strings.HasPrefix(e, forecast+"{") }) {
				continue
			}
			all := strings.Join(exprs, "\n")
			for _, bound := range []string{"point", "lower", "upper"} {
				if !strings.Contains(all, `horizon="$horizon",bound="`+bound+`"} offset $horizon`) {
					t.Errorf("panel %q: no %s bound of %s at $horizon", p.Title, bound, forecast)
				}
			}
			hasObserved := slices.ContainsFunc(exprs, func(e string) bool { return strings.HasPrefix(e, observed+"{") })
			switch {
			case p.TimeFrom == "" && p.TimeShift == "":
				bands++
				if !hasObserved {
					t.Errorf("band panel %q: forecast %s without the observed %s", p.Title, forecast, observed)
				}
			case p.TimeFrom == aheadTimeFrom && p.TimeShift == "":
				aheads++
				if hasObserved {
					t.Errorf("ahead panel %q draws the observed %s, which beyond now is only the newest sample repeated", p.Title, observed)
				}
			default:
				t.Errorf("panel %q: time override from %q shift %q, want none (band) or from %q (ahead)", p.Title, p.TimeFrom, p.TimeShift, aheadTimeFrom)
			}
		}
		if bands != 1 || aheads != 1 {
			t.Errorf("%s: %d band and %d ahead panels, want one of each", forecast, bands, aheads)
		}
	}
	for _, by := range []string{"device", "mountpoint"} {
		repeated := slices.ContainsFunc(b.Panels, func(p panel) bool { return p.Type == "row" && p.Repeat == by })
		if !repeated {
			t.Errorf("no row repeated by %s", by)
		}
	}
}

// TestFleetForecastPanels checks the fleet forecasts the same way: a band
// panel with the observed mean, and an ahead panel reaching now + $horizon.
func TestFleetForecastPanels(t *testing.T) {
	b := committed(t)["servermon-fleet.json"]
	for _, target := range []string{"cpu_usage_ratio", "memory_usage_ratio"} {
		forecast, observed := "job:servermon_forecast_"+target+":avg{", "job:servermon_"+target+":avg{"
		bands, aheads := 0, 0
		for _, p := range b.allPanels() {
			exprs := p.exprs()
			if !slices.ContainsFunc(exprs, func(e string) bool { return strings.HasPrefix(e, forecast) }) {
				continue
			}
			hasObserved := slices.ContainsFunc(exprs, func(e string) bool { return strings.HasPrefix(e, observed) })
			switch {
			case p.TimeFrom == "" && p.TimeShift == "" && hasObserved:
				bands++
			case p.TimeFrom == aheadTimeFrom && p.TimeShift == "" && !hasObserved:
				aheads++
			default:
				t.Errorf("panel %q: time override from %q shift %q with observed %v", p.Title, p.TimeFrom, p.TimeShift, hasObserved)
			}
		}
		if bands != 1 || aheads != 1 {
			t.Errorf("%s: %d band and %d ahead panels, want one of each", target, bands, aheads)
		}
	}
}

// TestFleetLinksToHost checks that the fleet tables link rows to the host
// dashboard with the row's job and instance.
func TestFleetLinksToHost(t *testing.T) {
	b := committed(t)["servermon-fleet.json"]
	tables := 0
	for _, p := range b.allPanels() {
		if p.Type != "table" {
			continue
		}
		tables++
		linked := false
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				v := string(prop.Value)
				if prop.ID == "links" && strings.Contains(v, "/d/"+hostUID) &&
					strings.Contains(v, "var-instance=${__data.fields.instance}") && strings.Contains(v, "var-job=${__data.fields.job}") {
					linked = true
				}
			}
		}
		if !linked {
			t.Errorf("table %q does not link instances to the host dashboard", p.Title)
		}
	}
	if tables < 2 {
		t.Errorf("%d tables, want hosts ranked by ETA and by anomaly score", tables)
	}
}

// TestStrictSchema decodes the committed files with the SDK's strict decoder,
// which rejects unknown fields and wrong types against Grafana's schema.
func TestStrictSchema(t *testing.T) {
	for _, f := range Files() {
		data, err := os.ReadFile(f.Name)
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		var d dashboard.Dashboard
		err = d.UnmarshalJSONStrict(data)
		// The SDK returns its error list as an error even when it is empty.
		if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
			err = nil
		}
		if err != nil {
			t.Errorf("%s does not match Grafana's dashboard schema: %v", f.Name, err)
		}
	}
}

// TestGainedMetricsNotYetExported keeps gainedInIssues10And11 exact: each name is in the contract, queried by a
// dashboard, and not in the exporter's golden output yet (once it is, it must leave the set).
func TestGainedMetricsNotYetExported(t *testing.T) {
	contract := readNames(t, "testdata/exporter-metrics.txt")
	golden := goldenNames(t)
	queried := map[string]bool{}
	for _, b := range committed(t) {
		for _, p := range b.allPanels() {
			for _, e := range p.exprs() {
				for n := range gainedInIssues10And11 {
					if strings.Contains(e, n+"{") {
						queried[n] = true
					}
				}
			}
		}
	}
	for n := range gainedInIssues10And11 {
		if !contract[n] {
			t.Errorf("%s is not in testdata/exporter-metrics.txt", n)
		}
		if golden[n] {
			t.Errorf("%s is in the exporter's golden output now: remove it from gainedInIssues10And11", n)
		}
		if !queried[n] {
			t.Errorf("%s is in gainedInIssues10And11 but no dashboard queries it", n)
		}
	}
}

// unitOf returns the Grafana unit a metric's name implies (its suffix; for a recording rule level:metric:operation,
// the metric's), or "" when the name implies none.
func unitOf(name string) string {
	if parts := strings.Split(name, ":"); len(parts) == 3 {
		name = parts[1]
	}
	switch {
	case strings.HasSuffix(name, "_bytes_per_second"):
		return unitBytesPS
	case strings.HasSuffix(name, "_bytes"):
		return unitBytes
	case strings.HasSuffix(name, "_ratio"):
		return unitRatio
	case strings.HasSuffix(name, "_seconds"), strings.Contains(name, "_seconds_until_"):
		return unitSeconds
	}
	return ""
}

// TestUnits checks that a panel whose queries all imply one unit (by their metrics' names) shows that unit.
func TestUnits(t *testing.T) {
	known, _ := knownMetrics(t)
	checked := 0
	for name, b := range committed(t) {
		for _, p := range b.allPanels() {
			units := map[string]bool{}
			for _, q := range p.Targets {
				e := parseQuery(t, name+": "+p.Title, q.Expr)
				for _, m := range checkSelectors(t, name+": "+p.Title, e, known, nil) {
					if u := unitOf(m); u != "" {
						units[u] = true
					}
				}
			}
			if len(units) != 1 {
				continue
			}
			checked++
			for u := range units {
				if p.FieldConfig.Defaults.Unit != u {
					t.Errorf("%s: panel %q shows %q, its metrics are in %q", name, p.Title, p.FieldConfig.Defaults.Unit, u)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d panels had a unit to check", checked)
	}
}
