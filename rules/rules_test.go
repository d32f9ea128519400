package rules

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

func TestPromtoolCheckRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	out, err := run(t, ".", promtool, "check", "rules", alertsFile, recordsFile)
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	// promtool prints lint findings but still exits 0 for some of them.
	if strings.Contains(out, "FAILED") || strings.Contains(out, "WARNING") {
		t.Fatalf("promtool check rules reported problems:\n%s", out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	files := testFiles(t)
	out, err := run(t, ".", promtool, append([]string{"test", "rules"}, files...)...)
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	if got := strings.Count(out, "SUCCESS"); got != len(files) {
		t.Fatalf("promtool test rules: %d of %d files succeeded:\n%s", got, len(files), out)
	}
}

// TestEveryAlertIsUnitTested makes sure no alerting rule (name and
// severity) ships without a promtool case expecting it to fire, and no alert
// name without one expecting silence.
func TestEveryAlertIsUnitTested(t *testing.T) {
	type testFile struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []struct {
					ExpLabels map[string]string `yaml:"exp_labels"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	firing := map[string]bool{} // alertname/severity
	silent := map[string]bool{} // alertname
	for _, path := range testFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		var f testFile
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		for _, g := range f.Tests {
			for _, c := range g.AlertRuleTest {
				if len(c.ExpAlerts) == 0 {
					silent[c.Alertname] = true
				}
				for _, a := range c.ExpAlerts {
					firing[c.Alertname+"/"+a.ExpLabels["severity"]] = true
				}
			}
		}
	}
	for _, r := range alertRules(t) {
		if key := r.Alert + "/" + r.Labels["severity"]; !firing[key] {
			t.Errorf("%s: no promtool case expects it to fire", key)
		}
		if !silent[r.Alert] {
			t.Errorf("%s: no promtool case expects it to stay silent or resolve", r.Alert)
		}
	}
}

var (
	alertName  = regexp.MustCompile(`^Servermon[A-Z][A-Za-z0-9]*$`)
	recordName = regexp.MustCompile(`^([a-z]+(?:_[a-z]+)*):servermon_[a-z0-9_]+:[a-z0-9_]+$`)
	severities = map[string]bool{"critical": true, "warning": true, "info": true}
	// etaMetric matches the exporter's ETA metric but not recording rules
	// derived from it (whose names contain it between colons).
	etaMetric       = regexp.MustCompile(`(^|[^:\w])servermon_forecast_seconds_until_threshold([^:\w]|$)`)
	anomalousMetric = regexp.MustCompile(`(^|[^:\w])servermon_anomalous([^:\w]|$)`)
	// trustedETA matches the record of the trusted times until threshold, which the forecast alerts read.
	trustedETA = regexp.MustCompile(`(^|[^:\w])` + trustedETARecord + `([^:\w]|$)`)
)

// The trust gate's records, the first rules of the forecast alerts (docs/runbooks.md).
const (
	trustedRecord    = "instance:servermon_forecast_error_ratio:trusted"
	trustedETARecord = "instance:servermon_forecast_seconds_until_threshold:trusted"
)

func TestAlertConventions(t *testing.T) {
	anchors := runbookAnchors(t)
	for _, r := range alertRules(t) {
		if !alertName.MatchString(r.Alert) {
			t.Errorf("%q: alert names are CamelCase with prefix Servermon", r.Alert)
		}
		if sev := r.Labels["severity"]; !severities[sev] {
			t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, sev)
		}
		if d, err := model.ParseDuration(r.For); err != nil || d <= 0 {
			t.Errorf("%s: for %q: every alert needs a positive for: against flapping", r.Alert, r.For)
		}
		summary := r.Annotations["summary"]
		if summary == "" || strings.Contains(summary, "{{") {
			t.Errorf("%s: summary %q must be a static sentence", r.Alert, summary)
		}
		desc := r.Annotations["description"]
		wants := []string{"{{ $labels.instance }}", "$value"}
		if strings.HasPrefix(r.Expr, "absent(") {
			// absent() has no instance to name: it fires when none is left.
			wants = wants[1:]
		}
		for _, want := range wants {
			if !strings.Contains(desc, want) {
				t.Errorf("%s: description lacks %s: %q", r.Alert, want, desc)
			}
		}
		if (etaMetric.MatchString(r.Expr) || trustedETA.MatchString(r.Expr)) && !strings.Contains(desc, "$value | humanizeDuration") {
			t.Errorf("%s: an ETA alert's description must humanise the ETA with humanizeDuration", r.Alert)
		}
		url := r.Annotations["runbook_url"]
		anchor, ok := strings.CutPrefix(url, runbookBase)
		if !ok {
			t.Errorf("%s: runbook_url %q does not start with %s", r.Alert, url, runbookBase)
			continue
		}
		if !anchors[anchor] {
			t.Errorf("%s: runbook_url anchor #%s has no heading in docs/runbooks.md", r.Alert, anchor)
		}
		if anchor != strings.ToLower(r.Alert) {
			t.Errorf("%s: runbook_url anchor #%s is not the alert's own section", r.Alert, anchor)
		}
	}
}

// TestRunbooksHaveAlerts catches runbook sections left behind by renamed or
// removed alerts.
func TestRunbooksHaveAlerts(t *testing.T) {
	alerts := map[string]bool{}
	for _, r := range alertRules(t) {
		alerts[strings.ToLower(r.Alert)] = true
	}
	sections := 0
	for anchor := range runbookAnchors(t) {
		if strings.HasPrefix(anchor, "servermon") {
			sections++
			if !alerts[anchor] {
				t.Errorf("docs/runbooks.md section #%s belongs to no alert", anchor)
			}
		}
	}
	if sections != len(alerts) {
		t.Errorf("docs/runbooks.md has %d alert sections for %d alerts", sections, len(alerts))
	}
}

func TestRecordingRuleNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range loadRules(t, recordsFile) {
		if r.Record == "" {
			t.Errorf("alert %q in %s: alerts belong in %s", r.Alert, recordsFile, alertsFile)
			continue
		}
		if seen[r.Record] {
			t.Errorf("%s recorded twice", r.Record)
		}
		seen[r.Record] = true
		m := recordName.FindStringSubmatch(r.Record)
		if m == nil {
			t.Errorf("%s: want level:servermon_metric:operation", r.Record)
			continue
		}
		// A job-level record must aggregate down to the job (plus the
		// labels its level names, e.g. job_target keeps target).
		if strings.HasPrefix(m[1], "job") {
			by := "by (" + strings.ReplaceAll(m[1], "_", ", ")
			if !strings.Contains(normalize(r.Expr), by) {
				t.Errorf("%s: level %s but expr does not aggregate %s...)", r.Record, m[1], by)
			}
		}
	}
}
