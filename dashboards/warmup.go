package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// Column names of the warm-up table.
const (
	columnReady  = "Ready"
	columnToGo   = "Time to go"
	warmupIntro  = "A forecast at a horizon of k steps is served once the series has max(60, k + 32) steps of history (with the default 1m step: 1h32m for 1h, about 24h32m for 24h); backfill from Prometheus or a state file shortens the wait."
	readyMapping = "ready"
)

// warmupStat shows, per horizon, how long until the forecasts of every
// target at that horizon are served.
func warmupStat() *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title("Forecast warm-up").
		Description("Per horizon, the time until the exporter serves the forecast of every target at it (the longest servermon_forecast_warmup_seconds over targets), \"ready\" once all are. " + warmupIntro).
		Datasource(datasourceRef()).
		Targets(targets(query("A", `max by (horizon) (servermon_forecast_warmup_seconds{`+sel+`})`, "{{horizon}}"))).
		Unit(unitSeconds).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
			Type: dashboard.MappingTypeValueToText,
			Options: map[string]dashboard.ValueMappingResult{
				"0": {Text: cog.ToPtr(readyMapping), Color: cog.ToPtr("green")},
			},
		}}}).
		Thresholds(thresholds("green", at(1, "orange"))).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(6).Span(5)
}

// warmupTable lists, per target and horizon, whether the forecast is served
// (servermon_forecast_ready) and the time until it will be
// (servermon_forecast_warmup_seconds), longest wait first.
func warmupTable() *table.PanelBuilder {
	readyMappings := []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"0": {Text: cog.ToPtr("warming up"), Color: cog.ToPtr("orange")},
			"1": {Text: cog.ToPtr(readyMapping), Color: cog.ToPtr("green")},
		},
	}}}
	return table.NewPanelBuilder().
		Title("Forecast warm-up by target and horizon").
		Description("Whether the exporter serves each target's forecast at each configured horizon (servermon_forecast_ready) and, while it warms up, the time until it will (servermon_forecast_warmup_seconds). "+warmupIntro).
		Datasource(datasourceRef()).
		Targets(targets(
			tableQuery("A", `servermon_forecast_ready{`+sel+`}`),
			tableQuery("B", `servermon_forecast_warmup_seconds{`+sel+`}`),
		)).
		// One row per series: merge joins the two instant results on their labels.
		Transformations([]dashboard.DataTransformerConfig{
			{Id: "merge", Options: map[string]any{}},
			{Id: "organize", Options: map[string]any{
				"excludeByName": map[string]bool{"Time": true, "__name__": true, "job": true, "instance": true},
				"indexByName": map[string]int{
					"target": 0, "device": 1, "mountpoint": 2, "fstype": 3, "horizon": 4, "Value #A": 5, "Value #B": 6,
				},
				"renameByName": map[string]string{"Value #A": columnReady, "Value #B": columnToGo},
			}},
		}).
		Unit(unitSeconds).
		SortBy([]cog.Builder[common.TableSortByFieldState]{sortBy(columnToGo, true)}).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		OverrideByName(columnReady, append([]dashboard.DynamicConfigValue{
			{Id: "unit", Value: unitScore},
			{Id: "mappings", Value: readyMappings},
		}, cellColor("color-background")...)).
		Height(8).Span(24)
}
