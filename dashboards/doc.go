// Package dashboards builds the Grafana dashboards shipped with
// servermon_exporter, as code, with the Grafana Foundation SDK:
//
//   - servermon-host.json: one host, each target's observed average and peak
//     with the forecast point and its 95 % band, and beside it the forecast
//     from now to now + the selected horizon; time until threshold, anomaly
//     score, forecast trust, history and warm-up; disk rows repeated by
//     device, filesystem rows (usage, forecast, time until full, space,
//     inodes, read-only) repeated by mount point.
//   - servermon-fleet.json: hosts ranked by soonest trusted ETA and by anomaly
//     score, counts of hosts at risk, the soonest trusted "disk full", fleet
//     forecasts (also reaching now + the horizon), links to the host view.
//
// The JSON files are generated and committed. Regenerate them from this
// directory with
//
//	go generate ./...
//
// (equivalently `go run ./cmd/generate`); the output is byte-stable, and the
// tests fail when the committed files differ from what the code generates.
//
// This is a module of its own so that the exporter's dependency graph does not
// carry the SDK or Prometheus itself (used by the tests to parse PromQL).
package dashboards

//go:generate go run ./cmd/generate
