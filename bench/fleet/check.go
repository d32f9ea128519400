package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/servermon/servermon_exporter/internal/dashquery"
	"go.yaml.in/yaml/v3"
)

// What the run checks at its end: the alerts of every rule against the scenarios, the fleet records and the fleet
// dashboard's queries.
//
// What counts as an alert: a series of ALERTS, pending or firing. The rules' `for:` (5 minutes to 1 hour) cannot
// all elapse in a run of minutes, and whether an alert is pending or firing is only a matter of time once its
// expression holds; what the run can check is that the expression holds exactly for the scenario's hosts. So an
// alert counts as raised on a host if its ALERTS series existed at any evaluation since the rules were loaded
// (max_over_time over the whole rule phase): every one of them on a host the scenario does not expect is a false
// positive, however short. An expected alert counts as found if it is still pending or firing at the end of the
// run: one that came and went is a miss.

// alertRule is an alerting rule of the shipped file: its name and severity.
type alertRule struct {
	name, severity, group string
}

// loadAlertRules reads the alerting rules of a rule file.
func loadAlertRules(path string) ([]alertRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert  string
				Labels map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, alertRule{name: r.Alert, severity: r.Labels["severity"], group: g.Name})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no alerting rule", path)
	}
	return out, nil
}

// alertID is one alert on one host: the rule, the host and the target (or collector) it is about.
type alertID struct {
	name, severity, instance, detail string
}

// alertScore is one rule's alerts against the scenarios.
type alertScore struct {
	rule                       alertRule
	expected, seen, active     int
	truePositives, found       int // seen and expected; active at the end and expected
	firing                     int // active and firing at the end
	falsePositives, missed     []string
	firstSeen                  time.Duration // after the rules were loaded, the latest of the expected alerts' first appearances
	theirSeen, theirTP, theirA int           // the node-mixin-style equivalent: seen, seen and expected, active and expected
}

func (s alertScore) precision() float64 { return ratio(s.truePositives, s.seen, 1) }
func (s alertScore) recall() float64    { return ratio(s.found, s.expected, math.NaN()) }

func ratio(a, b int, none float64) float64 {
	if b == 0 {
		return none
	}
	return float64(a) / float64(b)
}

// alertSets are the alerts seen during the rule phase and active at its end.
type alertSets struct {
	seen, active, firing map[alertID]bool
}

// alertDetail is the label that tells an alert's subject apart on a host.
func alertDetail(l map[string]string) string {
	if c := l["collector"]; c != "" {
		return c
	}
	return l["target"]
}

// fetchAlerts queries the ALERTS series of the alerts matching re, at end, seen since start.
func fetchAlerts(ctx context.Context, p *prom, re string, start, end time.Time) (alertSets, error) {
	window := int(math.Ceil(end.Sub(start).Seconds()))
	sets := alertSets{seen: map[alertID]bool{}, active: map[alertID]bool{}, firing: map[alertID]bool{}}
	id := func(l map[string]string) alertID {
		return alertID{l["alertname"], l["severity"], l["instance"], alertDetail(l)}
	}
	seen, err := p.query(ctx, fmt.Sprintf(`max_over_time(ALERTS{alertname=~%q}[%ds])`, re, window), end)
	if err != nil {
		return sets, err
	}
	for _, s := range seen {
		sets.seen[id(s.labels)] = true
	}
	active, err := p.query(ctx, fmt.Sprintf(`ALERTS{alertname=~%q}`, re), end)
	if err != nil {
		return sets, err
	}
	for _, s := range active {
		sets.active[id(s.labels)] = true
		if s.labels["alertstate"] == "firing" {
			sets.firing[id(s.labels)] = true
		}
	}
	return sets, nil
}

// expectedSet is every alert the scenarios raise.
func expectedSet(hosts []*host) map[alertID]bool {
	out := map[alertID]bool{}
	for _, h := range hosts {
		for _, e := range expectedAlerts[h.kind] {
			out[alertID{e.name, e.severity, h.instance, e.detail}] = true
		}
	}
	return out
}

