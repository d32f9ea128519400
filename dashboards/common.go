package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Grafana units (fieldConfig.defaults.unit) used by the panels.
const (
	unitRatio   = "percentunit" // a 0-1 ratio shown as a percentage
	unitSeconds = "s"
	unitBytesPS = "Bps" // bytes per second
	unitBytes   = "bytes"
	unitCount   = "short"
	unitScore   = "none" // dimensionless score
)

// Selectors every query carries, so that one dashboard serves any number of
// jobs and hosts.
const (
	sel        = `job=~"$job",instance=~"$instance"`
	jobSel     = `job=~"$job"`
	diskSel    = sel + `,device=~"$device"`
	fsSel      = sel + `,mountpoint=~"$mountpoint"`
	hostUID    = "servermon-host"
	fleetUID   = "servermon-fleet"
	dashTag    = "servermon"
	notInRange = 1e15 // ETAs at or above this (in practice +Inf) are "not in range"
)

// legendTarget names a series of a per-target metric: the target, and the
// disk's device or the filesystem's device and mount point where there is
// one (several mount points can share a device).
const legendTarget = "{{target}} {{device}} {{mountpoint}}"

// datasourceRef points panels and queries at the dashboard's datasource
// variable, so that imports need no datasource mapping.
func datasourceRef() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// query is a range query over the datasource variable.
func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		RefId(ref).
		Datasource(datasourceRef()).
		Expr(expr).
		LegendFormat(legend).
		Range()
}

// tableQuery is an instant query returning one row per series.
func tableQuery(ref, expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		RefId(ref).
		Datasource(datasourceRef()).
		Expr(expr).
		Format(prometheus.PromQueryFormatTable).
		Instant()
}

// targets converts query builders to the SDK's panel target type.
func targets(qs ...*prometheus.DataqueryBuilder) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, q := range qs {
		out[i] = q
	}
	return out
}

// option is a variable value whose text is its value.
func option(v string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr(v)},
		Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(v)},
	}
}

// datasourceVariable lets the user pick any Prometheus datasource.
func datasourceVariable() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").
		Label("Data source").
		Type("prometheus")
}

// labelVariable is a variable named after the label whose values it lists
// from the series of selector, refreshed with the time range so that new
// hosts show up.
func labelVariable(name, title, selector string) *dashboard.QueryVariableBuilder {
	q := "label_values(" + selector + ", " + name + ")"
	return dashboard.NewQueryVariableBuilder(name).
		Label(title).
		Datasource(datasourceRef()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortNaturalAsc)
}

// multiAll makes a variable multi-valued with "All" (as the regex .+, so that
// =~ matchers stay cheap) selected by default.
func multiAll(v *dashboard.QueryVariableBuilder) *dashboard.QueryVariableBuilder {
	return v.Multi(true).IncludeAll(true).AllValue(".+").Current(dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
		Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")},
	})
}

// horizonVariable picks the forecast horizon (the exporter's
// --forecast.horizon values), 1h by default. Its values come from
// servermon_forecast_ready, which the exporter exposes for every configured
// horizon from its first sample: a forecast metric would list a horizon only
// once it is served, hours (24h: a day) after a start without history.
func horizonVariable() *dashboard.QueryVariableBuilder {
	return labelVariable("horizon", "Horizon", "servermon_forecast_ready{"+sel+"}").
		Description("Forecast horizon: how far ahead the forecast looks. Every horizon the exporter is configured with is listed, also while it warms up.").
		Sort(dashboard.VariableSortDisabled).
		Current(option("1h"))
}

// thresholds builds absolute thresholds: base colour below the first step.
func thresholds(base string, steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps(append([]dashboard.Threshold{{Color: base}}, steps...))
}

// at is a threshold step: colour from value up.
func at(value float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: cog.ToPtr(value), Color: color}
}

// etaMappings shows +Inf ETAs (threshold not crossed within the forecast's
// range) as text instead of "Infinity".
func etaMappings() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{RangeMap: &dashboard.RangeMap{
		Type: dashboard.MappingTypeRangeToText,
		Options: dashboard.DashboardRangeMapOptions{
			From:   cog.ToPtr(notInRange),
			Result: dashboard.ValueMappingResult{Text: cog.ToPtr("not in range"), Color: cog.ToPtr("green")},
		},
	}}}
}

// hostLink is a data link from a table row to the host dashboard.
func hostLink() dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "links", Value: []map[string]any{{
		"title": "Host dashboard",
		"url": "/d/" + hostUID + "?${datasource:queryparam}&var-job=${__data.fields.job}" +
			"&var-instance=${__data.fields.instance}&${__url_time_range}",
	}}}
}

// dashboardLinks links the servermon dashboards to each other, keeping the
// time range and variables.
func dashboardLinks() []cog.Builder[dashboard.DashboardLink] {
	return []cog.Builder[dashboard.DashboardLink]{
		dashboard.NewDashboardLinkBuilder("Servermon").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{dashTag}).
			AsDropdown(false).
			IncludeVars(true).
			KeepTime(true),
	}
}
