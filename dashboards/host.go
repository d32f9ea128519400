//lint:file-ignore SA1019 The v1 dashboard schema is deprecated in the SDK in favour of v2, but v1 JSON (with schemaVersion) is what every Grafana release imports; v2 needs Grafana 12 with new APIs.

package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Host builds the "Servermon / Host" dashboard: one host's targets, each with
// its forecast, plus the forecast's own health.
func Host() (dashboard.Dashboard, error) {
	d := dashboard.NewDashboardBuilder("Servermon / Host").
		Uid(hostUID).
		Description("One host seen by servermon_exporter: observed values against their forecasts, time until thresholds, anomalies and forecast trust.").
		Tags([]string{dashTag}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		// The future hour shows the forecast ahead at the default horizon in
		// the band panels; the panels beside them reach now + $horizon.
		Time("now-6h", "now+1h").
		Refresh("1m").
		Links(dashboardLinks()).
		WithVariable(datasourceVariable()).
		WithVariable(labelVariable("job", "Job", "servermon_build_info")).
		WithVariable(labelVariable("instance", "Instance", "servermon_build_info{"+jobSel+"}")).
		WithVariable(horizonVariable()).
		WithVariable(multiAll(labelVariable("device", "Device", "servermon_disk_utilization_ratio{"+sel+"}")).
			Description("Disks; one row per device.")).
		WithVariable(multiAll(labelVariable("mountpoint", "Mount point", "servermon_filesystem_usage_ratio{"+sel+"}")).
			Description("Mounted filesystems; one row per mount point."))

	d.WithRow(dashboard.NewRowBuilder("Overview")).
		WithPanel(etaStat()).
		WithPanel(anomalyStat()).
		WithPanel(warmupStat()).
		WithPanel(collectorStat())

	cpu := bandSpec{
		title: "CPU usage", unit: unitRatio, ratio: true, selector: sel,
		observed: "servermon_cpu_usage_ratio", peak: "servermon_cpu_usage_peak_ratio",
		forecast: "servermon_forecast_cpu_usage_ratio",
	}
	withPanels(d.WithRow(dashboard.NewRowBuilder("CPU")), forecastPair(cpu)).
		WithPanel(timeseries.NewPanelBuilder().
			Title("CPU time by mode").
			Description("Share of all CPUs' time per mode (idle left out), stacked.").
			Datasource(datasourceRef()).
			Targets(targets(query("A", `servermon_cpu_mode_ratio{`+sel+`,mode!="idle"}`, "{{mode}}"))).
			Unit(unitRatio).Min(0).AxisSoftMax(1).Height(8).Span(12).
			FillOpacity(30).LineWidth(1).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)))

	memory := bandSpec{
		title: "Memory usage", unit: unitRatio, ratio: true, selector: sel,
		observed: "servermon_memory_usage_ratio", peak: "servermon_memory_usage_peak_ratio",
		forecast: "servermon_forecast_memory_usage_ratio",
	}
	swap := bandSpec{
		title: "Swap usage", unit: unitRatio, ratio: true, selector: sel,
		observed: "servermon_swap_usage_ratio",
		forecast: "servermon_forecast_swap_usage_ratio",
	}
	withPanels(d.WithRow(dashboard.NewRowBuilder("Memory and swap")), forecastPair(memory), forecastPair(swap))

	load := bandSpec{
		title: "Load average (1m)", unit: unitCount, selector: sel,
		observed: "servermon_load1",
		forecast: "servermon_forecast_load1",
	}
	withPanels(d.WithRow(dashboard.NewRowBuilder("Load and pressure")), forecastPair(load)).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Pressure stall").
			Description("Share of time some (or all) non-idle tasks stalled on the resource (Linux PSI).").
			Datasource(datasourceRef()).
			Targets(targets(query("A", `servermon_pressure_stalled_ratio{`+sel+`}`, "{{resource}} {{kind}}"))).
			Unit(unitRatio).Min(0).Height(8).Span(12).LineWidth(1))

	d.WithRow(dashboard.NewRowBuilder("Forecast quality")).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Anomaly score").
			Description("Distance of each forecast step's value from its one-step forecast, in robust units of recent errors; above --forecast.anomaly-threshold (default 4, the dashed line) the exporter flags it anomalous (servermon_anomalous).").
			Datasource(datasourceRef()).
			Targets(targets(query("A", `servermon_anomaly_score{`+sel+`}`, legendTarget))).
			Unit(unitScore).Min(0).Height(8).Span(8).LineWidth(1).
			Thresholds(thresholds("transparent", at(4, "red"))).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Forecast trust: error vs naive ($horizon)").
			Description("Rolling mean absolute error of the forecast over that of the naive forecast (the value stays where it is). Below 100 % the forecast beats naive; the alerts only trust forecasts below 100 % at 1h with 6h of history.").
			Datasource(datasourceRef()).
			Targets(targets(query("A", `servermon_forecast_error_ratio{`+sel+`,horizon="$horizon"}`, legendTarget))).
			Unit(unitRatio).Min(0).Height(8).Span(8).LineWidth(1).
			Thresholds(thresholds("transparent", at(1, "red"))).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Forecast history").
			Description("History each forecast has; forecasts appear once there is enough, and alerts trust them from 6h on.").
			Datasource(datasourceRef()).
			Targets(targets(query("A", `servermon_forecast_history_seconds{`+sel+`}`, legendTarget))).
			Unit(unitSeconds).Min(0).Height(8).Span(8).LineWidth(1).
			Thresholds(thresholds("transparent", at(21600, "green"))).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(warmupTable())

	util := bandSpec{
		title: "Utilisation $device", unit: unitRatio, ratio: true, selector: diskSel,
		observed: "servermon_disk_utilization_ratio", peak: "servermon_disk_utilization_peak_ratio",
		forecast: "servermon_forecast_disk_utilization_ratio",
	}
	read := bandSpec{
		title: "Read throughput $device", unit: unitBytesPS, selector: diskSel,
		observed: "servermon_disk_read_bytes_per_second",
		forecast: "servermon_forecast_disk_read_bytes_per_second",
	}
	write := bandSpec{
		title: "Write throughput $device", unit: unitBytesPS, selector: diskSel,
		observed: "servermon_disk_write_bytes_per_second",
		forecast: "servermon_forecast_disk_write_bytes_per_second",
	}
	withPanels(d.WithRow(dashboard.NewRowBuilder("Disk $device").Repeat("device")),
		forecastPair(util), forecastPair(read), forecastPair(write)).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Latency $device").
			Description("Average time a completed request took, queueing included.").
			Datasource(datasourceRef()).
			Targets(targets(
				query("A", `servermon_disk_read_await_seconds{`+diskSel+`}`, "read"),
				query("B", `servermon_disk_write_await_seconds{`+diskSel+`}`, "write"),
			)).
			Unit(unitSeconds).Min(0).Height(8).Span(4).LineWidth(1)).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Operations $device").
			Description("Completed reads and writes per second.").
			Datasource(datasourceRef()).
			Targets(targets(
				query("A", `servermon_disk_reads_per_second{`+diskSel+`}`, "reads"),
				query("B", `servermon_disk_writes_per_second{`+diskSel+`}`, "writes"),
			)).
			Unit("iops").Min(0).Height(8).Span(4).LineWidth(1)).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Queue length $device").
			Description("Average number of requests in flight.").
			Datasource(datasourceRef()).
			Targets(targets(query("A", `servermon_disk_queue_length{`+diskSel+`}`, "queue"))).
			Unit(unitCount).Min(0).Height(8).Span(4).LineWidth(1))

	filesystemRow(d)

	out, err := d.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("build host dashboard: %w", err)
	}
	return out, nil
}