// scoreAlerts scores every rule, ours against the scenarios, and its node-mixin-style equivalent where there is one.
func scoreAlerts(rules []alertRule, expected map[alertID]bool, ours, theirs alertSets, first map[alertID]time.Duration,
	names map[string]string) []alertScore {
	var out []alertScore
	for _, r := range rules {
		s := alertScore{rule: r}
		mine := func(id alertID) bool { return id.name == r.name && id.severity == r.severity }
		for id := range expected {
			if !mine(id) {
				continue
			}
			s.expected++
			if ours.active[id] {
				s.found++
				s.firstSeen = max(s.firstSeen, first[id])
			} else {
				s.missed = append(s.missed, names[id.instance]+" "+id.detail)
			}
		}
		for id := range ours.seen {
			if !mine(id) {
				continue
			}
			s.seen++
			if expected[id] {
				s.truePositives++
			} else {
				s.falsePositives = append(s.falsePositives, names[id.instance]+" "+id.detail)
			}
		}
		for id := range ours.active {
			if mine(id) {
				s.active++
				if ours.firing[id] {
					s.firing++
				}
			}
		}
		// Theirs have no target label: a host counts once per rule.
		theirName := theirAlert(r.name)
		wantDetail := ""
		if r.name == "ServermonFilesystemFillingUp" {
			wantDetail = "filesystem_usage_ratio"
		}
		expHosts := map[string]bool{}
		for id := range expected {
			if mine(id) && (wantDetail == "" || id.detail == wantDetail) {
				expHosts[id.instance] = true
			}
		}
		for id := range theirs.seen {
			if id.name == theirName && id.severity == r.severity {
				s.theirSeen++
				if expHosts[id.instance] {
					s.theirTP++
				}
			}
		}
		for id := range theirs.active {
			if id.name == theirName && id.severity == r.severity && expHosts[id.instance] {
				s.theirA++
			}
		}
		slices.Sort(s.falsePositives)
		slices.Sort(s.missed)
		out = append(out, s)
	}
	return out
}

// check is one check of a fleet record or a dashboard query.
type check struct {
	what, want, got string
	ok              bool
	info            bool // reported, not judged
}

// checker runs queries at one time and collects checks.
type checker struct {
	ctx    context.Context
	p      *prom
	at     time.Time
	checks []check
	names  map[string]string // instance → host name
}

func (c *checker) add(what, want, got string, ok bool) {
	c.checks = append(c.checks, check{what: what, want: want, got: got, ok: ok})
}

func (c *checker) info(what, got string) {
	c.checks = append(c.checks, check{what: what, want: "-", got: got, ok: true, info: true})
}

// query runs expr, recording a failed check when it fails.
func (c *checker) query(what, expr string) ([]sample, bool) {
	s, err := c.p.query(c.ctx, expr, c.at)
	if err != nil {
		c.add(what, "a result", err.Error(), false)
		return nil, false
	}
	return s, true
}

// count checks that expr returns one sample of value want.
func (c *checker) count(what, expr string, want float64) {
	s, ok := c.query(what, expr)
	if !ok {
		return
	}
	got := "no data"
	if len(s) == 1 {
		got = fmtValue(s[0].value)
	} else if len(s) > 1 {
		got = fmt.Sprintf("%d samples", len(s))
	}
	c.add(what, fmtValue(want), got, len(s) == 1 && s[0].value == want)
}

// near checks that expr returns one sample within tol of want.
func (c *checker) near(what, expr string, want, tol float64) {
	s, ok := c.query(what, expr)
	if !ok {
		return
	}
	got := "no data"
	if len(s) == 1 {
		got = fmt.Sprintf("%.4f", s[0].value)
	}
	c.add(what, fmt.Sprintf("%.4f ± %g", want, tol), got, len(s) == 1 && math.Abs(s[0].value-want) <= tol)
}

