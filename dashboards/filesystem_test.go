package dashboards

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// TestFilesystemPanels checks the host dashboard's filesystem row (a row per mount point with usage, its forecast,
// the time until the threshold, space, inodes and the read-only flag) and the fleet dashboard's soonest "disk full".
func TestFilesystemPanels(t *testing.T) {
	boards := committed(t)
	host := boards["servermon-host.json"]
	v, ok := host.variable("mountpoint")
	if q, _ := v.Query.(string); !ok || !v.Multi || !v.IncludeAll || !strings.HasPrefix(q, "label_values(servermon_filesystem_usage_ratio{") {
		t.Errorf("mountpoint variable %+v, want a multi-valued label_values of servermon_filesystem_usage_ratio", v)
	}
	var row *panel
	for i, p := range host.Panels {
		if p.Type == "row" && p.Repeat == "mountpoint" {
			row = &host.Panels[i]
		}
	}
	if row == nil {
		t.Fatal("no row repeated by mountpoint")
	}
	// The row's panels follow it in layout order, up to the next row.
	var inRow []panel
	for i := slices.IndexFunc(host.Panels, func(p panel) bool { return p.Title == row.Title }) + 1; i < len(host.Panels) && host.Panels[i].Type != "row"; i++ {
		inRow = append(inRow, host.Panels[i])
	}
	inRow = append(inRow, row.Panels...)
	want := map[string]string{
		"servermon_filesystem_usage_ratio{":          unitRatio,
		"servermon_forecast_filesystem_usage_ratio{": unitRatio,
		"servermon_filesystem_avail_bytes{":          unitBytes,
		"servermon_filesystem_size_bytes{":           unitBytes,
		"servermon_filesystem_inodes_usage_ratio{":   unitRatio,
		"servermon_filesystem_readonly{":             unitScore,
		`servermon_forecast_seconds_until_threshold{job=~"$job",instance=~"$instance",mountpoint=~"$mountpoint",target="filesystem_usage_ratio"}`: unitSeconds,
	}
	for prefix, unit := range want {
		found := false
		for _, p := range inRow {
			if slices.ContainsFunc(p.exprs(), func(e string) bool { return strings.HasPrefix(e, prefix) }) {
				found = true
				if p.FieldConfig.Defaults.Unit != unit {
					t.Errorf("panel %q shows %s… in %q, want %q", p.Title, prefix, p.FieldConfig.Defaults.Unit, unit)
				}
			}
		}
		if !found {
			t.Errorf("the filesystem row has no panel querying %s…", prefix)
		}
	}

	fleet := boards["servermon-fleet.json"]
	trusted := `instance:servermon_forecast_seconds_until_threshold:trusted{job=~"$job",instance=~"$instance",target="filesystem_usage_ratio"}`
	for _, agg := range []string{"min(" + trusted + ")", "bottomk(20, " + trusted + " < +Inf)"} {
		found := false
		for _, p := range fleet.allPanels() {
			if slices.Contains(p.exprs(), agg) {
				found = true
				if p.FieldConfig.Defaults.Unit != unitSeconds {
					t.Errorf("fleet panel %q shows an ETA in %q", p.Title, p.FieldConfig.Defaults.Unit)
				}
			}
		}
		if !found {
			t.Errorf("the fleet dashboard has no panel querying %s", agg)
		}
	}
}

// TestSeriesNamedByMountpoint checks that queries whose series can now be per filesystem keep them apart: a legend
// naming the device also names the mount point (several mount points can share a device), an aggregation by
// device also keeps mountpoint, and a table column for device comes with one for mountpoint.
func TestSeriesNamedByMountpoint(t *testing.T) {
	for name, b := range committed(t) {
		for _, p := range b.allPanels() {
			for _, q := range p.Targets {
				where := name + ": " + p.Title + " " + q.RefID
				if strings.Contains(q.LegendFormat, "{{device}}") && !strings.Contains(q.LegendFormat, "{{mountpoint}}") {
					t.Errorf("%s: legend %q names the device but not the mount point", where, q.LegendFormat)
				}
				e := parseQuery(t, where, q.Expr)
				parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
					if a, ok := n.(*parser.AggregateExpr); ok && !a.Without &&
						slices.Contains(a.Grouping, "device") && !slices.Contains(a.Grouping, "mountpoint") {
						t.Errorf("%s: %s groups by device but not mountpoint", where, a)
					}
					return nil
				})
			}
			for _, tr := range p.Transformations {
				idx, _ := tr.Options["indexByName"].(map[string]any)
				if _, dev := idx["device"]; dev {
					if _, mp := idx["mountpoint"]; !mp {
						t.Errorf("%s: table %q orders a device column but no mountpoint column", name, p.Title)
					}
				}
			}
		}
	}
}
