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
	"prediction is drawn at the time it predicts: where observed leaves the band, the forecast was wrong; " +
	"extend the time range past now to see the forecast ahead."

// bandPanel draws observed values against the forecast point and band.
func bandPanel(s bandSpec) *timeseries.PanelBuilder {
	forecast := func(ref, bound, legend string) *prometheus.DataqueryBuilder {
		return query(ref, s.forecast+`{`+s.selector+`,horizon="$horizon",bound="`+bound+`"} offset $horizon`, legend)
	}
	qs := []*prometheus.DataqueryBuilder{query("A", s.observed+`{`+s.selector+`}`, legendObserved)}
	if s.peak != "" {
		qs = append(qs, query("B", s.peak+`{`+s.selector+`}`, legendPeak))
	}
	qs = append(qs,
		forecast("C", "point", legendForecast),
		forecast("D", "lower", legendLower),
		forecast("E", "upper", legendUpper),
	)
	p := timeseries.NewPanelBuilder().
		Title(s.title).
		Description(bandDescription).
		Datasource(datasourceRef()).
		Targets(targets(qs...)).
		Unit(s.unit).
		Min(0).
		Height(8).
		Span(12).
		LineWidth(1).
		FillOpacity(0).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: boolPtr(false)}).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone)).
		OverrideByName(legendObserved, color("blue")).
		OverrideByName(legendPeak, append(color("light-blue"), lineStyle(common.LineStyleFillDot)...)).
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
