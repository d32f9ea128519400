// Package rules holds the Prometheus alerting and recording rules shipped with
// servermon_exporter (servermon-alerts.yml, servermon-records.yml) and their
// promtool unit tests (tests/*.yml).
//
// The package has no code of its own: its Go tests run `promtool check rules`
// and `promtool test rules`, check the monitoring-mixin conventions (severity,
// summary, description, runbook_url with an anchor that exists in
// docs/runbooks.md), check that the thresholds table at the top of
// docs/runbooks.md agrees with the rules, and validate the files in examples/
// with promtool, amtool and systemd-analyze.
package rules
