package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/dashquery"
)

// The dashboards draw a forecast at the time it predicts (`offset $horizon`), and their forecast-ahead panels have
// the relative time "+$horizon", so Grafana asks Prometheus for a range that ends at now + the horizon. This file
// checks on the stack's real Prometheus that such a query_range returns the forecast for t > now, up to now + the
// horizon. See checkFutureForecasts.

// timedPanel is a dashboard panel with what decides its time range, and its queries.
type timedPanel struct {
	file, title         string
	dashFrom, dashTo    string // the dashboard's range
	timeFrom, timeShift string // the panel's overrides
	queries             []dashQuery
}

// loadTimedPanels returns every panel of both dashboards, rows' nested panels included.
func loadTimedPanels(t *testing.T) []timedPanel {
	t.Helper()
	type jsonPanel struct {
		Title, TimeFrom, TimeShift string
		Targets                    []struct{ Expr, RefID string }
		Panels                     json.RawMessage
	}
	var out []timedPanel
	for _, f := range dashboardFiles {
		var doc struct {
			Time   struct{ From, To string }
			Panels []jsonPanel
		}
		readDashboard(t, f, &doc)
		var walk func(ps []jsonPanel)
		walk = func(ps []jsonPanel) {
			for _, p := range ps {
				tp := timedPanel{file: f, title: p.Title, dashFrom: doc.Time.From, dashTo: doc.Time.To,
					timeFrom: p.TimeFrom, timeShift: p.TimeShift}
				for _, q := range p.Targets {
					if q.Expr != "" {
						tp.queries = append(tp.queries, dashQuery{dashquery.Query{File: f, Panel: p.Title, Ref: q.RefID, Expr: q.Expr}})
					}
				}
				out = append(out, tp)
				var nested []jsonPanel
				if len(p.Panels) > 0 {
					if err := json.Unmarshal(p.Panels, &nested); err != nil {
						t.Fatalf("parse %s: panels of %q: %v", f, p.Title, err)
					}
				}
				walk(nested)
			}
		}
		walk(doc.Panels)
	}
	return out
}

// grafanaOffsets returns the range Grafana queries for a panel as offsets from now, for the relative forms the
// dashboards use, following grafana/grafana: applyPanelTimeOverrides (public/app/features/dashboard/utils/panel.ts)
// and PanelTimeRange (public/app/features/dashboard-scene/scene/PanelTimeRange.tsx) interpolate the panel's
// timeFrom and timeShift; rangeutil.describeTextRange reads a relative time "X" as now-X to now and "+X" as now to
// now+X; a time shift applies "-" + the shift to both ends (so it can only move back); dateMath parses "now"
// followed by operators, each with an optional number and one unit letter. dashboards/timerange_test.go has the
// same rules with their own test.
func grafanaOffsets(p timedPanel, vars map[string]string) (from, to time.Duration, err error) {
	if from, err = nowOffset(p.dashFrom); err != nil {
		return
	}
	if to, err = nowOffset(p.dashTo); err != nil {
		return
	}
	if p.timeFrom != "" {
		tf, err := substituteVariables(p.timeFrom, vars)
		if err != nil {
			return 0, 0, err
		}
		rel, err := dateMath(strings.TrimPrefix(tf, "+"))
		switch {
		case err != nil:
			return 0, 0, fmt.Errorf("relative time %q: %w", tf, err)
		case strings.HasPrefix(tf, "+"):
			from, to = 0, rel
		default:
			from, to = -rel, 0
		}
	}
	if p.timeShift != "" {
		ts, err := substituteVariables(p.timeShift, vars)
		if err != nil {
			return 0, 0, err
		}
		shift, err := dateMath(ts) // Grafana prefixes "-": a shift that is not a plain duration does not parse
		if err != nil {
			return 0, 0, fmt.Errorf("time shift %q: %w", ts, err)
		}
		from, to = from-shift, to-shift
	}
	return from, to, nil
}

var dateMathRe = regexp.MustCompile(`^([0-9]+)([smhdw])`)

