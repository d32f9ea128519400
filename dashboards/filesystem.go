//lint:file-ignore SA1019 The v1 dashboard schema is deprecated in the SDK in favour of v2, but v1 JSON (with schemaVersion) is what every Grafana release imports; v2 needs Grafana 12 with new APIs.

package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
)

// ETA thresholds of ServermonFilesystemFillingUp (issue 11): critical below
// 4h, warning below 24h. The panels colour by the same limits.
const (
	fsCritical = 4 * 3600
	fsWarning  = 24 * 3600
)

// fsUsage is the forecast target of a filesystem's usage (df's Use%).
var fsUsage = bandSpec{
	title: "Usage $mountpoint", unit: unitRatio, ratio: true, selector: fsSel,
	observed: "servermon_filesystem_usage_ratio",
	forecast: "servermon_forecast_filesystem_usage_ratio",
}

// filesystemRow adds one row per mount point: usage (df's Use%) with its
// forecast and band, the forecast ahead, the time until the threshold, free
// space, inodes and the read-only flag.
func filesystemRow(d *dashboard.DashboardBuilder) {
	withPanels(d.WithRow(dashboard.NewRowBuilder("Filesystem $mountpoint").Repeat("mountpoint")), forecastPair(fsUsage)).
		WithPanel(fsStat("Full in $mountpoint",
			"Time until the upper bound of the usage forecast reaches the threshold (--forecast.threshold.filesystem); \"not in range\" when it does not within the forecast's range. Red under 4h, orange under 24h, like ServermonFilesystemFillingUp; check the forecast trust panel before acting on it.",
			unitSeconds, query("A", `servermon_forecast_seconds_until_threshold{`+fsSel+`,target="filesystem_usage_ratio"}`, "to {{threshold}}")).
			Mappings(etaMappings()).
			Thresholds(thresholds("red", at(fsCritical, "orange"), at(fsWarning, "green"))).
			ColorMode(common.BigValueColorModeBackground).
			Span(3)).
		WithPanel(fsStat("Space $mountpoint",
			"Space available to unprivileged users (df's Avail) and the filesystem's size.",
			unitBytes,
			query("A", `servermon_filesystem_avail_bytes{`+fsSel+`}`, "available"),
			query("B", `servermon_filesystem_size_bytes{`+fsSel+`}`, "size")).
			Thresholds(thresholds("blue")).
			Span(4)).
		WithPanel(fsStat("Inodes $mountpoint",
			"Share of the filesystem's inodes in use; a filesystem without free inodes is full whatever its free space.",
			unitRatio, query("A", `servermon_filesystem_inodes_usage_ratio{`+fsSel+`}`, "inodes used")).
			Thresholds(thresholds("green", at(0.8, "orange"), at(0.95, "red"))).
			Span(3)).
		WithPanel(fsStat("Mode $mountpoint",
			"Whether the filesystem is mounted read-only; read-only filesystems do not fill up, and ServermonFilesystemFillingUp leaves them out.",
			unitScore, query("A", `servermon_filesystem_readonly{`+fsSel+`}`, "mode")).
			Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
				Type: dashboard.MappingTypeValueToText,
				Options: map[string]dashboard.ValueMappingResult{
					"0": {Text: cog.ToPtr("read-write"), Color: cog.ToPtr("green")},
					"1": {Text: cog.ToPtr("read-only"), Color: cog.ToPtr("blue")},
				},
			}}}).
			Thresholds(thresholds("green")).
			Span(2))
}

// fsStat is a stat panel of a filesystem row showing the latest values.
func fsStat(title, description, unit string, qs ...*prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(qs...)).
		Unit(unit).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(8)
}
