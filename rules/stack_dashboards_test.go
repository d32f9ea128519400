package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// dashboardFiles are the committed, generated Grafana dashboards whose queries the stack test runs.
var dashboardFiles = []string{"../dashboards/servermon-host.json", "../dashboards/servermon-fleet.json"}

// dashQuery is one PromQL query of a dashboard: a panel target's expr, or a template variable's query.
type dashQuery struct {
	file, panel, ref string
	expr             string
}

func (q dashQuery) String() string {
	return fmt.Sprintf("%s %q %s: %s", filepath.Base(q.file), q.panel, q.ref, q.expr)
}

// loadDashboardQueries walks both dashboards for every "expr" field, wherever it is nested, with the title of the
// nearest enclosing object that has one.
func loadDashboardQueries(t *testing.T) []dashQuery {
	t.Helper()
	var out []dashQuery
	for _, f := range dashboardFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read dashboard: %v", err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		n := len(out)
		var walk func(v any, title string)
		walk = func(v any, title string) {
			switch v := v.(type) {
			case map[string]any:
				if s, ok := v["title"].(string); ok {
					title = s
				}
				if e, ok := v["expr"].(string); ok {
					ref, _ := v["refId"].(string)
					out = append(out, dashQuery{file: f, panel: title, ref: ref, expr: e})
				}
				keys := make([]string, 0, len(v))
				for k := range v {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					walk(v[k], title)
				}
			case []any:
				for _, x := range v {
					walk(x, title)
				}
			}
		}
		walk(doc, "")
		if len(out) == n {
			t.Fatalf("%s has no expr", f)
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
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read dashboard: %v", err)
		}
		var doc struct {
			Templating struct {
				List []struct {
					Type, Name string
					Query      any
				}
			}
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
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
		files[q.file]++
		if q.panel == "" {
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
