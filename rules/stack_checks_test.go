package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/servermon/servermon_exporter/internal/exposition"
)

// dashboardValues are the values the stack test gives Grafana's variables: the scrape job, the exporter, the busy
// disk, the root filesystem, the compressed 1h horizon (the dashboards' default), and Grafana's interval variables
// for a 1 s scrape.
func (s *stack) dashboardValues() map[string]string {
	return map[string]string{
		"job": stackJob, "instance": s.inst, "device": busyDevice, "mountpoint": stackMountpoint, "horizon": s.horizon,
		"datasource": "prometheus", "__rate_interval": (4 * scrapeEvery).String(),
		"__interval": scrapeEvery.String(), "__range": "1m",
	}
}

// prepareQueries compresses every dashboard query like the rules (a literal horizon="1h" becomes the compressed
// horizon) and substitutes the variables.
func (s *stack) prepareQueries() []preparedQuery {
	s.t.Helper()
	vals := s.dashboardValues()
	found := map[string]bool{}
	var out []preparedQuery
	for _, q := range loadDashboardQueries(s.t) {
		comp, _, err := compressExpr(q.Expr, compressFactor)
		if err != nil {
			s.t.Errorf("dashboard query %s: %v", q, err)
			continue
		}
		expr, err := substituteVariables(comp, vals)
		if err != nil {
			s.t.Errorf("dashboard query %s: %v", q, err)
			continue
		}
		p, ok := phaseQueries[q.Panel]
		if !ok {
			p = phaseBaseline
		}
		found[q.Panel] = true
		g, _ := gainedIn(q.Expr)
		out = append(out, preparedQuery{dashQuery: q, run: expr, phase: p, gained: g, noData: withoutDataInTheStack[q.Panel]})
	}
	for title := range phaseQueries {
		if !found[title] {
			s.t.Errorf("phaseQueries lists panel %q, which no dashboard has any more", title)
		}
	}
	for title := range withoutDataInTheStack {
		if !found[title] {
			s.t.Errorf("withoutDataInTheStack lists panel %q, which no dashboard has any more", title)
		}
	}
	return out
}

// checkVariables checks that every template variable's label_values query finds values, among them the one the
// test substitutes.
func (s *stack) checkVariables() {
	s.t.Helper()
	vals := s.dashboardValues()
	for _, v := range loadDashboardVariables(s.t) {
		sel, err := substituteVariables(v.metric, vals)
		if err != nil {
			s.t.Errorf("variable %s: %v", v.name, err)
			continue
		}
		got, err := s.prom.labelValues(s.ctx, v.label, sel)
		if err != nil {
			s.fatalf("variable %s: %v", v.name, err)
		}
		if g, ok := gainedIn(v.metric); ok {
			if len(got) > 0 {
				s.t.Errorf("dashboard variable %s (%s) lists %v from %s: the exporter has it now, remove it from gainedInIssues10And11",
					v.name, v.file, got, g)
			}
			continue
		}
		want := vals[v.name]
		if v.name == "horizon" {
			// Every configured horizon, as soon as the target is up: before any forecast exists (the longest
			// horizon's forecast needs more history than the test runs).
			for _, h := range stackHorizons(s.t) {
				if h := exposition.FormatDuration(h); !slices.Contains(got, h) {
					s.t.Errorf("dashboard variable horizon (%s): label_values(%s, %s) = %v right after the first scrapes, want every configured horizon, %s among them",
						v.file, sel, v.label, got, h)
				}
			}
		}
		if v.name == "device" {
			// Devices appear with the first disk rates; wait for them.
			for i := 0; i < 40 && !slices.Contains(got, want); i++ {
				s.sleep(pollEvery)
				if got, err = s.prom.labelValues(s.ctx, v.label, sel); err != nil {
					s.fatalf("variable %s: %v", v.name, err)
				}
			}
		}
		if !slices.Contains(got, want) {
			s.t.Errorf("dashboard variable %s (%s): label_values(%s, %s) = %v, want %q among them",
				v.name, v.file, sel, v.label, got, want)
		}
	}
	s.logf("dashboard variables: every label_values query finds its value")
}

// checkDashboards runs the dashboard queries of phase p until each has returned data at least once, and fails
// for those that have not within wait.
func (s *stack) checkDashboards(p phase, wait time.Duration) {
	s.t.Helper()
	var pending []preparedQuery
	for _, q := range s.queries {
		if q.phase == p {
			pending = append(pending, q)
		}
	}
	total, gained, noData := len(pending), 0, 0
	for _, q := range pending {
		switch {
		case q.gained != (gainedSelector{}):
			gained++
		case q.noData != "":
			noData++
		}
	}
	deadline := time.Now().Add(wait)
	for {
		var still []preparedQuery
		for _, q := range pending {
			v, err := s.prom.query(s.ctx, q.run)
			switch {
			case err != nil:
				s.t.Errorf("dashboard query %s: %v", q.dashQuery, err)
			case q.noData != "":
				// It ran; data it cannot have.
			case q.gained != (gainedSelector{}):
				// Not exported yet: it must run, and return nothing until the exporter has the metric.
				if len(v) > 0 {
					s.t.Errorf("dashboard query %s returns data: the exporter has %s now, remove it from gainedInIssues10And11",
						q.dashQuery, q.gained)
				}
			case len(v) == 0:
				still = append(still, q)
			}
		}
		if len(still) == 0 {
			s.logf("dashboards (%s): all %d queries returned data, the %d selecting metrics of gainedInIssues10And11 none, and %d of withoutDataInTheStack ran",
				p, total-gained-noData, gained, noData)
			return
		}
		if time.Now().After(deadline) {
			for _, q := range still {
				s.t.Errorf("dashboard query returned no data in the %s phase: %s\n\tran: %s", p, q.dashQuery, q.run)
			}
			return
		}
		pending = still
		s.watch()
		s.sleep(time.Second)
	}
}

// dumpIfFailed dumps the diagnostics when the test has failed.
func (s *stack) dumpIfFailed() {
	if s.t.Failed() {
		s.dump()
	}
}

// dump logs what a CI failure needs to be diagnosed: the timeline, the exporter's metrics, Prometheus' alerts,
// rules and targets, Alertmanager's alerts, the notifications, and the end of every process's log.
func (s *stack) dump() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.t.Logf("==== stack test diagnostics ====\ntimeline:\n%s", strings.Join(s.timeline, "\n"))
	if body, err := httpGet(ctx, s.expURL); err != nil {
		s.t.Logf("exporter metrics: %v", err)
	} else {
		var lines []string
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "servermon_") {
				lines = append(lines, l)
			}
		}
		s.t.Logf("exporter's servermon_* metrics now:\n%s", strings.Join(lines, "\n"))
	}
	if s.prom != nil {
		for _, path := range []string{"/api/v1/alerts", "/api/v1/rules", "/api/v1/targets"} {
			body, err := s.prom.get(ctx, path, nil)
			s.t.Logf("Prometheus %s (err %v):\n%s", path, err, body)
		}
	}
	if s.amURL != "" {
		body, err := httpGet(ctx, s.amURL+"/api/v2/alerts")
		s.t.Logf("Alertmanager /api/v2/alerts (err %v):\n%s", err, body)
	}
	if s.hook != nil {
		notes, _ := json.MarshalIndent(s.hook.notifications(), "", "  ")
		s.t.Logf("webhook notifications:\n%s", notes)
	}
	for _, p := range s.procs {
		s.t.Logf("---- %s log (%s) ----\n%s", p.Name, p.LogPath, p.LogTail(150))
	}
}

// httpGet returns the body at url.
func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	return string(body), nil
}