// dateMath parses a duration as Grafana's dateMath reads the amount after an operator: a number and one unit.
func dateMath(s string) (time.Duration, error) {
	units := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	m := dateMathRe.FindStringSubmatch(s)
	if m == nil || len(m[0]) != len(s) {
		return 0, fmt.Errorf("%q is not a number and one unit", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * units[m[2]], nil
}

// nowOffset parses a dashboard time "now", "now-X" or "now+X".
func nowOffset(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "now")
	switch {
	case !ok:
		return 0, fmt.Errorf("dashboard time %q is not relative to now", s)
	case rest == "":
		return 0, nil
	case rest[0] == '+' || rest[0] == '-':
		d, err := dateMath(rest[1:])
		if rest[0] == '-' {
			d = -d
		}
		return d, err
	}
	return 0, fmt.Errorf("dashboard time %q: not now±X", s)
}

func TestGrafanaOffsets(t *testing.T) {
	vars := map[string]string{"horizon": "6h"}
	for _, c := range []struct {
		p        timedPanel
		from, to time.Duration
		fails    bool
	}{
		{p: timedPanel{dashFrom: "now-6h", dashTo: "now+1h"}, from: -6 * time.Hour, to: time.Hour},
		{p: timedPanel{dashFrom: "now-6h", dashTo: "now+1h", timeFrom: "+$horizon"}, to: 6 * time.Hour},
		{p: timedPanel{dashFrom: "now-6h", dashTo: "now", timeFrom: "2h"}, from: -2 * time.Hour},
		{p: timedPanel{dashFrom: "now-6h", dashTo: "now", timeShift: "1h"}, from: -7 * time.Hour, to: -time.Hour},
		{p: timedPanel{dashFrom: "now-6h", dashTo: "now", timeShift: "-$horizon"}, fails: true},
		{p: timedPanel{dashFrom: "now-6h", dashTo: "now", timeFrom: "+1h30m"}, fails: true},
	} {
		from, to, err := grafanaOffsets(c.p, vars)
		if c.fails != (err != nil) || (!c.fails && (from != c.from || to != c.to)) {
			t.Errorf("%+v: %v to %v (%v), want %v to %v (fails %v)", c.p, from, to, err, c.from, c.to, c.fails)
		}
	}
}

// rangeSeries is one series of a query_range result, its points in ms since the epoch.
type rangeSeries struct {
	Metric map[string]string
	Points map[int64]float64
	Times  []int64 // the points' times, increasing
}

// queryRange evaluates expr from start to end every step.
func (c *promClient) queryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]rangeSeries, error) {
	sec := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
	body, err := c.get(ctx, "/api/v1/query_range", url.Values{
		"query": {expr}, "start": {sec(start)}, "end": {sec(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query_range %s: %w", expr, err)
	}
	if r.Status != "success" || len(r.Warnings) > 0 {
		return nil, fmt.Errorf("query_range %s: status %s, error %q, warnings %v", expr, r.Status, r.Error, r.Warnings)
	}
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, fmt.Errorf("query_range %s: %w", expr, err)
	}
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("query_range %s: result type %q, want matrix", expr, data.ResultType)
	}
	out := make([]rangeSeries, 0, len(data.Result))
	for _, s := range data.Result {
		rs := rangeSeries{Metric: s.Metric, Points: map[int64]float64{}}
		for _, v := range s.Values {
			ts, ok := v[0].(float64)
			if !ok {
				return nil, fmt.Errorf("query_range %s: timestamp %v", expr, v[0])
			}
			f, err := parseSampleValue(v[1])
			if err != nil {
				return nil, fmt.Errorf("query_range %s: %w", expr, err)
			}
			ms := int64(math.Round(ts * 1000))
			rs.Points[ms] = f
			rs.Times = append(rs.Times, ms)
		}
		out = append(out, rs)
	}
	return out, nil
}

// seriesKey identifies a series by its labels.
func seriesKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, m[k])
	}
	return b.String()
}

// futureHorizons are the horizons checkFutureForecasts checks, as the dashboards' variable spells them: the default
// (1h, 6 s on the test's clock) and a longer one (6h, 36 s), for which the dashboard's own range (to now+1h, 6 s on
// the test's clock) would not do. The 24h horizon (2m24s) needs 2m27s of history, more than the test runs.
var futureHorizons = []string{"1h", "6h"}

