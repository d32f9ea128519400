//lint:file-ignore SA1019 The v1 dashboard schema is deprecated in the SDK in favour of v2, but v1 JSON (with schemaVersion) is what every Grafana release imports; v2 needs Grafana 12 with new APIs.

package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Fleet builds the "Servermon / Fleet" dashboard: which hosts need attention
// first, across any number of jobs and hosts, with links to the host view.
func Fleet() (dashboard.Dashboard, error) {
	d := dashboard.NewDashboardBuilder("Servermon / Fleet").
		Uid(fleetUID).
		Description("All hosts seen by servermon_exporter: hosts at risk, soonest trusted ETAs, anomalies and fleet forecasts.").
		Tags([]string{dashTag}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-24h", "now+1h").
		Refresh("1m").
		Links(dashboardLinks()).
		WithVariable(datasourceVariable()).
		WithVariable(multiAll(labelVariable("job", "Job", "servermon_build_info"))).
		WithVariable(multiAll(labelVariable("instance", "Instance", "servermon_build_info{"+jobSel+"}"))).
		WithVariable(horizonVariable())

	d.WithRow(dashboard.NewRowBuilder("Summary")).
		WithPanel(countStat("Hosts", "Hosts exporting servermon metrics in the selected jobs.",
			`sum(job:servermon_hosts:count{`+jobSel+`})`, nil)).
		WithPanel(countStat("Hosts at risk", "Hosts of the selected jobs with a trusted forecast crossing a threshold within 24h (recording rule job:servermon_hosts_at_risk:count).",
			`sum(job:servermon_hosts_at_risk:count{`+jobSel+`})`, thresholds("green", at(1, "orange")))).
		WithPanel(countStat("Hosts anomalous", "Hosts of the selected jobs with a trusted target flagged anomalous now (recording rule job:servermon_hosts_anomalous:count).",
			`sum(job:servermon_hosts_anomalous:count{`+jobSel+`})`, thresholds("green", at(1, "orange")))).
		WithPanel(countStat("Exporters down", "Selected servermon targets Prometheus cannot scrape.",
			`count(up{`+sel+`} == 0) or vector(0)`, thresholds("green", at(1, "red"))))

	d.WithRow(dashboard.NewRowBuilder("Hosts needing attention")).
		WithPanel(hostTable("Soonest time until threshold (trusted forecasts)",
			"Hosts and targets whose trusted forecast crosses a threshold, soonest first. Trusted: better than naive at 1h with 6h of history (recording rule instance:servermon_forecast_seconds_until_threshold:trusted).",
			`instance:servermon_forecast_seconds_until_threshold:trusted{`+sel+`} < +Inf`, "ETA", unitSeconds, false).
			Thresholds(thresholds("red", at(7200, "orange"), at(86400, "green"))).
			OverrideByName("ETA", cellColor("color-background")).
			Height(10).Span(12)).
		WithPanel(hostTable("Highest anomaly scores",
			"The 50 highest anomaly scores now; above the exporter's --forecast.anomaly-threshold (default 4, coloured red here) a value is flagged anomalous.",
			`topk(50, servermon_anomaly_score{`+sel+`})`, "Score", unitScore, true).
			Decimals(1).
			Thresholds(thresholds("green", at(3, "orange"), at(4, "red"))).
			OverrideByName("Score", cellColor("color-text")).
			Height(10).Span(12)).
		WithPanel(hostTable("Forecasts worse than naive",
			"Forecasts (1h horizon) whose error exceeds the naive forecast's; their alerts are suppressed (see ServermonForecastWorseThanNaive).",
			`servermon_forecast_error_ratio{`+sel+`,horizon="1h"} > 1`, "Error vs naive", unitRatio, true).
			Decimals(0).
			Height(8).Span(24))

	d.WithRow(dashboard.NewRowBuilder("Filesystems filling up")).
		WithPanel(countStat("Soonest disk full (trusted)",
			"The soonest trusted time until a filesystem's usage reaches its threshold, across the selected hosts (minimum of instance:servermon_forecast_seconds_until_threshold:trusted for target filesystem_usage_ratio). Red under 4h, orange under 24h, like ServermonFilesystemFillingUp.",
			`min(instance:servermon_forecast_seconds_until_threshold:trusted{`+sel+`,target="filesystem_usage_ratio"})`,
			thresholds("red", at(fsCritical, "orange"), at(fsWarning, "green"))).
			Unit(unitSeconds).
			Decimals(1).
			Mappings(etaMappings()).
			GraphMode(common.BigValueGraphModeNone).
			Height(8).Span(6)).
		WithPanel(hostTable("Filesystems filling up soonest (trusted forecasts)",
			"The 20 mounts of the selected hosts whose trusted usage forecast reaches the threshold soonest.",
			`bottomk(20, instance:servermon_forecast_seconds_until_threshold:trusted{`+sel+`,target="filesystem_usage_ratio"} < +Inf)`,
			"ETA", unitSeconds, false).
			Thresholds(thresholds("red", at(fsCritical, "orange"), at(fsWarning, "green"))).
			OverrideByName("ETA", cellColor("color-background")).
			Height(8).Span(18))

	d.WithRow(dashboard.NewRowBuilder("Fleet trends")).
		WithPanel(fleetForecast("Fleet CPU usage", "servermon_cpu_usage_ratio").Span(8)).
		WithPanel(fleetAhead("Fleet CPU usage", "servermon_cpu_usage_ratio")).
		WithPanel(fleetForecast("Fleet memory usage", "servermon_memory_usage_ratio").Span(8)).
		WithPanel(fleetAhead("Fleet memory usage", "servermon_memory_usage_ratio")).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Hosts at risk and anomalous").
			Description("Per job: hosts with a trusted ETA under 24h, and hosts with a trusted target flagged anomalous.").
			Datasource(datasourceRef()).
			Targets(targets(
				query("A", `job:servermon_hosts_at_risk:count{`+jobSel+`}`, "{{job}} at risk"),
				query("B", `job:servermon_hosts_anomalous:count{`+jobSel+`}`, "{{job}} anomalous"),
			)).
			Unit(unitCount).Min(0).Decimals(0).Height(8).Span(12).LineWidth(1)).
		WithPanel(timeseries.NewPanelBuilder().
			Title("Worst trusted time until threshold").
			Description("Per job and target, the soonest trusted ETA of any host.").
			Datasource(datasourceRef()).
			Targets(targets(query("A", `job_target:servermon_forecast_seconds_until_threshold:min{`+jobSel+`}`, "{{job}} {{target}}"))).
			Unit(unitSeconds).Min(0).Height(8).Span(12).LineWidth(1).
			Thresholds(thresholds("transparent", at(7200, "red"), at(86400, "orange"))).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)))

	out, err := d.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("build fleet dashboard: %w", err)
	}
	return out, nil
}

