package forecastpage

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Chart geometry, in the SVG's user units; the SVG scales to its box, and the style sheet enlarges the text on
// narrow screens.
const (
	chartW, chartH = 640.0, 300.0
	plotL, plotR   = 70.0, 618.0
	plotT, plotB   = 14.0, 272.0
)

// chart is what the template draws for one series: every coordinate computed here, every string escaped there.
type chart struct {
	ID          string // prefix of the chart's element ids
	Title, Desc string
	XTicks      []tick
	YTicks      []tick
	Observed    string // path data, empty without history
	Forecast    string // path data of the point forecast, empty without a served horizon
	Band        string // polygon points of the 95 % band
	Bars        []bar  // the interval at each served horizon
	Threshold   *level
	NowX        float64
	Marks       []mark // where the expected and earliest times until threshold fall
}

type tick struct {
	Pos    float64
	Label  string
	Minor  bool   // hidden on narrow screens
	Anchor string // of a time label: the ends of the axis keep theirs inside the chart
}

type bar struct{ X, Point, Lower, Upper float64 }

type level struct {
	Y     float64
	Label string
}

// mark is a time until threshold on the threshold line. Earliest is never after expected, so the earliest's label
// goes to the left of its mark and the expected's to the right: they cannot overlap.
type mark struct {
	X, Y  float64
	Label string
	Left  bool
}

// ViewBox is the SVG's viewBox attribute.
func (c *chart) ViewBox() string { return fmt.Sprintf("0 0 %g %g", chartW, chartH) }

// Plot geometry, for the template.
func (c *chart) PlotL() float64 { return plotL }
func (c *chart) PlotR() float64 { return plotR }
func (c *chart) PlotT() float64 { return plotT }
func (c *chart) PlotB() float64 { return plotB }

// scale maps seconds after the newest step and values to user units.
type scale struct {
	past, future float64 // seconds
	lo, hi       float64 // values
}

func (sc *scale) x(sec float64) float64 {
	sec = math.Max(-sc.past, math.Min(sc.future, sec))
	return plotL + (sec+sc.past)/(sc.past+sc.future)*(plotR-plotL)
}

func (sc *scale) y(v float64) float64 {
	if math.IsNaN(v) {
		v = sc.lo
	}
	v = math.Max(sc.lo, math.Min(sc.hi, v))
	return plotB - (v-sc.lo)/(sc.hi-sc.lo)*(plotB-plotT)
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// buildChart computes the chart of s over past seconds of history and future seconds of forecast.
func buildChart(s *seriesReport, past, future time.Duration) chart {
	c := chart{ID: s.ID}
	sc := scale{past: past.Seconds(), future: future.Seconds()}
	if sc.past <= 0 {
		sc.past = 1
	}
	if sc.future <= 0 {
		sc.future = sc.past / 8
	}
	var ready []horizonReport
	for _, h := range s.Horizons {
		if h.Ready {
			ready = append(ready, h)
		}
	}
	slices.SortFunc(ready, func(a, b horizonReport) int { return cmp.Compare(a.Horizon, b.Horizon) })
	sc.lo, sc.hi = valueRange(s, ready)

	c.XTicks = timeTicks(&sc)
	c.YTicks = valueTicks(s.unit, &sc)
	c.NowX = sc.x(0)
	if s.HasLast {
		var d strings.Builder
		bucket := s.History.Bucket.Seconds()
		for i, v := range s.History.Values {
			// A bucket is drawn at its middle: the mean of its steps' start times.
			t := s.History.Start.Add(time.Duration(float64(i)*bucket*float64(time.Second))).Sub(s.Last).Seconds() +
				(bucket-s.Step.Seconds())/2
			if t < -sc.past {
				continue
			}
			cmd := "L"
			if d.Len() == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, coord(sc.x(t)), coord(sc.y(v)))
		}
		if d.Len() > 0 {
			fmt.Fprintf(&d, "L%s %s", coord(sc.x(0)), coord(sc.y(s.Latest)))
		}
		c.Observed = d.String()
	}
	if s.HasLast && len(ready) > 0 {
		var line, upper strings.Builder
		origin := coord(sc.x(0)) + " " + coord(sc.y(s.Latest))
		line.WriteString("M" + origin)
		upper.WriteString(origin)
		lowers := []string{}
		for _, h := range ready {
			x := sc.x(h.Horizon.Seconds())
			fmt.Fprintf(&line, "L%s %s", coord(x), coord(sc.y(h.Forecast.Point)))
			fmt.Fprintf(&upper, " %s %s", coord(x), coord(sc.y(h.Forecast.Upper)))
			lowers = append(lowers, coord(x)+" "+coord(sc.y(h.Forecast.Lower)))
			c.Bars = append(c.Bars, bar{X: x, Point: sc.y(h.Forecast.Point), Lower: sc.y(h.Forecast.Lower), Upper: sc.y(h.Forecast.Upper)})
		}
		slices.Reverse(lowers)
		c.Forecast = line.String()
		c.Band = upper.String() + " " + strings.Join(lowers, " ")
	}
	if s.HasThreshold() {
		c.Threshold = &level{Y: sc.y(s.Threshold), Label: "threshold " + s.ThresholdText()}
		if s.ETA.State == etaAhead {
			if e := s.ETA.Expected; !math.IsInf(e, 1) && e <= sc.future {
				c.Marks = append(c.Marks, mark{X: sc.x(e), Y: c.Threshold.Y, Label: "expected"})
			}
			if e := s.ETA.Earliest; !math.IsInf(e, 1) && e <= sc.future {
				c.Marks = append(c.Marks, mark{X: sc.x(e), Y: c.Threshold.Y, Label: "earliest", Left: true})
			}
		}
	}
	c.Title, c.Desc = chartText(s, past, future)
	return c
}