// set checks that the samples of expr are exactly the keys want, keyed by key.
func (c *checker) set(what, expr string, want map[string]bool, key func(map[string]string) string) {
	s, ok := c.query(what, expr)
	if !ok {
		return
	}
	got := map[string]bool{}
	for _, x := range s {
		got[key(x.labels)] = true
	}
	var extra, miss []string
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	for k := range want {
		if !got[k] {
			miss = append(miss, k)
		}
	}
	sort.Strings(extra)
	sort.Strings(miss)
	desc := fmt.Sprintf("%d series", len(got))
	if len(extra) > 0 {
		desc += "; unexpected: " + abbreviate(extra)
	}
	if len(miss) > 0 {
		desc += "; missing: " + abbreviate(miss)
	}
	c.add(what, fmt.Sprintf("%d series", len(want)), desc, len(extra) == 0 && len(miss) == 0)
}

// hostTarget keys a sample by its host's name and target.
func (c *checker) hostTarget(l map[string]string) string {
	return c.names[l["instance"]] + " " + l["target"]
}

func abbreviate(xs []string) string {
	if len(xs) > 4 {
		return strings.Join(xs[:4], ", ") + fmt.Sprintf(" (+%d more)", len(xs)-4)
	}
	return strings.Join(xs, ", ")
}

func fmtValue(v float64) string { return fmt.Sprintf("%g", v) }

// fleetTruth is what the scenarios say of the fleet at the end of the run.
type fleetTruth struct {
	hosts, up, down, atRisk int
	atRiskPairs             map[string]bool // host name and target
	atRiskTargets           map[string]bool
	fillHosts               map[string]bool // host name and target filesystem_usage_ratio
	fsETA                   float64         // the filling hosts' time until the threshold on their trend, seconds
	cpuMean, memMean        float64         // the observed fleet means over the last minute
	memAhead                float64         // the fleet mean of memory an hour later
}

func (m model) truth(hosts []*host, filesystems bool, at time.Time) fleetTruth {
	t := fleetTruth{hosts: len(hosts), atRiskPairs: map[string]bool{}, atRiskTargets: map[string]bool{}, fillHosts: map[string]bool{},
		fsETA: math.Inf(1)}
	var cpu, mem, ahead float64
	for _, h := range hosts {
		if h.kind == down {
			t.down++
			continue
		}
		t.up++
		if len(atRiskTargets[h.kind]) > 0 {
			t.atRisk++
		}
		for _, tg := range atRiskTargets[h.kind] {
			t.atRiskPairs[hostName(h.index)+" "+tg] = true
			t.atRiskTargets[tg] = true
		}
		if h.kind == fill && filesystems {
			t.fillHosts[hostName(h.index)+" filesystem_usage_ratio"] = true
			t.fsETA = (fsThreshold - (fill0 + fillPerHour*m.hours(at))) / fillPerHour * 3600
		}
		for k := range 4 {
			l := m.levels(h.kind, h.index, at.Add(-time.Duration(k+1)*quarter))
			cpu += l.cpu / 4
			mem += usedRatio(memTotalKB, l.mem) / 4
			ahead += m.levels(h.kind, h.index, at.Add(time.Hour-time.Duration(k)*quarter)).mem / 4
		}
	}
	t.cpuMean, t.memMean, t.memAhead = cpu/float64(t.up), mem/float64(t.up), ahead/float64(t.up)
	return t
}