// etaStat shows each target's time until threshold, coloured by urgency.
func etaStat() *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title("Time until threshold").
		Description("Earliest time the upper bound of the 95 % forecast interval crosses the target's threshold (exporter flags --forecast.threshold.*). Red under 2h, orange under 24h, like the alerts; check the forecast trust panel before acting on it.").
		Datasource(datasourceRef()).
		Targets(targets(query("A", `servermon_forecast_seconds_until_threshold{`+sel+`}`, legendTarget))).
		Unit(unitSeconds).
		Mappings(etaMappings()).
		Thresholds(thresholds("red", at(7200, "orange"), at(86400, "green"))).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(6).Span(8)
}

// anomalyStat shows each target's latest anomaly score.
func anomalyStat() *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title("Anomaly score now").
		Description("Latest anomaly score per target; above --forecast.anomaly-threshold (default 4, red here) the exporter flags the value anomalous.").
		Datasource(datasourceRef()).
		Targets(targets(query("A", `servermon_anomaly_score{`+sel+`}`, legendTarget))).
		Unit(unitScore).
		Decimals(1).
		Thresholds(thresholds("green", at(3, "orange"), at(4, "red"))).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeArea).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(6).Span(6)
}

// collectorStat shows whether each collector's last run succeeded.
func collectorStat() *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title("Collectors").
		Description("Whether each collector's last read of /proc succeeded.").
		Datasource(datasourceRef()).
		Targets(targets(query("A", `servermon_collector_success{`+sel+`}`, "{{collector}}"))).
		Unit(unitScore).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
			Type: dashboard.MappingTypeValueToText,
			Options: map[string]dashboard.ValueMappingResult{
				"0": {Text: cog.ToPtr("failing"), Color: cog.ToPtr("red")},
				"1": {Text: cog.ToPtr("ok"), Color: cog.ToPtr("green")},
			},
		}}}).
		Thresholds(thresholds("red", at(1, "green"))).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(6).Span(5)
}

// withPanels adds the panels of each group to a dashboard row, in order.
func withPanels(d *dashboard.DashboardBuilder, groups ...[]*timeseries.PanelBuilder) *dashboard.DashboardBuilder {
	for _, g := range groups {
		for _, p := range g {
			d = d.WithPanel(p)
		}
	}
	return d
}
