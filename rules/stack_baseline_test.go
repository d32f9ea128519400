package rules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// mustQuery runs an instant query, failing the test on an API error.
func (s *stack) mustQuery(expr string) []sample {
	s.t.Helper()
	v, err := s.prom.query(s.ctx, expr)
	if err != nil {
		s.fatalf("%v", err)
	}
	return v
}

// waitUp waits for Prometheus to have scraped the exporter successfully.
func (s *stack) waitUp() {
	s.t.Helper()
	deadline := time.Now().Add(upTimeout)
	expr := fmt.Sprintf(`up{job=%q, instance=%q}`, stackJob, s.inst)
	for {
		s.watch()
		if v := s.mustQuery(expr); len(v) == 1 && v[0].Value == 1 {
			s.upAt = time.Now()
			s.logf("target is up: %s", expr)
			return
		}
		if time.Now().After(deadline) {
			s.fatalf("target not up after %v: %s", upTimeout, expr)
		}
		s.sleep(pollEvery)
	}
}

// memoryGate is the shipped trust gate for the memory forecast, through the recording rule that applies it.
const memoryGate = `instance:servermon_forecast_seconds_until_threshold:trusted{target="memory_usage_ratio"}`

// baseline runs the steady baseline until the memory forecast has been trusted (the gate open) for longer than the
// longest compressed `for:` of the forecast alerts, then checks that no forecast alert fired and the webhook got
// no forecast alert.
func (s *stack) baseline() {
	s.t.Helper()
	const slack = 2 * time.Second // an evaluation, a scrape and our poll
	quiet := slack
	for _, r := range s.compAlerts {
		if d, err := model.ParseDuration(r.For); err == nil && s.forecastSet[r.Alert] && time.Duration(d)+slack > quiet {
			quiet = time.Duration(d) + slack
		}
	}
	s.logf("baseline: waiting for the memory forecast to be trusted for %v", quiet)
	deadline := s.upAt.Add(baselineMax)
	var openSince time.Time
	lastProgress := time.Time{}
	for {
		s.watch()
		open := len(s.mustQuery(memoryGate)) > 0
		switch {
		case open && openSince.IsZero():
			openSince = time.Now()
			s.logf("baseline: the memory forecast is trusted (gate open)")
		case !open && !openSince.IsZero():
			s.logf("baseline: the memory forecast is no longer trusted")
			openSince = time.Time{}
		}
		if time.Since(lastProgress) >= 5*time.Second {
			s.logProgress()
			lastProgress = time.Now()
		}
		if open && time.Since(openSince) >= quiet {
			break
		}
		if time.Now().After(deadline) {
			s.fatalf("baseline: the memory forecast was not trusted for %v within %v of the first scrape, so "+
				"'no forecast alert on the baseline' would be vacuous", quiet, baselineMax)
		}
		s.sleep(pollEvery)
	}
	for _, target := range []string{"cpu_usage_ratio", "disk_utilization_ratio", "swap_usage_ratio"} {
		trusted := s.mustQuery(`instance:servermon_forecast_seconds_until_threshold:trusted{target="` + target + `"}`)
		s.logf("baseline: %s forecasts trusted at the end of the baseline: %d", target, len(trusted))
	}
	window := time.Since(s.upAt).Round(time.Second) + time.Second
	fired := s.mustQuery(fmt.Sprintf(`max_over_time(ALERTS{alertstate="firing", alertname=~%q}[%s])`,
		alternation(s.forecastSet), window))
	stalls, longest := s.fake.stallsSince(s.upAt)
	s.logf("baseline: the fake /proc driver stalled %d times for more than %v (longest %v)", stalls, stallGap, longest)
	for _, a := range fired {
		if a.Metric["device"] != "" && stalls > 0 {
			// Disk rates are counter differences over wall time: a stalled driver made them jump.
			s.logf("baseline: NOT COUNTED, as the fake /proc stalled: forecast alert fired during the steady "+
				"baseline: %v", a.Metric)
			continue
		}
		s.t.Errorf("forecast alert fired during the steady baseline: %v", a.Metric)
	}
	pending := s.mustQuery(fmt.Sprintf(`max_over_time(ALERTS{alertstate="pending"}[%s])`, window))
	for _, a := range pending {
		s.logf("baseline: pending at some point (did not fire): %s", alertKey(a.Metric))
	}
	for _, n := range s.hook.notifications() {
		for _, a := range n.Alerts {
			if s.forecastSet[a.Labels["alertname"]] && (a.Labels["device"] == "" || stalls == 0) {
				s.t.Errorf("the webhook got a forecast alert during the baseline: %s %v", a.Status, a.Labels)
			}
		}
	}
	s.logf("baseline: done after %v; %d forecast alerts fired", time.Since(s.upAt).Round(time.Second), len(fired))
}

// logProgress logs the memory forecast's state, for diagnosing a slow or silent scenario.
func (s *stack) logProgress() {
	s.t.Helper()
	get := func(expr string) string {
		v, err := s.prom.query(s.ctx, expr)
		if err != nil || len(v) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3g", v[0].Value)
	}
	s.logf("memory: usage %s, ETA %ss, error ratio %s %s, history %ss; cpu %s, %s %s",
		get(`servermon_memory_usage_ratio`),
		get(`servermon_forecast_seconds_until_threshold{target="memory_usage_ratio"}`),
		s.horizon, get(`servermon_forecast_error_ratio{target="memory_usage_ratio", horizon="`+s.horizon+`"}`),
		get(`servermon_forecast_history_seconds{target="memory_usage_ratio"}`),
		get(`servermon_cpu_usage_ratio`), busyDevice,
		get(`servermon_disk_utilization_ratio{device="`+busyDevice+`"}`))
}

// alternation returns a regexp matching exactly the names in set.
func alternation(set map[string]bool) string {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}
