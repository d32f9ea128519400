package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/servermon/servermon_exporter/internal/exposition"
)

// stackMemThreshold is the exporter's memory threshold in the stack test, set explicitly so the expected
// threshold label does not depend on a default.
const stackMemThreshold = 0.95

// notified returns the newest webhook alert with the given alertname and severity, and whether there is one.
func (s *stack) notified(alertname, severity string) (amAlert, bool) {
	notes := s.hook.notifications()
	for i := len(notes) - 1; i >= 0; i-- {
		for _, a := range notes[i].Alerts {
			if a.Labels["alertname"] == alertname && a.Labels["severity"] == severity {
				return a, true
			}
		}
	}
	return amAlert{}, false
}

// climb starts the memory climb, with the CPU burst and the busy disk on the way, and waits until the critical
// memory alert reaches the webhook as firing; it returns that alert.
func (s *stack) climb() amAlert {
	s.t.Helper()
	s.fake.setPhase(phaseClimb, time.Now())
	s.logf("climb: memory rises %.0f%%/s from %.0f%%; CPU at %.0f%% from +%v for %v; %s %.0f%% busy from +%v for %v",
		memClimbRate*100, baseMem*100, burstCPU*100, cpuBurstStart, cpuBurstLen, busyDevice, busyDiskUtil*100,
		diskBusyStart, diskBusyLen)
	deadline := time.Now().Add(climbMax)
	var lastProgress time.Time
	for {
		s.watch()
		if a, ok := s.notified(memoryAlert, "critical"); ok && a.Status == "firing" {
			s.logProgress()
			s.logf("climb: the critical %s reached the webhook", memoryAlert)
			return a
		}
		if time.Since(lastProgress) >= 5*time.Second {
			s.logProgress()
			lastProgress = time.Now()
		}
		if time.Now().After(deadline) {
			s.fatalf("climb: the critical %s did not reach the webhook within %v", memoryAlert, climbMax)
		}
		s.sleep(pollEvery)
	}
}

// findRule returns the alerting rule of that name and severity.
func findRule(rules []rule, alertname, severity string) (rule, bool) {
	for _, r := range rules {
		if r.Alert == alertname && r.Labels["severity"] == severity {
			return r, true
		}
	}
	return rule{}, false
}

// etaThreshold returns the number an expression compares a timescale operand with (the ETA threshold).
func etaThreshold(expr string) (float64, error) {
	ts, err := lexPromQL(expr)
	if err != nil {
		return 0, err
	}
	for i, t := range ts {
		if t.kind != tokNumber {
			continue
		}
		if b := prevSignificant(ts, i); b >= 0 && isComparison(ts[b]) && isTimescaleOperand(operand(ts, prevSignificant(ts, b), -1)) {
			return strconv.ParseFloat(t.text, 64)
		}
	}
	return 0, fmt.Errorf("no time threshold in %s", expr)
}

// humanizedRe matches Prometheus' humanizeDuration output: "1d 2h 3m 4s", "2h 3m 4s", "3m 4s", "4.321s",
// "432.1ms", "0s".
var humanizedRe = regexp.MustCompile(`^(?:(\d+)d )?(?:(\d+)h )?(?:(\d+)m )?([0-9.]+(?:e[+-]?\d+)?)(s|ms|us|ns)$`)

// parseHumanized turns humanizeDuration's output back into seconds.
func parseHumanized(s string) (float64, error) {
	m := humanizedRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a humanized duration", s)
	}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	v *= map[string]float64{"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[m[5]]
	for i, unit := range []float64{86400, 3600, 60} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			v += float64(n) * unit
		}
	}
	return v, nil
}

// checkFiring checks the critical memory alert as the webhook got it against the documentation: exactly the
// labels the rule and the exporter give it, the rule's summary and runbook, and a description naming the
// instance, the job, the threshold and an ETA below the rule's (compressed) threshold.
func (s *stack) checkFiring(a amAlert) {
	s.t.Helper()
	r, ok := findRule(s.rules, memoryAlert, "critical")
	cr, ok2 := findRule(s.compAlerts, memoryAlert, "critical")
	if !ok || !ok2 {
		s.fatalf("no critical %s rule", memoryAlert)
	}
	want := map[string]string{
		"alertname": memoryAlert, "severity": "critical", "instance": s.inst, "job": stackJob,
		"target": "memory_usage_ratio", "threshold": exposition.FormatFloat(stackMemThreshold),
	}
	if !reflect.DeepEqual(a.Labels, want) {
		s.t.Errorf("firing %s labels:\n got %v\nwant %v", memoryAlert, a.Labels, want)
	}
	for _, k := range []string{"summary", "runbook_url"} {
		if a.Annotations[k] != r.Annotations[k] {
			s.t.Errorf("firing %s %s = %q, the rule says %q", memoryAlert, k, a.Annotations[k], r.Annotations[k])
		}
	}
	if _, anchor, _ := strings.Cut(a.Annotations["runbook_url"], "#"); !runbookAnchors(s.t)[anchor] {
		s.t.Errorf("runbook_url %q: no such section in docs/runbooks.md", a.Annotations["runbook_url"])
	}
	desc := a.Annotations["description"]
	for _, part := range []string{s.inst, "job " + stackJob, "95%"} {
		if !strings.Contains(desc, part) {
			s.t.Errorf("description %q does not contain %q", desc, part)
		}
	}
	for k, v := range a.Annotations {
		if strings.Contains(v, "{{") || strings.Contains(v, "<no value>") || strings.Contains(v, "%!") {
			s.t.Errorf("annotation %s is not rendered properly: %q", k, v)
		}
	}
	limit, err := etaThreshold(cr.Expr)
	if err != nil {
		s.fatalf("%v", err)
	}
	human := ""
	if i := strings.LastIndex(desc, " in "); i >= 0 {
		human = strings.TrimSuffix(strings.TrimSpace(desc[i+len(" in "):]), ".")
	}
	eta, err := parseHumanized(human)
	switch {
	case err != nil:
		s.t.Errorf("description %q: no humanized ETA at the end: %v", desc, err)
	case eta < 0 || eta >= limit:
		s.t.Errorf("description %q: ETA %gs is not in [0, %g)", desc, eta, limit)
	default:
		s.logf("firing alert checked: labels %v, ETA in the description %q (%.3gs < %gs)", a.Labels, human, eta, limit)
	}
}

