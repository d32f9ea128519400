package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Legends of the series of a forecast panel; overrides match on them.
const (
	legendObserved = "observed"
	legendPeak     = "peak"
	legendForecast = "forecast"
	legendLower    = "lower (95 %)"
	legendUpper    = "upper (95 %)"
)

// bandSpec describes one target's panel: what was observed and what the
// exporter forecast for it.
type bandSpec struct {
	title    string
	unit     string
	observed string // metric of the observed average
	peak     string // metric of the observed peak; empty when there is none
	forecast string // forecast metric, with horizon and bound labels
	selector string // label matchers inside {}
	ratio    bool   // 0-1 value: axis from 0, soft max 1
}

// bandDescription explains the time shift, which is the non-obvious part.
const bandDescription = "Observed average (and peak) with the forecast made `$horizon` earlier for each moment, " +
	"and its 95 % prediction interval. The forecast series are shifted by the horizon (`offset $horizon`) so each " +
	"prediction is drawn at the time it predicts: where observed leaves the band, the forecast was wrong. " +
	"The panel beside it draws the same forecast from now to now + `$horizon`. Nothing forecast is drawn while the " +
	"horizon warms up (see Forecast warm-up)."

// aheadTimeFrom is the relative time (timeFrom) of the panels that draw the
// forecast ahead: from now to now + the selected horizon, whatever the
// horizon, where the dashboard's own range ends one hour after now.
//
// What Grafana does with it, from its source (grafana/grafana):
//   - The template variable is interpolated before the value is read: in
//     public/app/features/dashboard/utils/panel.ts, applyPanelTimeOverrides
//     calls getTemplateSrv().replace(panel.timeFrom, panel.scopedVars), and
//     Scenes dashboards (Grafana 11 and 12,
//     public/app/features/dashboard-scene/scene/PanelTimeRange.tsx) call
//     sceneGraph.interpolate(this, this.state.timeFrom). The query editor's
//     validation (isValidTimeSpan in
//     packages/grafana-data/src/datetime/rangeutil.ts) accepts a value that
//     starts with "$" or "+$" for that reason.
//   - rangeutil.describeTextRange reads a value with a leading "+" as
//     {from: "now", to: "now+X"} and labels it "Next X" in the panel header;
//     dateMath parses "now+1h". A horizon label is one number and one unit
//     (the exporter spells 90 minutes "90m", not "1h30m"), which dateMath
//     parses; a compound duration it would not.
//   - The override applies only while the dashboard's range is relative
//     (applyPanelTimeOverrides checks raw.from is a string); with an absolute
//     range the panel follows the dashboard, like the band panels.
//
// A time shift cannot do it: Grafana prefixes timeShift with "-", so it only
// moves a range into the past, and shifting forward is an open feature
// request (grafana/grafana#10395).
const aheadTimeFrom = "+$horizon"

// aheadDescription explains the forecast-ahead panels.
const aheadDescription = "The forecast ahead, from now to now + `$horizon` (the panel's relative time is `+$horizon`, " +
	"\"Next …\" in its header). The point drawn at time t is the forecast made at t − `$horizon` (`offset $horizon`), " +
	"so the right edge is the newest forecast, for now + `$horizon`, and the shaded area its 95 % prediction " +
	"interval. Empty while the horizon warms up (see Forecast warm-up). With an absolute dashboard range, Grafana " +
	"ignores relative-time overrides and the panel shows the dashboard's range."

// forecastQueries are the forecast point and both bounds of a target at the
// selected horizon, each shifted by the horizon to the time it predicts.
func forecastQueries(s bandSpec, refs ...string) []*prometheus.DataqueryBuilder {
	bounds := []struct{ bound, legend string }{
		{"point", legendForecast}, {"lower", legendLower}, {"upper", legendUpper},
	}
	out := make([]*prometheus.DataqueryBuilder, len(bounds))
	for i, b := range bounds {
		out[i] = query(refs[i], s.forecast+`{`+s.selector+`,horizon="$horizon",bound="`+b.bound+`"} offset $horizon`, b.legend)
	}
	return out
}

// bandPanel draws observed values against the forecast point and band, over
// the dashboard's time range.
func bandPanel(s bandSpec) *timeseries.PanelBuilder {
	qs := []*prometheus.DataqueryBuilder{query("A", s.observed+`{`+s.selector+`}`, legendObserved)}
	if s.peak != "" {
		qs = append(qs, query("B", s.peak+`{`+s.selector+`}`, legendPeak))
	}
	qs = append(qs, forecastQueries(s, "C", "D", "E")...)
	return forecastStyle(timeseries.NewPanelBuilder().
		Title(s.title).
		Description(bandDescription).
		Targets(targets(qs...)), s).
		Span(12).
		OverrideByName(legendObserved, color("blue")).
		OverrideByName(legendPeak, append(color("light-blue"), lineStyle(common.LineStyleFillDot)...))
}

// aheadPanel draws a target's forecast from now to now + the selected
// horizon (see aheadTimeFrom). It has no observed series: beyond now
// Prometheus would only repeat the newest sample for its lookback delta.
func aheadPanel(s bandSpec) *timeseries.PanelBuilder {
	return forecastStyle(timeseries.NewPanelBuilder().
		Title(s.title+", next $horizon").
		Description(aheadDescription).
		Targets(targets(forecastQueries(s, "A", "B", "C")...)), s).
		TimeFrom(aheadTimeFrom).
		Span(4)
}

// forecastStyle is what band and ahead panels share: unit, axis, legend,
// tooltip and the forecast series' styles (the band is filled between the
// bounds).
func forecastStyle(p *timeseries.PanelBuilder, s bandSpec) *timeseries.PanelBuilder {
	p = p.Datasource(datasourceRef()).
		Unit(s.unit).
		Min(0).
		Height(8).
		LineWidth(1).
		FillOpacity(0).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: boolPtr(false)}).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone)).
		OverrideByName(legendForecast, append(color("orange"), lineStyle(common.LineStyleFillDash)...)).
		OverrideByName(legendLower, append(color("orange"), dashboard.DynamicConfigValue{Id: "custom.lineWidth", Value: 0})).
		OverrideByName(legendUpper, append(color("orange"),
			dashboard.DynamicConfigValue{Id: "custom.lineWidth", Value: 0},
			dashboard.DynamicConfigValue{Id: "custom.fillBelowTo", Value: legendLower},
			dashboard.DynamicConfigValue{Id: "custom.fillOpacity", Value: 20},
		))
	if s.ratio {
		p = p.AxisSoftMax(1)
	}
	return p
}

// forecastPair is a target's band panel (span 8) and its ahead panel (span 4)
// side by side.
func forecastPair(s bandSpec) []*timeseries.PanelBuilder {
	return []*timeseries.PanelBuilder{bandPanel(s).Span(8), aheadPanel(s)}
}

func boolPtr(b bool) *bool { return &b }

// color fixes a series' colour.
func color(c string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": c}}}
}

// lineStyle sets a series' line style, with the dash pattern Grafana's
// editor would store for it.
func lineStyle(fill common.LineStyleFill) []dashboard.DynamicConfigValue {
	style := map[string]any{"fill": string(fill)}
	switch fill {
	case common.LineStyleFillDash:
		style["dash"] = []int{10, 10}
	case common.LineStyleFillDot:
		style["dash"] = []int{0, 10}
	}
	return []dashboard.DynamicConfigValue{{Id: "custom.lineStyle", Value: style}}
}
