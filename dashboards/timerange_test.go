package dashboards

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana's time range of a panel, re-implemented from its source for the relative forms these dashboards use, so
// that the tests can tell where a panel's range ends without a Grafana (none can be installed here). The functions
// follow grafana/grafana:
//   - applyPanelTimeOverrides (public/app/features/dashboard/utils/panel.ts) and PanelTimeRange.getTimeOverride
//     (public/app/features/dashboard-scene/scene/PanelTimeRange.tsx): interpolate timeFrom and timeShift, then a
//     relative time replaces the range (only while the dashboard's range is relative), and a time shift applies
//     "-" + the shift to both ends;
//   - describeTextRange (packages/grafana-data/src/datetime/rangeutil.ts): "X" is now-X to now, "+X" is now to
//     now+X, valid when it matches ^now([-+])(\d+)(unit);
//   - parseDateMath (packages/grafana-data/src/datetime/datemath.ts): a sequence of an operator (+, -, /), an
//     optional number and one unit letter; anything else is undefined, which leaves the panel without a range.
// Calendar units (M, Q, y) and rounding (/) are refused: the dashboards do not use them.

// grafanaInterpolate replaces $name and ${name} as Grafana's template service does for single-valued variables.
func grafanaInterpolate(s string, vars map[string]string) (string, error) {
	var missing []string
	out := regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`).ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q: no value for %v", s, missing)
	}
	return out, nil
}

var dateMathUnits = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

// parseDateMath applies a date math string such as "+1h-5m" to t.
func parseDateMath(math string, t time.Time) (time.Time, error) {
	s := strings.ReplaceAll(math, " ", "")
	for i := 0; i < len(s); {
		var sign time.Duration
		switch s[i] {
		case '+':
			sign = 1
		case '-':
			sign = -1
		default:
			return time.Time{}, fmt.Errorf("date math %q: %q at %d is not + or -", math, s[i], i)
		}
		i++
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n := 1
		if j > i {
			n, _ = strconv.Atoi(s[i:j])
		}
		if j >= len(s) {
			return time.Time{}, fmt.Errorf("date math %q: no unit", math)
		}
		unit, ok := dateMathUnits[s[j]]
		if !ok {
			return time.Time{}, fmt.Errorf("date math %q: %q is not a unit Grafana parses here", math, s[j])
		}
		t = t.Add(sign * time.Duration(n) * unit)
		i = j + 1
	}
	return t, nil
}

// parseRelative parses "now" followed by date math.
func parseRelative(s string, now time.Time) (time.Time, error) {
	rest, ok := strings.CutPrefix(s, "now")
	if !ok {
		return time.Time{}, fmt.Errorf("%q is not relative to now", s)
	}
	return parseDateMath(rest, now)
}

var textRangeRe = regexp.MustCompile(`^now([-+])(\d+)(f[Qy]|[yMwdhmsQ])`)

// describeTextRange returns the range a panel's relative time stands for, like Grafana's rangeutil function.
func describeTextRange(expr string) (from, to string, err error) {
	isLast := !strings.HasPrefix(expr, "+")
	if !strings.Contains(expr, "now") {
		if isLast {
			expr = "now-" + expr
		} else {
			expr = "now" + expr
		}
	}
	if !textRangeRe.MatchString(expr) {
		return "", "", fmt.Errorf("%q is not a valid relative time", expr)
	}
	if isLast {
		return expr, "now", nil
	}
	return "now", expr, nil
}

// panelRange is the range Grafana queries for a panel at time now, on a dashboard whose (relative) range is
// dashFrom to dashTo.
func panelRange(dashFrom, dashTo string, p panel, vars map[string]string, now time.Time) (from, to time.Time, err error) {
	if from, err = parseRelative(dashFrom, now); err != nil {
		return
	}
	if to, err = parseRelative(dashTo, now); err != nil {
		return
	}
	if p.TimeFrom != "" {
		tf, err := grafanaInterpolate(p.TimeFrom, vars)
		if err != nil {
			return from, to, err
		}
		f, t, err := describeTextRange(tf)
		if err != nil {
			return from, to, err
		}
		if from, err = parseRelative(f, now); err != nil {
			return from, to, err
		}
		if to, err = parseRelative(t, now); err != nil {
			return from, to, err
		}
	}
	if p.TimeShift != "" {
		ts, err := grafanaInterpolate(p.TimeShift, vars)
		if err != nil {
			return from, to, err
		}
		if _, _, err := describeTextRange(ts); err != nil {
			return from, to, err
		}
		if from, err = parseDateMath("-"+ts, from); err != nil {
			return from, to, err
		}
		if to, err = parseDateMath("-"+ts, to); err != nil {
			return from, to, err
		}
	}
	if !to.After(from) {
		return from, to, errors.New("empty range")
	}
	return from, to, nil
}

func TestPanelRange(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	vars := map[string]string{"horizon": "6h"}
	cases := []struct {
		timeFrom, timeShift string
		from, to            time.Duration // from now; both 0 means an error
	}{
		{"", "", -6 * time.Hour, time.Hour}, // the dashboard's range: the 6h forecast is cut at now+1h
		{"+$horizon", "", 0, 6 * time.Hour},
		{"${horizon}", "", -6 * time.Hour, 0},
		{"", "2h", -8 * time.Hour, -time.Hour},
		{"+5m", "", 0, 5 * time.Minute},
		{"", "-$horizon", 0, 0},    // Grafana makes it "--6h": no forward shift
		{"+1h30m", "", 0, 0},       // dateMath stops at the second number
		{"+$horizon+$x", "", 0, 0}, // unknown variable
	}
	for _, c := range cases {
		from, to, err := panelRange("now-6h", "now+1h", panel{TimeFrom: c.timeFrom, TimeShift: c.timeShift}, vars, now)
		if c.from == 0 && c.to == 0 {
			if err == nil {
				t.Errorf("from %q shift %q: range %v to %v, want an error", c.timeFrom, c.timeShift, from, to)
			}
			continue
		}
		if err != nil || !from.Equal(now.Add(c.from)) || !to.Equal(now.Add(c.to)) {
			t.Errorf("from %q shift %q: %v to %v (%v), want now%+v to now%+v", c.timeFrom, c.timeShift, from, to, err, c.from, c.to)
		}
	}
}

// horizonsToCheck are the exporter's default horizons (forecast.DefaultConfig: 5m, 1h, 6h, 24h) and two others
// spelt as the exporter spells horizon labels (exposition.FormatDuration: one number, one unit).
var horizonsToCheck = []string{"5m", "1h", "6h", "24h", "90m", "48h"}

// forecastMetric returns the name of the first selector of a forecast query.
func forecastMetric(t *testing.T, where, expr string) string {
	t.Helper()
	e := parseQuery(t, where, expr)
	name := ""
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && name == "" {
			name = vs.Name
		}
		return nil
	})
	return name
}

// TestForecastReachesHorizon checks, with Grafana's time-range rules, that for every horizon each forecast drawn
// shifted by $horizon has a panel whose range ends exactly at now + the horizon, that no forecast panel's range ends
// before now, and that no panel shifts its time (a shift would move the past with it, and cannot go forward).
func TestForecastReachesHorizon(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, b := range committed(t) {
		if !strings.HasPrefix(b.Time.To, "now+") {
			t.Errorf("%s: dashboard range ends at %q, want some time after now", name, b.Time.To)
		}
		for _, h := range horizonsToCheck {
			hd, err := time.ParseDuration(h)
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"horizon": h}
			reached := map[string]bool{}
			for _, p := range b.allPanels() {
				if p.TimeShift != "" {
					t.Errorf("%s: panel %q shifts its time by %q", name, p.Title, p.TimeShift)
				}
				for _, q := range p.Targets {
					if !strings.Contains(q.Expr, "offset $horizon") {
						continue
					}
					where := fmt.Sprintf("%s: panel %q %s (horizon %s)", name, p.Title, q.RefID, h)
					metric := forecastMetric(t, where, q.Expr)
					if _, ok := reached[metric]; !ok {
						reached[metric] = false
					}
					from, to, err := panelRange(b.Time.From, b.Time.To, p, vars, now)
					switch {
					case err != nil:
						t.Errorf("%s: Grafana would not give it a range: %v", where, err)
					case !to.After(now) || from.After(now):
						t.Errorf("%s: range %v to %v does not contain now and the future", where, from.Sub(now), to.Sub(now))
					case to.Equal(now.Add(hd)):
						reached[metric] = true
					}
				}
			}
			if len(reached) == 0 {
				t.Errorf("%s: no forecast query shifted by $horizon", name)
			}
			for metric, ok := range reached {
				if !ok {
					t.Errorf("%s: with horizon %s no panel draws %s up to now + %s", name, h, metric, h)
				}
			}
		}
	}
}