// checkRecords checks the fleet recording rules against the scenarios.
func (c *checker) checkRecords(t fleetTruth, filesystems bool) {
	c.count("job:servermon_hosts:count", `job:servermon_hosts:count{job="servermon"}`, float64(t.up))
	c.count("job:servermon_hosts_at_risk:count", `job:servermon_hosts_at_risk:count{job="servermon"}`, float64(t.atRisk))
	c.set("instance:servermon_forecast_seconds_until_threshold:trusted < 24h",
		`instance:servermon_forecast_seconds_until_threshold:trusted < 86400`, t.atRiskPairs, c.hostTarget)
	// Every target with a host at risk has its soonest ETA under 24 h; the others have none under 24 h.
	s, ok := c.query("job_target:servermon_forecast_seconds_until_threshold:min", `job_target:servermon_forecast_seconds_until_threshold:min{job="servermon"}`)
	if ok {
		under := map[string]bool{}
		for _, x := range s {
			if x.value < 86400 {
				under["servermon "+x.labels["target"]] = true
			}
		}
		want := map[string]bool{}
		for tg := range t.atRiskTargets {
			want["servermon "+tg] = true
		}
		c.add("job_target:servermon_forecast_seconds_until_threshold:min < 24h", keys(want), keys(under), equalSets(want, under))
	}
	if filesystems {
		c.near("job:servermon_filesystem_seconds_until_threshold:min (trend ETA of the filling hosts)",
			`job:servermon_filesystem_seconds_until_threshold:min{job="servermon"}`, t.fsETA, 0.35*t.fsETA)
	}
	// The anomalous hosts, against the same count taken from the raw series at the record's own evaluation time.
	if ts, ok := c.query("job:servermon_hosts_anomalous:count", `timestamp(job:servermon_hosts_anomalous:count{job="servermon"})`); ok && len(ts) == 1 {
		at := time.UnixMilli(int64(ts[0].value * 1000))
		raw, err := c.p.scalar(c.ctx, `count(count by (instance) (servermon_anomalous == 1
			and on (job, instance, target, device, mountpoint) servermon_forecast_error_ratio{horizon="1h"} < 1
			and on (job, instance, target, device, mountpoint) servermon_forecast_history_seconds >= 21600)) or vector(0)`, at)
		if err != nil {
			c.add("job:servermon_hosts_anomalous:count", "a result", err.Error(), false)
		} else {
			rec, err := c.p.scalar(c.ctx, `job:servermon_hosts_anomalous:count{job="servermon"}`, at)
			c.add("job:servermon_hosts_anomalous:count (= the raw series at its evaluation)", fmtValue(raw), fmtValue(rec), err == nil && rec == raw)
		}
	}
	c.near("job:servermon_cpu_usage_ratio:avg (fleet mean, observed)", `job:servermon_cpu_usage_ratio:avg{job="servermon"}`, t.cpuMean, 0.01)
	c.near("job:servermon_memory_usage_ratio:avg (fleet mean, observed)", `job:servermon_memory_usage_ratio:avg{job="servermon"}`, t.memMean, 0.005)
	c.near("job:servermon_forecast_memory_usage_ratio:avg, 1h point (the scenarios an hour on)",
		`job:servermon_forecast_memory_usage_ratio:avg{job="servermon",horizon="1h",bound="point"}`, t.memAhead, 0.02)
	// The exporters' own series: every up host holds 6 h of history in every forecast (the backfill), and its live
	// servermon_anomalous series are the seeded ones continued (the anomaly alert's 15 m window holds 60 samples).
	c.count("hosts with >= 6h of history in every forecast", `count(min by (instance) (servermon_forecast_history_seconds) >= 21600)`, float64(t.up))
	n := len(targetLabels(filesystems))
	c.count(fmt.Sprintf("hosts with %d servermon_anomalous series, live", n), fmt.Sprintf(`count(count by (instance) (servermon_anomalous) == %d)`, n), float64(t.up))
	c.count(fmt.Sprintf("hosts with %d servermon_anomalous series, seeded and live together", n),
		fmt.Sprintf(`count(count by (instance) (count_over_time(servermon_anomalous[2h])) == %d)`, n), float64(t.up))
}

func keys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, strings.TrimPrefix(k, "servermon "))
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

var dashVariable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// substitute replaces Grafana's variables in expr.
func substitute(expr string, vals map[string]string) (string, error) {
	var missing []string
	out := dashVariable.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		if val, ok := vals[name]; ok {
			return val
		}
		missing = append(missing, name)
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for %v", missing)
	}
	return out, nil
}

