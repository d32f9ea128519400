package dashboards

import (
	"slices"
	"strings"
	"testing"
)

// TestHorizonVariable checks that both dashboards take the horizon values from servermon_forecast_ready, which
// lists every configured horizon from the exporter's first sample, not from a forecast metric, which lists a horizon
// only once it is served; that 1h is the default; and that the variable has one value, as the panels' relative time
// "+$horizon" and `offset $horizon` need.
func TestHorizonVariable(t *testing.T) {
	want := `label_values(servermon_forecast_ready{job=~"$job",instance=~"$instance"}, horizon)`
	for name, b := range committed(t) {
		h, ok := b.variable("horizon")
		if !ok {
			t.Errorf("%s: no horizon variable", name)
			continue
		}
		if q, _ := h.Query.(string); q != want {
			t.Errorf("%s: horizon variable query %q, want %q", name, q, want)
		}
		if h.Current.Value != "1h" {
			t.Errorf("%s: horizon variable defaults to %v, want 1h", name, h.Current.Value)
		}
		if h.Multi || h.IncludeAll {
			t.Errorf("%s: horizon variable is multi-valued (multi %v, include all %v)", name, h.Multi, h.IncludeAll)
		}
		// The variable must come first: Grafana resolves variables in order, and panels use it in their time.
		var names []string
		for _, v := range b.Templating.List {
			names = append(names, v.Name)
		}
		if i := slices.Index(names, "horizon"); i < slices.Index(names, "instance") {
			t.Errorf("%s: horizon variable before instance, which it depends on: %v", name, names)
		}
	}
}

// TestWarmupPanels checks that the host dashboard shows, per horizon, the time until the forecasts are served, and a
// table of readiness and time to go per target and horizon, with readiness shown as words.
func TestWarmupPanels(t *testing.T) {
	b := committed(t)["servermon-host.json"]
	var stat, table *panel
	for _, p := range b.allPanels() {
		all := strings.Join(p.exprs(), "\n")
		switch {
		case p.Type == "stat" && strings.Contains(all, "max by (horizon) (servermon_forecast_warmup_seconds{"):
			stat = &p
		case p.Type == "table" && strings.Contains(all, "servermon_forecast_ready{") &&
			strings.Contains(all, "servermon_forecast_warmup_seconds{"):
			table = &p
		}
	}
	if stat == nil || stat.FieldConfig.Defaults.Unit != unitSeconds {
		t.Errorf("no stat of the warm-up seconds per horizon in seconds: %+v", stat)
	}
	if table == nil {
		t.Fatal("no table of servermon_forecast_ready and servermon_forecast_warmup_seconds")
	}
	var ids []string
	for _, tr := range table.Transformations {
		ids = append(ids, tr.ID)
	}
	if !slices.Equal(ids, []string{"merge", "organize"}) {
		t.Errorf("warm-up table transformations %v, want merge (one row per series) then organize", ids)
	}
	mapped := false
	for _, o := range table.FieldConfig.Overrides {
		for _, prop := range o.Properties {
			v := string(prop.Value)
			if prop.ID == "mappings" && strings.Contains(v, `"warming up"`) && strings.Contains(v, `"ready"`) {
				mapped = true
			}
		}
	}
	if !mapped {
		t.Error("the warm-up table does not map servermon_forecast_ready 0/1 to \"warming up\"/\"ready\"")
	}
}
