package forecastpage

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/exposition"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// The alert rules' trust gate (rules/servermon-alerts.yml): a forecast alert fires only while the forecast's error
// ratio at trustHorizon is below trustMaxErrorRatio and the series holds at least trustMinHistory. The page says
// whether each forecast passes it; TestTrustGateIsTheRules reads the rules so that the two cannot drift apart.
const (
	trustHorizon       = time.Hour
	trustMaxErrorRatio = 1.0
	trustMinHistory    = 6 * time.Hour
)

// report is everything the pages show, built from one call of Views.
type report struct {
	Generated   time.Time
	Forecasting bool
	Step        time.Duration
	Horizons    []time.Duration
	// TrustHorizon is the index of trustHorizon in Horizons, -1 when it is not configured.
	TrustHorizon int
	// Past is the span of history the charts show, Future that of the forecasts (the largest horizon).
	Past, Future time.Duration
	// Series are the series shown, host-wide first, then by device; Total is how many the forecaster holds.
	Series []*seriesReport
	Total  int
	Groups []*group
	// Newest is the newest step of any series.
	Newest    time.Time
	HasNewest bool
	Warmup    []horizonWarmup
}

// Omitted is the number of series not shown because of Config.MaxSeries.
func (r *report) Omitted() int { return r.Total - len(r.Series) }

// TrustConfigured reports whether the trust gate's horizon is configured.
func (r *report) TrustConfigured() bool { return r.TrustHorizon >= 0 }

// HostWide returns the host-wide series, for the summary.
func (r *report) HostWide() []*seriesReport {
	var out []*seriesReport
	for _, s := range r.Series {
		if !s.Target.PerDevice() {
			out = append(out, s)
		}
	}
	return out
}

// TrustHorizonName is the trust gate's horizon as the flags spell it.
func (r *report) TrustHorizonName() string { return exposition.FormatDuration(trustHorizon) }

// group is a heading of the page: the host, or one device.
type group struct {
	ID, Title string
	Series    []*seriesReport
}

// horizonWarmup is how far the forecasts at one horizon are served, for the landing page.
type horizonWarmup struct {
	Name          string
	Served, Total int
	// Longest is the longest warm-up still to go, in seconds, 0 once all are served.
	Longest float64
	// Names are the titles of the first series still warming up.
	Names []string
}

// maxWarmupNames caps the series the landing page names per horizon.
const maxWarmupNames = 5

