package main

import (
	"math"
	"slices"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	dto "github.com/prometheus/client_model/go"
)

// The central cost: each rule group's evaluation time, from Prometheus' own prometheus_rule_group_last_duration_seconds
// read every few seconds and kept once per evaluation (prometheus_rule_group_last_evaluation_timestamp_seconds
// tells them apart), and what Prometheus ingests and holds.

// warmEvaluations are left out of each group's mean: the first evaluations read the history's blocks from disk into
// the page cache, which a Prometheus that has run for a while has done long before.
const warmEvaluations = 2

// evaluation is one evaluation of a rule group.
type evaluation struct {
	at       float64 // its last evaluation timestamp
	duration float64 // seconds
}

// costs collects the evaluations of every rule group and Prometheus' ingestion.
type costs struct {
	evals    map[string][]evaluation // by group name
	appended []point                 // prometheus_tsdb_head_samples_appended_total
	rss      []float64               // process_resident_memory_bytes
	rules    map[ruleKey]*ruleCost
}

type point struct {
	at time.Time
	v  float64
}

func newCosts() *costs {
	return &costs{evals: map[string][]evaluation{}, rules: map[ruleKey]*ruleCost{}}
}

// add takes one reading of Prometheus' metrics at now.
func (c *costs) add(now time.Time, mfs map[string]*dto.MetricFamily) {
	last := map[string]float64{}
	if mf, ok := mfs["prometheus_rule_group_last_evaluation_timestamp_seconds"]; ok {
		for _, m := range mf.Metric {
			last[groupName(label(m, "rule_group"))] = gaugeValue(m)
		}
	}
	if mf, ok := mfs["prometheus_rule_group_last_duration_seconds"]; ok {
		for _, m := range mf.Metric {
			g := groupName(label(m, "rule_group"))
			at := last[g]
			if at <= 0 {
				continue // not evaluated yet
			}
			if ev := c.evals[g]; len(ev) == 0 || ev[len(ev)-1].at != at {
				c.evals[g] = append(ev, evaluation{at: at, duration: gaugeValue(m)})
			}
		}
	}
	c.appended = append(c.appended, point{now, single(mfs, "prometheus_tsdb_head_samples_appended_total")})
	c.rss = append(c.rss, single(mfs, "process_resident_memory_bytes"))
}

// groupName is the group of a rule_group label, "<file>;<group>".
func groupName(ruleGroup string) string {
	return ruleGroup[strings.LastIndexByte(ruleGroup, ';')+1:]
}

// groupCost is a group's evaluation time over the run.
type groupCost struct {
	name                   string
	evaluations            int
	mean, median, min, max float64 // seconds
}

// group returns the cost of the group name, its first warmEvaluations left out.
func (c *costs) group(name string) groupCost {
	g := groupCost{name: name, mean: math.NaN(), median: math.NaN(), min: math.NaN(), max: math.NaN()}
	ev := c.evals[name]
	if len(ev) <= warmEvaluations {
		return g
	}
	var d []float64
	for _, e := range ev[warmEvaluations:] {
		d = append(d, e.duration)
	}
	slices.Sort(d)
	g.evaluations, g.mean, g.min, g.max = len(d), mean(d), d[0], d[len(d)-1]
	g.median = d[len(d)/2]
	if len(d)%2 == 0 {
		g.median = (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	return g
}

// side is the sum of the mean evaluation times of groups, and the fewest evaluations any of them had.
func (c *costs) side(groups []string) (mean float64, evaluations int) {
	evaluations = math.MaxInt
	for _, name := range groups {
		g := c.group(name)
		mean += g.mean
		evaluations = min(evaluations, g.evaluations)
	}
	return mean, evaluations
}

// samplesPerSecond is the rate of samples appended to the head over the readings.
func (c *costs) samplesPerSecond() float64 {
	if len(c.appended) < 2 {
		return math.NaN()
	}
	a, b := c.appended[0], c.appended[len(c.appended)-1]
	return (b.v - a.v) / b.at.Sub(a.at).Seconds()
}

// maxRSS is the largest resident set size read.
func (c *costs) maxRSS() float64 {
	if len(c.rss) == 0 {
		return math.NaN()
	}
	return slices.Max(c.rss)
}

// ruleKey names one rule: its group and place in it.
type ruleKey struct {
	group string
	index int
}

// ruleCost is one rule's evaluations over the run, from the rules API (each rule's evaluationTime of its last
// evaluation, kept once per lastEvaluation).
type ruleCost struct {
	key        ruleKey
	name       string // alert or record name, with the severity of an alert
	last       time.Time
	durations  []float64 // seconds
	equivalent bool      // it has a node-mixin-style equivalent (hasEquivalent)
	ours       bool      // one of our groups' rules
}

// mean is the rule's mean evaluation time, its first warmEvaluations left out; NaN without enough evaluations.
func (r *ruleCost) mean() float64 {
	if len(r.durations) <= warmEvaluations {
		return math.NaN()
	}
	return mean(r.durations[warmEvaluations:])
}

// mean is the mean of xs, which is not empty.
func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// addRules takes one reading of the rules API.
func (c *costs) addRules(groups []promv1.RuleGroup) {
	for _, g := range groups {
		ours := slices.Contains(ourGroups, g.Name)
		if !ours && !slices.Contains(theirGroups, g.Name) {
			continue
		}
		for i, r := range g.Rules {
			var name string
			var at time.Time
			var d float64
			switch r := r.(type) {
			case promv1.AlertingRule:
				name, at, d = r.Name+"/"+string(r.Labels["severity"]), r.LastEvaluation, r.EvaluationTime
			case promv1.RecordingRule:
				name, at, d = r.Name, r.LastEvaluation, r.EvaluationTime
			default:
				continue
			}
			if at.IsZero() {
				continue
			}
			k := ruleKey{g.Name, i}
			rc := c.rules[k]
			if rc == nil {
				rc = &ruleCost{key: k, name: name, ours: ours, equivalent: !ours || hasEquivalent(name)}
				c.rules[k] = rc
			}
			if !at.Equal(rc.last) {
				rc.last = at
				rc.durations = append(rc.durations, d)
			}
		}
	}
}

// ruleCosts returns every rule's cost, in the order of the groups and rules, and the sums of the means of the rules
// that have an equivalent, ours and theirs.
func (c *costs) ruleCosts() (all []*ruleCost, ours, theirs float64) {
	for _, r := range c.rules {
		all = append(all, r)
	}
	order := append(append([]string{}, ourGroups...), theirGroups...)
	slices.SortFunc(all, func(a, b *ruleCost) int {
		if d := slices.Index(order, a.key.group) - slices.Index(order, b.key.group); d != 0 {
			return d
		}
		return a.key.index - b.key.index
	})
	for _, r := range all {
		switch {
		case !r.equivalent:
		case r.ours:
			ours += r.mean()
		default:
			theirs += r.mean()
		}
	}
	return all, ours, theirs
}
