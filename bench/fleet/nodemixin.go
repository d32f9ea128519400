package main

import "strings"

// nodeMixinRules are what a node-mixin-style setup evaluates centrally for the same alerts and fleet records as
// ours, over servermon's observed gauges: predict_linear(x[6h], horizon) against the exporter's default thresholds,
// with node-mixin's window (fsSpaceFillingUpPredictionWindow, 6h) and horizons (nodeCriticalWindowHours 4,
// nodeWarningWindowHours 24; our alerts' 2 h where ours look 2 h ahead), and the filesystem alerts as
// prometheus/node_exporter's docs/node-mixin/alerts/alerts.libsonnet writes NodeFilesystemSpaceFillingUp and
// NodeFilesystemFilesFillingUp, on servermon's series. The records are our records' equivalents where ours need a
// forecast: each host's time until the threshold on the regression line (deriv over the same window), the soonest
// per job and target, the soonest filesystem and the hosts at risk. Our records without an equivalent (forecast and
// observed fleet means, anomalous hosts, host count) and our alerts without one (anomaly, forecast worse than
// naive) are left out, which favours this side of the comparison.
const nodeMixinRules = `groups:
  - name: node-mixin-style-forecast-alerts
    rules:
      - alert: NodeMixinStyleMemoryExhaustionForecast
        expr: predict_linear(servermon_memory_usage_ratio[6h], 2*60*60) >= 0.95
        for: 10m
        labels: {severity: critical}
      - alert: NodeMixinStyleMemoryExhaustionForecast
        expr: predict_linear(servermon_memory_usage_ratio[6h], 24*60*60) >= 0.95
        for: 30m
        labels: {severity: warning}
      - alert: NodeMixinStyleSwapExhaustionForecast
        expr: predict_linear(servermon_swap_usage_ratio[6h], 2*60*60) >= 0.9
        for: 10m
        labels: {severity: critical}
      - alert: NodeMixinStyleSwapExhaustionForecast
        expr: predict_linear(servermon_swap_usage_ratio[6h], 24*60*60) >= 0.9
        for: 30m
        labels: {severity: warning}
      - alert: NodeMixinStyleCPUSaturationForecast
        expr: predict_linear(servermon_cpu_usage_ratio[6h], 2*60*60) >= 0.9
        for: 30m
        labels: {severity: warning}
      - alert: NodeMixinStyleDiskSaturationForecast
        expr: predict_linear(servermon_disk_utilization_ratio[6h], 2*60*60) >= 0.9
        for: 30m
        labels: {severity: warning}
      - alert: NodeMixinStyleFilesystemFillingUp
        expr: |
          (
            servermon_filesystem_avail_bytes{fstype!="",mountpoint!=""} / servermon_filesystem_size_bytes{fstype!="",mountpoint!=""} * 100 < 40
          and
            predict_linear(servermon_filesystem_avail_bytes{fstype!="",mountpoint!=""}[6h], 24*60*60) < 0
          and
            servermon_filesystem_readonly{fstype!="",mountpoint!=""} == 0
          )
        for: 1h
        labels: {severity: warning}
      - alert: NodeMixinStyleFilesystemFillingUp
        expr: |
          (
            servermon_filesystem_avail_bytes{fstype!="",mountpoint!=""} / servermon_filesystem_size_bytes{fstype!="",mountpoint!=""} * 100 < 20
          and
            predict_linear(servermon_filesystem_avail_bytes{fstype!="",mountpoint!=""}[6h], 4*60*60) < 0
          and
            servermon_filesystem_readonly{fstype!="",mountpoint!=""} == 0
          )
        for: 1h
        labels: {severity: critical}
      - alert: NodeMixinStyleFilesystemFilesFillingUp
        expr: |
          (
            (1 - servermon_filesystem_inodes_usage_ratio{fstype!="",mountpoint!=""}) * 100 < 40
          and
            predict_linear(servermon_filesystem_inodes_usage_ratio{fstype!="",mountpoint!=""}[6h], 24*60*60) > 1
          and
            servermon_filesystem_readonly{fstype!="",mountpoint!=""} == 0
          )
        for: 1h
        labels: {severity: warning}
      - alert: NodeMixinStyleFilesystemFilesFillingUp
        expr: |
          (
            (1 - servermon_filesystem_inodes_usage_ratio{fstype!="",mountpoint!=""}) * 100 < 20
          and
            predict_linear(servermon_filesystem_inodes_usage_ratio{fstype!="",mountpoint!=""}[6h], 4*60*60) > 1
          and
            servermon_filesystem_readonly{fstype!="",mountpoint!=""} == 0
          )
        for: 1h
        labels: {severity: critical}

  - name: node-mixin-style-forecast-records
    rules:
      - record: instance:nodemixin_style_seconds_until_threshold:linear
        expr: |
          label_replace((0.95 - servermon_memory_usage_ratio) / (deriv(servermon_memory_usage_ratio[6h]) > 0), "target", "memory_usage_ratio", "", "")
          or label_replace((0.9 - servermon_swap_usage_ratio) / (deriv(servermon_swap_usage_ratio[6h]) > 0), "target", "swap_usage_ratio", "", "")
          or label_replace((0.9 - servermon_cpu_usage_ratio) / (deriv(servermon_cpu_usage_ratio[6h]) > 0), "target", "cpu_usage_ratio", "", "")
          or label_replace((0.9 - servermon_disk_utilization_ratio) / (deriv(servermon_disk_utilization_ratio[6h]) > 0), "target", "disk_utilization_ratio", "", "")
          or label_replace((0.95 - servermon_filesystem_usage_ratio) / (deriv(servermon_filesystem_usage_ratio[6h]) > 0), "target", "filesystem_usage_ratio", "", "")
          or label_replace((0.95 - servermon_filesystem_inodes_usage_ratio) / (deriv(servermon_filesystem_inodes_usage_ratio[6h]) > 0), "target", "filesystem_inodes_usage_ratio", "", "")
      - record: job_target:nodemixin_style_seconds_until_threshold:min
        expr: min by (job, target) (instance:nodemixin_style_seconds_until_threshold:linear)
      - record: job:nodemixin_style_filesystem_seconds_until_threshold:min
        expr: |
          min by (job) (
            instance:nodemixin_style_seconds_until_threshold:linear{target=~"filesystem_(inodes_)?usage_ratio"}
            unless on (job, instance, device, mountpoint) servermon_filesystem_readonly == 1
          )
      - record: job:nodemixin_style_hosts_at_risk:count
        expr: |
          count by (job) (
            count by (job, instance) (instance:nodemixin_style_seconds_until_threshold:linear < 86400)
          )
          or 0 * count by (job) (servermon_build_info)
`