// WaitingText names the series still warming up: all of them, or the first few and how many more.
func (h horizonWarmup) WaitingText() string {
	s := strings.Join(h.Names, ", ")
	if more := h.Waiting() - len(h.Names); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// Waiting returns the number of series still warming up at the horizon.
func (h horizonWarmup) Waiting() int { return h.Total - h.Served }

// LongestText is Longest for people.
func (h horizonWarmup) LongestText() string { return humanDuration(h.Longest) }

type label struct{ Name, Value string }

// seriesReport is one series as the pages show it.
type seriesReport struct {
	ID      string // the HTML id of its section, s0, s1, …: never derived from a label value
	Target  *collector.Target
	Labels  []label
	unit    unit
	Step    time.Duration
	HasLast bool
	Last    time.Time // start of the newest step
	Latest  float64
	History history
	// HistorySeconds is the span of history the series holds.
	HistorySeconds float64
	Threshold      float64 // 0: none
	ETA            eta
	Horizons       []horizonReport
	Trust          trust
	Anomaly        float64
	Anomalous      bool
	HasAnomaly     bool
	Chart          chart
	loc            *time.Location // of the clock times in the words
}

// history is the observed steps as shown: bucket means of Bucket (a whole number of steps), the first starting at
// Start; the newest bucket ends with the newest step.
type history struct {
	Start  time.Time
	Bucket time.Duration
	Values []float64
}

type etaState int

const (
	etaNone    etaState = iota // the target has no threshold
	etaWarming                 // no horizon is served yet
	etaReached                 // the newest value is at or above the threshold
	etaAhead                   // the upper bound, and maybe the point forecast, reach it within Range
	etaBeyond                  // neither reaches it within Range
)

// eta is a series' time until threshold, in seconds after its newest step; +Inf when not within Range, the span
// the forecast path covers: the largest served horizon, or the history held when that is shorter.
type eta struct {
	State              etaState
	Earliest, Expected float64
	Range              float64
}

// horizonReport is a series' forecast at one horizon.
type horizonReport struct {
	Horizon       time.Duration
	Ready         bool
	Warmup        float64 // seconds to go, 0 once Ready
	Forecast      forecast.Prediction
	ErrorRatio    float64
	HasErrorRatio bool
}

// Name is the horizon as the flags and labels spell it.
func (h horizonReport) Name() string { return exposition.FormatDuration(h.Horizon) }

// trust is whether the alert rules' trust gate passes, and why or why not, in words.
type trust struct {
	Trusted bool
	Reasons []string
}

// options are the parts of Config that building a report needs.
type options struct {
	step        time.Duration
	horizons    []time.Duration
	maxSeries   int
	maxPoints   int
	past        time.Duration
	forecasting bool
	loc         *time.Location
}

// historySteps is the number of steps to ask Views for.
func (o *options) historySteps() int {
	if o.step <= 0 {
		return 0
	}
	return int(o.past / o.step)
}

// buildReport turns views into a report. It takes no lock and may take its time: the views are copies.
func buildReport(views []forecaster.View, o *options, now time.Time) *report {
	r := &report{Generated: now, Forecasting: o.forecasting, Step: o.step, Horizons: o.horizons, TrustHorizon: -1,
		Past: o.past, Total: len(views)}
	for i, h := range o.horizons {
		r.Future = max(r.Future, h)
		if h == trustHorizon {
			r.TrustHorizon = i
		}
	}
	order := displayOrder(views)
	if o.maxSeries > 0 && len(order) > o.maxSeries {
		order = order[:o.maxSeries]
	}
	for n, i := range order {
		s := buildSeries(&views[i], o, r.TrustHorizon)
		s.ID = fmt.Sprintf("s%d", n)
		s.Chart = buildChart(s, r.Past, r.Future)
		r.Series = append(r.Series, s)
		if s.HasLast && (!r.HasNewest || s.Last.After(r.Newest)) {
			r.Newest, r.HasNewest = s.Last, true
		}
	}
	r.Groups = groupSeries(r.Series)
	for h, d := range o.horizons {
		w := horizonWarmup{Name: exposition.FormatDuration(d), Total: len(r.Series)}
		for _, s := range r.Series {
			if h < len(s.Horizons) && s.Horizons[h].Ready {
				w.Served++
			} else if h < len(s.Horizons) {
				w.Longest = max(w.Longest, s.Horizons[h].Warmup)
				if len(w.Names) < maxWarmupNames {
					w.Names = append(w.Names, s.FullTitle())
				}
			}
		}
		r.Warmup = append(r.Warmup, w)
	}
	return r
}

// displayOrder returns the indexes of views host-wide first, in collector.Targets order, then device by device,
// each device's targets in that order: an operator reads a disk's series together.
func displayOrder(views []forecaster.View) []int {
	rank := map[*collector.Target]int{}
	for i, t := range collector.Targets() {
		rank[t] = i
	}
	rankOf := func(t *collector.Target) int {
		if r, ok := rank[t]; ok {
			return r
		}
		return len(rank)
	}
	order := make([]int, len(views))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		va, vb := &views[a], &views[b]
		if pa, pb := va.Target.PerDevice(), vb.Target.PerDevice(); pa != pb {
			if pa {
				return 1
			}
			return -1
		}
		if va.Target.PerDevice() {
			if c := strings.Compare(va.Target.Group.Name, vb.Target.Group.Name); c != 0 {
				return c
			}
			if c := slices.Compare(va.LabelValues, vb.LabelValues); c != 0 {
				return c
			}
		}
		return rankOf(va.Target) - rankOf(vb.Target)
	})
	return order
}

// groupSeries puts the host-wide series under one heading and each device's under its own.
func groupSeries(series []*seriesReport) []*group {
	var groups []*group
	for _, s := range series {
		title := "Host"
		if s.Target.PerDevice() {
			title = strings.ToUpper(s.Target.Group.Name[:1]) + s.Target.Group.Name[1:] + " " + s.Subject()
		}
		if n := len(groups); n == 0 || groups[n-1].Title != title {
			groups = append(groups, &group{ID: fmt.Sprintf("g%d", len(groups)), Title: title})
		}
		g := groups[len(groups)-1]
		g.Series = append(g.Series, s)
	}
	return groups
}