// futureSettle is how long before the check's now a sample is surely in Prometheus (many scrapes, each bounded by
// its 100 ms timeout), so that two queries made one after the other see the same data up to then.
const futureSettle = time.Second

// checkFutureForecasts checks, for each horizon of futureHorizons, that every forecast the dashboards draw shifted
// by $horizon has a panel whose range, as Grafana computes it from the dashboard's JSON (grafanaOffsets, on the
// test's compressed clock), ends at now + the horizon; and that for each query of such a panel a query_range over
// that range, ending in the future, returns what the panel must draw:
//   - at least one series, each with points after now and a point at the range's end, now + the horizon;
//   - beyond now, exactly the forecast made one horizon earlier: the same query without the offset, over the range
//     moved back by the horizon, has a point at t − horizon for each point at t and the same value, wherever
//     t − horizon is settled (futureSettle before now). A query drawing the forecast without the shift would only
//     get Prometheus' lookback repeating the newest sample there, which this tells apart as soon as the forecast
//     changes; at least one forecast per horizon must have changed in the compared span, or the check fails as
//     vacuous.
//
// Queries that select a metric of gainedInIssues10And11 are left out, and so are forecasts the exporter has not
// served at the horizon over the compared span (still warming up: the load forecast, read every 5 s of real time,
// has too few steps for the 6h horizon); they are logged.
func (s *stack) checkFutureForecasts() {
	s.t.Helper()
	panels := loadTimedPanels(s.t)
	for _, h := range futureHorizons {
		ch, err := compressHorizon(h, compressFactor)
		if err != nil {
			s.t.Fatal(err)
		}
		hd, err := dateMath(h)
		if err != nil {
			s.t.Fatal(err)
		}
		hc := hd / compressFactor
		vals := s.dashboardValues()
		vals["horizon"] = ch
		now := time.Now().Truncate(time.Millisecond)
		reached := map[string]bool{} // forecast metric → drawn up to now + horizon by some panel
		checked, varying, points := 0, 0, 0
		var notServed []string
		for _, p := range panels {
			prodFrom, prodTo, err := grafanaOffsets(p, map[string]string{"horizon": h})
			if err != nil {
				s.t.Errorf("%s %q: %v", p.file, p.title, err)
				continue
			}
			from, to := now.Add(prodFrom/compressFactor), now.Add(prodTo/compressFactor)
			for _, q := range p.queries {
				if strings.Count(q.Expr, " offset $horizon") != 1 {
					continue
				}
				if _, ok := gainedIn(q.Expr); ok {
					continue
				}
				metric := firstMetric(q.Expr)
				if _, ok := reached[metric]; !ok {
					reached[metric] = false
				}
				if !to.Equal(now.Add(hc)) {
					continue
				}
				reached[metric] = true
				n, changed, err := s.checkFutureQuery(q, vals, now, from, to, hc)
				if errors.Is(err, errNotServed) {
					notServed = append(notServed, q.Panel+" "+q.Ref)
					continue
				}
				if err != nil {
					s.t.Errorf("horizon %s (%s here): %s: %v", h, ch, q, err)
					continue
				}
				checked++
				points += n
				if changed {
					varying++
				}
			}
		}
		for metric, ok := range reached {
			if !ok {
				s.t.Errorf("horizon %s: no dashboard panel draws %s up to now + the horizon", h, metric)
			}
		}
		if checked == 0 || varying == 0 {
			s.t.Errorf("horizon %s: %d forecast queries checked, %d of them changing over the compared span: the check is vacuous",
				h, checked, varying)
		}
		s.logf("dashboards, horizon %s (%s): %d forecast queries return the forecast made %s earlier up to now+%s, %d points after now (%d changing); not served at this horizon yet: %v",
			h, ch, checked, ch, ch, points, varying, notServed)
	}
}

// errNotServed is checkFutureQuery's answer for a forecast the exporter has not served at the horizon during the
// compared span (it is still warming up there): there is nothing to draw.
var errNotServed = errors.New("forecast not served at this horizon")