// Rule groups of each side, as Prometheus names them in rule_group: "<file>;<group>".
var (
	ourGroups   = []string{"servermon-forecast-alerts", "servermon-forecast-records"}
	theirGroups = []string{"node-mixin-style-forecast-alerts", "node-mixin-style-forecast-records"}
)

// withoutEquivalent are our forecast rules that node-mixin-style rules have no equivalent of: left out of the
// like-for-like comparison of evaluation times (rule_eval_ratio), and shown beside it.
var withoutEquivalent = map[string]bool{
	"ServermonSustainedAnomaly":                     true,
	"ServermonForecastWorseThanNaive":               true,
	"job:servermon_hosts_anomalous:count":           true,
	"job:servermon_hosts:count":                     true,
	"job:servermon_forecast_cpu_usage_ratio:avg":    true,
	"job:servermon_forecast_memory_usage_ratio:avg": true,
	"job:servermon_cpu_usage_ratio:avg":             true,
	"job:servermon_memory_usage_ratio:avg":          true,
}

// hasEquivalent reports whether our rule name (an alert's may end in /severity) has a node-mixin-style
// equivalent. The trust gate's records count as having one: theirs is part of every ETA of ours.
func hasEquivalent(name string) bool {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	return !withoutEquivalent[name]
}

// theirAlert is the name of the node-mixin-style equivalent of one of our alerts.
func theirAlert(ours string) string { return "NodeMixinStyle" + ours[len("Servermon"):] }
