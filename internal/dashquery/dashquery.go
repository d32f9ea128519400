// Package dashquery reads the PromQL queries of a Grafana dashboard's JSON, for the tests and harnesses that run
// them against a real Prometheus.
package dashquery

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// Query is one query of a dashboard: an "expr" field, wherever it is nested, with the title of the nearest
// enclosing object that has one (its panel) and the refId beside it.
type Query struct {
	File, Panel, Ref, Expr string
}

// Load returns every query of the dashboard at path, in a stable order (the JSON's keys sorted at every level). A
// dashboard without a query is an error.
func Load(path string) ([]Query, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", path, err)
	}
	var out []Query
	var walk func(v any, title string)
	walk = func(v any, title string) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["title"].(string); ok {
				title = s
			}
			if e, ok := v["expr"].(string); ok {
				ref, _ := v["refId"].(string)
				out = append(out, Query{File: path, Panel: title, Ref: ref, Expr: e})
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
	if len(out) == 0 {
		return nil, fmt.Errorf("dashboard %s has no query", path)
	}
	return out, nil
}