// checkFutureQuery runs one forecast query of a panel over its range [from, to], to = now + horizon, and compares
// it with the unshifted forecast; it returns the number of points after now and whether the compared forecast
// changed.
func (s *stack) checkFutureQuery(q dashQuery, vals map[string]string, now, from, to time.Time, horizon time.Duration) (int, bool, error) {
	prepare := func(expr string) (string, error) {
		comp, _, err := compressExpr(expr, compressFactor)
		if err != nil {
			return "", err
		}
		return substituteVariables(comp, vals)
	}
	shifted, err := prepare(q.Expr)
	if err != nil {
		return 0, false, err
	}
	unshifted, err := prepare(strings.Replace(q.Expr, " offset $horizon", "", 1))
	if err != nil {
		return 0, false, err
	}
	step := scrapeEvery
	fut, err := s.prom.queryRange(s.ctx, shifted, from, to, step)
	if err != nil {
		return 0, false, err
	}
	past, err := s.prom.queryRange(s.ctx, unshifted, from.Add(-horizon), to.Add(-horizon), step)
	if err != nil {
		return 0, false, err
	}
	if len(past) == 0 {
		return 0, false, errNotServed
	}
	if len(fut) == 0 {
		return 0, false, fmt.Errorf("no series over %v to %v", from.Format(time.StampMilli), to.Format(time.StampMilli))
	}
	byKey := map[string]rangeSeries{}
	for _, p := range past {
		byKey[seriesKey(p.Metric)] = p
	}
	nowMs, endMs, settled := now.UnixMilli(), to.UnixMilli(), now.Add(-futureSettle).UnixMilli()
	var errs []error
	after, changed := 0, false
	for _, f := range fut {
		p, ok := byKey[seriesKey(f.Metric)]
		if !ok {
			errs = append(errs, fmt.Errorf("series %v drawn ahead has no unshifted counterpart", f.Metric))
			continue
		}
		n := 0
		for _, t := range f.Times {
			if t > nowMs {
				n++
			}
		}
		after += n
		if n == 0 || f.Times[len(f.Times)-1] != endMs {
			errs = append(errs, fmt.Errorf("series %v: %d points after now, last at now%+v; want points up to now+%v",
				f.Metric, n, time.Duration(f.Times[len(f.Times)-1]-nowMs)*time.Millisecond, horizon))
		}
		var seen []float64
		hms := horizon.Milliseconds()
		for _, t := range f.Times { // each point drawn after now is the forecast made a horizon earlier
			if t <= nowMs || t-hms > settled {
				continue
			}
			fv := f.Points[t]
			if pv, ok := p.Points[t-hms]; !ok || !sameValue(fv, pv) {
				errs = append(errs, fmt.Errorf("series %v at now%+v: drawn %v, the forecast made %v earlier %v (present %v)",
					f.Metric, time.Duration(t-nowMs)*time.Millisecond, fv, horizon, pv, ok))
				break
			}
			if !slices.Contains(seen, fv) {
				seen = append(seen, fv)
			}
		}
		for _, t := range p.Times { // and each forecast made in the compared span is drawn
			if t+hms <= nowMs || t > settled {
				continue
			}
			if _, ok := f.Points[t+hms]; !ok {
				errs = append(errs, fmt.Errorf("series %v: the forecast made at now%+v is not drawn at now%+v",
					f.Metric, time.Duration(t-nowMs)*time.Millisecond, time.Duration(t+hms-nowMs)*time.Millisecond))
				break
			}
		}
		changed = changed || len(seen) > 1
	}
	return after, changed, errors.Join(errs...)
}

// sameValue compares two sample values, NaN equal to NaN.
func sameValue(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// firstMetric returns the first metric name of a dashboard query (the one before its first {).
func firstMetric(expr string) string {
	ts, err := lexPromQL(expr)
	if err != nil {
		return expr
	}
	for i, t := range ts {
		if j := nextSignificant(ts, i); t.kind == tokIdent && j >= 0 && ts[j].text == "{" {
			return t.text
		}
	}
	return expr
}