// checkDashboard runs every query of the fleet dashboard with its default variables (every job and instance: the
// variables' ".+", the 1h horizon) and checks each against the scenarios. The queries shifted by the horizon
// ("offset $horizon", the forecast made a horizon ago) are run with the 5m horizon instead, the only one a run of
// minutes can have made, when the rule phase lasted longer than that; anomalous is the record's value.
func (c *checker) checkDashboard(path string, t fleetTruth, anomalous float64, phase time.Duration) error {
	queries, err := dashquery.Load(path)
	if err != nil {
		return err
	}
	for _, q := range queries {
		vals := map[string]string{"job": ".+", "instance": ".+", "horizon": "1h"}
		what := fmt.Sprintf("dashboard %q %s", q.Panel, q.Ref)
		shifted := strings.Contains(q.Expr, "offset $horizon")
		if shifted {
			if phase < 6*time.Minute {
				c.info(what, "not run: a forecast a horizon old needs a rule phase longer than 5m")
				continue
			}
			vals["horizon"] = "5m"
			what += " (horizon 5m)"
		}
		expr, err := substitute(q.Expr, vals)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		switch {
		case q.Panel == "Hosts":
			c.count(what, expr, float64(t.up))
		case q.Panel == "Hosts at risk" || q.Panel == "Hosts at risk and anomalous" && q.Ref == "A":
			c.count(what, expr, float64(t.atRisk))
		case q.Panel == "Hosts anomalous" || q.Panel == "Hosts at risk and anomalous" && q.Ref == "B":
			c.count(what, expr, anomalous)
		case q.Panel == "Exporters down":
			c.count(what, expr, float64(t.down))
		case q.Panel == "Soonest time until threshold (trusted forecasts)":
			c.set(what+", rows under 24h", "("+expr+") < 86400", t.atRiskPairs, c.hostTarget)
		case q.Panel == "Highest anomaly scores":
			n, err := c.p.scalar(c.ctx, "count(servermon_anomaly_score)", c.at)
			if err != nil {
				return err
			}
			s, ok := c.query(what, expr)
			if ok {
				c.add(what+", rows", fmtValue(min(50, n)), fmt.Sprint(len(s)), float64(len(s)) == min(50, n))
			}
		case q.Panel == "Forecasts worse than naive":
			if s, ok := c.query(what, expr); ok {
				var rows []string
				for _, x := range s {
					rows = append(rows, c.hostTarget(x.labels))
				}
				sort.Strings(rows)
				c.info(what+", rows", fmt.Sprintf("%d %s", len(rows), abbreviate(rows)))
			}
		case q.Panel == "Soonest disk full (trusted)":
			if len(t.fillHosts) == 0 {
				c.info(what, "no filesystem fills in this run")
				continue
			}
			c.near(what, expr, t.fsETA, 0.35*t.fsETA)
		case q.Panel == "Filesystems filling up soonest (trusted forecasts)":
			c.set(what+", rows under 24h", "("+expr+") < 86400", t.fillHosts, c.hostTarget)
		case q.Panel == "Worst trusted time until threshold":
			want := map[string]bool{}
			for tg := range t.atRiskTargets {
				want[tg] = true
			}
			c.set(what+", targets under 24h", "("+expr+") < 86400", want, func(l map[string]string) string { return l["target"] })
		case strings.HasPrefix(q.Panel, "Fleet CPU usage") && !shifted:
			c.near(what, expr, t.cpuMean, 0.01)
		case strings.HasPrefix(q.Panel, "Fleet memory usage") && !shifted:
			c.near(what, expr, t.memMean, 0.005)
		case shifted:
			// The fleet mean of the forecast made 5 minutes ago: one series, a ratio.
			s, ok := c.query(what, expr)
			if ok {
				c.add(what, "1 series in [0, 1]", fmt.Sprintf("%d series", len(s)), len(s) == 1 && s[0].value >= 0 && s[0].value <= 1)
			}
		default:
			return fmt.Errorf("%s: the fleet run has no expectation for this panel; add one to checkDashboard", what)
		}
	}
	return nil
}
