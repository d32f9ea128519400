package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// hostTable lists one row per series of an instant query, sorted by its
// value (renamed valueColumn), each instance linking to the host dashboard.
func hostTable(title, description, expr, valueColumn, unit string, desc bool) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).
		Description(description+" Click an instance for its host dashboard.").
		Datasource(datasourceRef()).
		Targets(targets(tableQuery("A", expr))).
		Transformations([]dashboard.DataTransformerConfig{organize(valueColumn)}).
		Unit(unit).
		SortBy([]cog.Builder[common.TableSortByFieldState]{sortBy(valueColumn, desc)}).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		OverrideByName("instance", []dashboard.DynamicConfigValue{hostLink()})
}

// organize turns an instant table query into readable columns: label
// columns first, the value renamed to valueName, Prometheus internals hidden.
func organize(valueName string) dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{
		Id: "organize",
		Options: map[string]any{
			"excludeByName": map[string]bool{"Time": true, "__name__": true},
			"indexByName": map[string]int{
				"job": 0, "instance": 1, "target": 2, "device": 3, "mountpoint": 4, "fstype": 5,
				"threshold": 6, "horizon": 7, "Value": 8,
			},
			"renameByName": map[string]string{"Value": valueName},
		},
	}
}

// sortBy sorts a table by a column.
func sortBy(column string, desc bool) *common.TableSortByFieldStateBuilder {
	return common.NewTableSortByFieldStateBuilder().DisplayName(column).Desc(desc)
}

// cellColor colours a table column's cells by its thresholds.
func cellColor(mode string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "custom.cellOptions", Value: map[string]any{"type": mode}}}
}