// recoverAndResolve brings the scenario back to the baseline and waits until every memory alert that reached the
// webhook has been resolved there, with the same labels it fired with.
func (s *stack) recoverAndResolve() {
	s.t.Helper()
	firing := map[string]amAlert{}
	for _, sev := range []string{"critical", "warning"} {
		if a, ok := s.notified(memoryAlert, sev); ok {
			firing[sev] = a
		}
	}
	s.fake.setPhase(phaseRecover, time.Now())
	s.logf("recover: memory back to %.0f%%, CPU and disks back to the baseline", baseMem*100)
	deadline := time.Now().Add(recoverMax)
	inactiveLogged := false
	for {
		s.watch()
		active := false
		for key := range s.alertStates {
			active = active || strings.HasPrefix(key, memoryAlert+"/")
		}
		if !active && !inactiveLogged {
			s.logf("recover: no memory alert active in Prometheus any more; the forecast at that moment:")
			s.logProgress()
			inactiveLogged = true
		}
		open := 0
		for _, sev := range []string{"critical", "warning"} {
			a, ok := s.notified(memoryAlert, sev)
			if !ok {
				continue
			}
			if _, seen := firing[sev]; !seen {
				firing[sev] = a
			}
			if a.Status != "resolved" {
				open++
			}
		}
		if open == 0 && !active {
			break
		}
		if time.Now().After(deadline) {
			s.logProgress()
			s.fatalf("recover: memory alerts still firing or unresolved at the webhook %v after recovery", recoverMax)
		}
		s.sleep(pollEvery)
	}
	for sev, f := range firing {
		r, _ := s.notified(memoryAlert, sev)
		if !reflect.DeepEqual(r.Labels, f.Labels) || !r.EndsAt.After(r.StartsAt) {
			s.t.Errorf("resolved %s/%s: labels %v (fired with %v), starts %v, ends %v", memoryAlert, sev, r.Labels,
				f.Labels, r.StartsAt, r.EndsAt)
		}
		s.logf("recover: %s/%s resolved at the webhook after %v firing", memoryAlert, sev,
			r.EndsAt.Sub(r.StartsAt).Round(100*time.Millisecond))
	}
	if _, ok := firing["critical"]; !ok {
		s.t.Errorf("no critical %s reached the webhook", memoryAlert)
	}
}

// checkExporterAlertsSilent checks that no exporter-health alert fired since the target came up, in Prometheus or
// at the webhook.
func (s *stack) checkExporterAlertsSilent() {
	s.t.Helper()
	window := time.Since(s.upAt).Round(time.Second) + time.Second
	for _, a := range s.mustQuery(fmt.Sprintf(`max_over_time(ALERTS{alertstate="firing", alertname=~%q}[%s])`,
		alternation(s.exporterSet), window)) {
		s.t.Errorf("exporter alert fired while the exporter was healthy: %v", a.Metric)
	}
	for _, n := range s.hook.notifications() {
		for _, a := range n.Alerts {
			if s.exporterSet[a.Labels["alertname"]] && n.At.After(s.upAt) {
				s.t.Errorf("the webhook got an exporter alert: %s %v", a.Status, a.Labels)
			}
		}
	}
}

// checkProcesses checks that every process still runs, the race detector found nothing in the exporter and the
// webhook decoded every notification.
func (s *stack) checkProcesses() {
	s.t.Helper()
	for _, p := range s.procs {
		if err := p.Alive(); err != nil {
			s.t.Error(err)
		}
	}
	if s.exp.LogContains("WARNING: DATA RACE") {
		s.t.Errorf("the race detector reported a race in the exporter (see its log)")
	}
	if s.exp.LogContains("level=ERROR") {
		s.logf("the exporter logged errors:\n%s", s.exp.LogTail(20))
	}
	for _, e := range s.hook.decodeErrors() {
		s.t.Errorf("webhook request that is not Alertmanager's JSON: %s", e)
	}
}

// logNotifications logs a summary of everything the webhook received.
func (s *stack) logNotifications() {
	s.t.Helper()
	for _, n := range s.hook.notifications() {
		for _, a := range n.Alerts {
			s.t.Logf("webhook at +%.1fs: %s %s", n.At.Sub(s.start).Seconds(), a.Status, alertKey(a.Labels))
		}
	}
}