func buildSeries(v *forecaster.View, o *options, trustIdx int) *seriesReport {
	s := &seriesReport{Target: v.Target, unit: unitOf(v.Target.Name), Step: v.Step, HasLast: v.HasLast, Last: v.LastStep,
		HistorySeconds: v.HistorySeconds, Threshold: v.Threshold, Anomaly: v.Anomaly, Anomalous: v.Anomalous,
		HasAnomaly: v.HasAnomaly, loc: o.loc}
	if s.Step <= 0 {
		s.Step = o.step
	}
	for i, n := range v.LabelNames {
		if i < len(v.LabelValues) {
			s.Labels = append(s.Labels, label{n, v.LabelValues[i]})
		}
	}
	if n := len(v.Observed); n > 0 && v.HasLast {
		s.Latest = v.Observed[n-1]
		s.History = downsample(v.Observed, v.LastStep, s.Step, o.maxPoints)
	} else {
		s.HasLast = false
	}
	s.HistorySeconds = span(v.HistorySeconds)
	largestReady := 0.0
	for _, h := range v.Horizons {
		s.Horizons = append(s.Horizons, horizonReport{Horizon: h.Horizon, Ready: h.Ready, Warmup: span(h.WarmupSeconds),
			Forecast: h.Forecast, ErrorRatio: h.ErrorRatio, HasErrorRatio: h.HasErrorRatio})
		if h.Ready {
			largestReady = max(largestReady, h.Horizon.Seconds())
		}
	}
	switch {
	case v.Threshold <= 0:
		s.ETA.State = etaNone
	case !v.HasETA:
		s.ETA.State = etaWarming
	case v.Earliest == 0:
		s.ETA = eta{State: etaReached}
	case math.IsInf(v.Earliest, 1) && math.IsInf(v.Expected, 1):
		s.ETA = eta{State: etaBeyond, Earliest: v.Earliest, Expected: v.Expected}
	default:
		s.ETA = eta{State: etaAhead, Earliest: v.Earliest, Expected: v.Expected}
	}
	s.ETA.Range = min(largestReady, s.HistorySeconds)
	s.Trust = judgeTrust(s, trustIdx)
	return s
}

// span bounds a span of seconds the forecaster reports to what the pages and JSON can show: never negative, NaN
// or infinite, which it should not be anyway.
func span(sec float64) float64 {
	if math.IsNaN(sec) || sec < 0 {
		return 0
	}
	return math.Min(sec, maxSpan)
}

// maxSpan is the longest span shown, about 30 years.
const maxSpan = 1e9

// downsample returns the observed steps, the newest at last, as means of buckets of whole steps, at most maxPoints
// of them; the oldest steps that do not fill a bucket are left out.
func downsample(values []float64, last time.Time, step time.Duration, maxPoints int) history {
	n := len(values)
	b := 1
	if maxPoints > 0 && n > maxPoints {
		b = (n + maxPoints - 1) / maxPoints
	}
	drop := n % b
	h := history{Bucket: time.Duration(b) * step, Start: last.Add(-time.Duration(n-1-drop) * step)}
	for i := drop; i+b <= n; i += b {
		sum := 0.0
		for _, v := range values[i : i+b] {
			sum += v
		}
		h.Values = append(h.Values, sum/float64(b))
	}
	return h
}

// judgeTrust applies the alert rules' trust gate to s.
func judgeTrust(s *seriesReport, trustIdx int) trust {
	horizon := exposition.FormatDuration(trustHorizon)
	if trustIdx < 0 || trustIdx >= len(s.Horizons) {
		return trust{Reasons: []string{fmt.Sprintf("the alert rules judge a forecast by its error ratio at the %s horizon, which --forecast.horizon does not configure: no forecast alert can fire", horizon)}}
	}
	t := trust{Trusted: true}
	h := s.Horizons[trustIdx]
	switch {
	case !h.HasErrorRatio:
		t.Trusted = false
		t.Reasons = append(t.Reasons, fmt.Sprintf("the %s error ratio is not measured yet", horizon))
	case math.IsNaN(h.ErrorRatio) || !(h.ErrorRatio < trustMaxErrorRatio):
		t.Trusted = false
		t.Reasons = append(t.Reasons, fmt.Sprintf("the %s error ratio is %s, not below %g: no better than the naive forecast", horizon, formatRatio(h.ErrorRatio), trustMaxErrorRatio))
	default:
		t.Reasons = append(t.Reasons, fmt.Sprintf("the %s error ratio is %s, below %g", horizon, formatRatio(h.ErrorRatio), trustMaxErrorRatio))
	}
	if s.HistorySeconds < trustMinHistory.Seconds() {
		t.Trusted = false
		t.Reasons = append(t.Reasons, fmt.Sprintf("%s of history, of the %s needed", humanDuration(s.HistorySeconds), humanDuration(trustMinHistory.Seconds())))
	} else {
		t.Reasons = append(t.Reasons, fmt.Sprintf("%s of history, at least the %s needed", humanDuration(s.HistorySeconds), humanDuration(trustMinHistory.Seconds())))
	}
	return t
}

// formatRatio renders an error ratio.
func formatRatio(v float64) string {
	switch {
	case math.IsNaN(v):
		return "unknown"
	case math.IsInf(v, 1):
		return "∞"
	}
	return fmt.Sprintf("%.2f", v)
}