// countStat is a single-number stat panel.
func countStat(title, description, expr string, th *dashboard.ThresholdsConfigBuilder) *stat.PanelBuilder {
	if th == nil {
		th = thresholds("blue")
	}
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(query("A", expr, title))).
		Unit(unitCount).
		Decimals(0).
		Thresholds(th).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(4).Span(6)
}

// fleetForecastQueries are a job's mean forecast point and mean upper bound
// at the selected horizon, shifted to the time they predict, with the
// references given.
func fleetForecastQueries(metric, pointRef, upperRef string) []*prometheus.DataqueryBuilder {
	rec := `job:servermon_forecast_` + metric[len("servermon_"):] + `:avg{` + jobSel + `,horizon="$horizon",bound="`
	return []*prometheus.DataqueryBuilder{
		query(pointRef, rec+`point"} offset $horizon`, "{{job}} forecast"),
		query(upperRef, rec+`upper"} offset $horizon`, "{{job}} mean upper bound"),
	}
}

// fleetStyle is the unit, axis and series styles of the fleet forecast panels.
func fleetStyle(p *timeseries.PanelBuilder) *timeseries.PanelBuilder {
	return p.Datasource(datasourceRef()).
		Unit(unitRatio).Min(0).AxisSoftMax(1).Height(8).LineWidth(1).
		OverrideByRegexp(".* forecast$", lineStyle(common.LineStyleFillDash)).
		OverrideByRegexp(".* mean upper bound$", lineStyle(common.LineStyleFillDot))
}

// fleetForecast draws a job's mean observed value with the mean forecast made
// $horizon earlier (see bandDescription for the shift).
func fleetForecast(title, metric string) *timeseries.PanelBuilder {
	return fleetStyle(timeseries.NewPanelBuilder().
		Title(title).
		Description("Mean over the selected jobs' hosts (recording rules job:" + metric + ":avg and job:servermon_forecast_" +
			metric[len("servermon_"):] + ":avg). " + bandDescription).
		Targets(targets(append([]*prometheus.DataqueryBuilder{
			query("A", `job:`+metric+`:avg{`+jobSel+`}`, "{{job}} observed"),
		}, fleetForecastQueries(metric, "B", "C")...)...))).
		Span(12)
}

// fleetAhead draws a job's mean forecast from now to now + the selected
// horizon (see aheadTimeFrom).
func fleetAhead(title, metric string) *timeseries.PanelBuilder {
	return fleetStyle(timeseries.NewPanelBuilder().
		Title(title + ", next $horizon").
		Description("Mean over the selected jobs' hosts of the forecast (recording rule job:servermon_forecast_" +
			metric[len("servermon_"):] + ":avg). " + aheadDescription).
		Targets(targets(fleetForecastQueries(metric, "A", "B")...))).
		TimeFrom(aheadTimeFrom).
		Span(4)
}