// valueRange is the value axis of s: 0 to 100 % for a ratio; otherwise from 0 (or the lowest value, when negative)
// to a round number above the history, the forecasts and the threshold. An upper bound far above everything else
// would flatten the chart: the axis stops at twice the rest and the band runs off its top.
func valueRange(s *seriesReport, ready []horizonReport) (float64, float64) {
	if s.unit == unitRatio {
		return 0, 1
	}
	lo, hi := 0.0, 0.0
	grow := func(v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, v := range s.History.Values {
		grow(v)
	}
	grow(s.Latest)
	for _, h := range ready {
		grow(h.Forecast.Point)
		grow(h.Forecast.Lower)
	}
	if s.HasThreshold() {
		grow(s.Threshold)
	}
	rest := hi
	for _, h := range ready {
		grow(math.Min(h.Forecast.Upper, 2*math.Max(rest, 1e-9)))
	}
	if hi <= lo {
		hi = lo + 1
	}
	step := niceStep((hi-lo)/4, s.unit)
	return math.Floor(lo/step) * step, math.Ceil(hi*1.02/step) * step
}

// niceStep is a round tick step near raw: 1, 2 or 5 times a power of ten, or of 1024 for bytes.
func niceStep(raw float64, u unit) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	base := 1.0
	if u == unitBytes || u == unitBytesPerSecond {
		for raw/base >= 1024 {
			base *= 1024
		}
	}
	r := raw / base
	p := math.Pow(10, math.Floor(math.Log10(r)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= r {
			return m * p * base
		}
	}
	return 10 * p * base
}

func valueTicks(u unit, sc *scale) []tick {
	step := (sc.hi - sc.lo) / 4
	if u != unitRatio {
		step = niceStep(step, u)
	}
	var ticks []tick
	for i := 0; i <= 8; i++ {
		v := sc.lo + float64(i)*step
		if v > sc.hi+step/1000 {
			break
		}
		ticks = append(ticks, tick{Pos: sc.y(v), Label: u.formatLevel(v), Minor: i%2 == 1})
	}
	return ticks
}

// timeTicks are round offsets from now across the axis, at most about 8.
func timeTicks(sc *scale) []tick {
	span := sc.past + sc.future
	step := 86400.0 * 7
	for _, s := range []float64{60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400} {
		if span/s <= 8 {
			step = s
			break
		}
	}
	var ticks []tick
	for i := -math.Floor(sc.past / step); i*step <= sc.future; i++ {
		ticks = append(ticks, tick{Pos: sc.x(i * step), Label: spanName(i * step), Minor: int(math.Abs(i))%2 == 1, Anchor: "mid"})
	}
	if n := len(ticks); n > 0 {
		if ticks[0].Pos-plotL < 20 {
			ticks[0].Anchor = "start"
		}
		if plotR-ticks[n-1].Pos < 20 {
			ticks[n-1].Anchor = "end"
		}
	}
	return ticks
}

// chartText is the chart's title and its text alternative: what a sighted reader takes from it.
func chartText(s *seriesReport, past, future time.Duration) (string, string) {
	title := fmt.Sprintf("%s: the last %s observed and the forecast for the next %s", s.FullTitle(),
		humanDuration(past.Seconds()), humanDuration(future.Seconds()))
	var d []string
	if s.HasLast && len(s.History.Values) > 0 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range s.History.Values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		span := s.Last.Sub(s.History.Start) + s.Step
		d = append(d, fmt.Sprintf("Observed over %s: from %s to %s now, between %s and %s.", humanDuration(span.Seconds()),
			s.unit.format(s.History.Values[0]), s.unit.format(s.Latest), s.unit.format(lo), s.unit.format(hi)))
	} else {
		d = append(d, "No observed data yet.")
	}
	var fc []string
	for _, h := range s.Horizons {
		if h.Ready {
			fc = append(fc, fmt.Sprintf("in %s %s (95 %% interval %s)", h.Name(), s.unit.format(h.Forecast.Point), s.IntervalText(h)))
		}
	}
	if len(fc) > 0 {
		d = append(d, "Forecast: "+strings.Join(fc, "; ")+".")
	} else {
		d = append(d, "No forecast yet: warming up.")
	}
	if s.HasThreshold() {
		d = append(d, fmt.Sprintf("Threshold %s: %s.", s.ThresholdText(), s.Sentence()))
	}
	return title, strings.Join(d, " ")
}
