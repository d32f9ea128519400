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

// chart is what the template draws for one series: every coordinate computed and formatted here, every string
// escaped there. Lines of one kind share one path, so that a chart costs the template a few dozen actions.
type chart struct {
	ID          string // prefix of the chart's element ids
	Title, Desc string
	Grid        string // path data of the grid lines shown at every width
	GridMinor   string // and of those hidden on narrow screens
	Observed    string // path data, empty without history
	Forecast    string // path data of the point forecast, empty without a served horizon
	Band        string // polygon points of the 95 % band
	BarPath     string // path data of the interval bars
	ThrPath     string // path data of the threshold line, empty without one
	NowPath     string
	Texts       []svgText
	Circles     []circle

	// The geometry, for tests.
	NowX      float64
	Bars      []bar // the interval at each served horizon
	Threshold *level
	Marks     []mark // where the expected and earliest times until threshold fall
}

// svgText is a label; X and Y are formatted coordinates.
type svgText struct{ X, Y, Class, Text string }

// circle is a marker; CX and CY are formatted coordinates.
type circle struct{ CX, CY, R, Class string }

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

// FramePath is the path data of the plot's frame.
func (c *chart) FramePath() string {
	return fmt.Sprintf("M%g %gH%gV%gH%gZ", plotL, plotT, plotR, plotB, plotL)
}

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

// pathBuf builds path data.
type pathBuf []byte

// to appends a move (the first point) or a line to x,y.
func (p *pathBuf) to(x, y float64) {
	if len(*p) == 0 {
		*p = append(*p, 'M')
	} else {
		*p = append(*p, 'L')
	}
	p.point(x, y)
}

// point appends "x y".
func (p *pathBuf) point(x, y float64) {
	*p = strconv.AppendFloat(*p, x, 'f', 1, 64)
	*p = append(*p, ' ')
	*p = strconv.AppendFloat(*p, y, 'f', 1, 64)
}

// segment appends a line from x1,y1 to x2,y2.
func (p *pathBuf) segment(x1, y1, x2, y2 float64) {
	*p = append(*p, 'M')
	p.point(x1, y1)
	*p = append(*p, 'L')
	p.point(x2, y2)
}

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

	var grid, minor pathBuf
	for _, t := range valueTicks(s.unit, &sc) {
		g := &grid
		if t.Minor {
			g = &minor
		}
		g.segment(plotL, t.Pos, plotR, t.Pos)
		c.Texts = append(c.Texts, svgText{X: coord(plotL - 6), Y: coord(t.Pos + 4), Class: minorClass("end", t.Minor), Text: t.Label})
	}
	for _, t := range timeTicks(&sc) {
		g := &grid
		if t.Minor {
			g = &minor
		}
		g.segment(t.Pos, plotT, t.Pos, plotB)
		c.Texts = append(c.Texts, svgText{X: coord(t.Pos), Y: coord(plotB + 21), Class: minorClass(t.Anchor, t.Minor), Text: t.Label})
	}
	c.Grid, c.GridMinor = string(grid), string(minor)
	c.NowX = sc.x(0)
	var now pathBuf
	now.segment(c.NowX, plotT, c.NowX, plotB)
	c.NowPath = string(now)
	if s.HasLast {
		var d pathBuf
		bucket := s.History.Bucket.Seconds()
		for i, v := range s.History.Values {
			// A bucket is drawn at its middle: the mean of its steps' start times.
			t := s.History.Start.Sub(s.Last).Seconds() + float64(i)*bucket + (bucket-s.Step.Seconds())/2
			if t >= -sc.past {
				d.to(sc.x(t), sc.y(v))
			}
		}
		if len(d) > 0 {
			d.to(c.NowX, sc.y(s.Latest))
		}
		c.Observed = string(d)
	}
	if s.HasLast && len(ready) > 0 {
		var line, band, bars pathBuf
		line.to(c.NowX, sc.y(s.Latest))
		band.point(c.NowX, sc.y(s.Latest))
		for _, h := range ready {
			b := bar{X: sc.x(h.Horizon.Seconds()), Point: sc.y(h.Forecast.Point), Lower: sc.y(h.Forecast.Lower), Upper: sc.y(h.Forecast.Upper)}
			c.Bars = append(c.Bars, b)
			line.to(b.X, b.Point)
			band = append(band, ' ')
			band.point(b.X, b.Upper)
			bars.segment(b.X, b.Lower, b.X, b.Upper)
			bars.segment(b.X-4, b.Lower, b.X+4, b.Lower)
			bars.segment(b.X-4, b.Upper, b.X+4, b.Upper)
			c.Circles = append(c.Circles, circle{CX: coord(b.X), CY: coord(b.Point), R: "3.5", Class: "fcdot"})
		}
		for i := len(c.Bars) - 1; i >= 0; i-- {
			band = append(band, ' ')
			band.point(c.Bars[i].X, c.Bars[i].Lower)
		}
		c.Forecast, c.Band, c.BarPath = string(line), string(band), string(bars)
	}
	if s.HasThreshold() {
		c.Threshold = &level{Y: sc.y(s.Threshold), Label: "threshold " + s.ThresholdText()}
		var thr pathBuf
		thr.segment(plotL, c.Threshold.Y, plotR, c.Threshold.Y)
		c.ThrPath = string(thr)
		if s.ETA.State == etaAhead {
			if e := s.ETA.Expected; !math.IsInf(e, 1) && e <= sc.future {
				c.Marks = append(c.Marks, mark{X: sc.x(e), Y: c.Threshold.Y, Label: "expected"})
			}
			if e := s.ETA.Earliest; !math.IsInf(e, 1) && e <= sc.future {
				c.Marks = append(c.Marks, mark{X: sc.x(e), Y: c.Threshold.Y, Label: "earliest", Left: true})
			}
		}
		for _, m := range c.Marks {
			c.Circles = append(c.Circles, circle{CX: coord(m.X), CY: coord(m.Y), R: "5", Class: "eta"})
			t := svgText{X: coord(m.X + 7), Y: coord(m.Y + 17), Text: m.Label}
			if m.Left {
				t.X, t.Class = coord(m.X-7), "end"
			}
			c.Texts = append(c.Texts, t)
		}
		c.Texts = append(c.Texts, svgText{X: coord(plotL + 5), Y: coord(c.Threshold.Y - 6), Class: "thrlabel", Text: c.Threshold.Label})
	}
	c.Title, c.Desc = chartText(s, past, future)
	return c
}

// minorClass is a label's class: its anchor, and minor when it hides on narrow screens.
func minorClass(anchor string, minor bool) string {
	if minor {
		return anchor + " minor"
	}
	return anchor
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
