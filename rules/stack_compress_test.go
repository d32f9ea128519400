package rules

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// compressFactor is the factor by which the stack test compresses time: the stack test runs the shipped rules
// compressed by a factor 600, so one hour of production is 6 s. With the test's forecast step of 1m/600 = 100 ms
// every horizon is the same number of steps as in production (1 h = 60 steps), the trust gate's 6 h of history is
// 36 s and `for: 10m` is 1 s. 600 divides every time in the rules into whole milliseconds (the resolution of
// Prometheus durations); compressRuleFile fails on a time it does not.
const compressFactor = 600

// uncompressedGroups are the rule groups the stack test runs as shipped, and why. The exporter-health alerts wait
// (`for:`) for failures to last longer than hiccups that take real time whatever the test's clock: a scrape or a
// /proc read stalled on a loaded CI machine, Prometheus applying new scrape targets only every 5 s after it
// starts. Compressed, `for: 10m` becomes 1 s, two scrapes, and one stall of the machine would fire them. Their
// promtool unit tests (tests/exporter.yml) cover them firing; the stack test checks they load and stay silent.
var uncompressedGroups = map[string]string{
	"servermon-exporter-alerts": "exporter-health alerts: their for: windows absorb real-time hiccups",
}

// ruleFileMeta is the part of a rule file the audit compares beyond ruleFile: group names and intervals.
type ruleFileMeta struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

// compressRuleFile returns the rule file with every time divided by factor: `for:` and `keep_firing_for:` of every
// rule, a group's `interval:`, and the times inside every `expr` (see compressExpr), except in the groups named in
// keep. Names, labels and annotations are left as they are. It returns how many values it changed and the groups
// it kept.
func compressRuleFile(data []byte, factor int64, keep map[string]string) ([]byte, int, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, 0, nil, fmt.Errorf("parse rule file: %w", err)
	}
	if len(doc.Content) != 1 {
		return nil, 0, nil, errors.New("rule file is not one YAML document")
	}
	groups := mappingValue(doc.Content[0], "groups")
	if groups == nil || groups.Kind != yaml.SequenceNode {
		return nil, 0, nil, errors.New("rule file has no groups list")
	}
	changed, kept := 0, []string(nil)
	compressScalar := func(n *yaml.Node, what string) error {
		if n == nil {
			return nil
		}
		d, err := compressDuration(n.Value, factor)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		n.Value = d
		changed++
		return nil
	}
	for _, g := range groups.Content {
		name := scalarValue(mappingValue(g, "name"))
		if _, ok := keep[name]; ok {
			kept = append(kept, name)
			continue
		}
		if err := compressScalar(mappingValue(g, "interval"), "group "+name+" interval"); err != nil {
			return nil, 0, nil, err
		}
		rules := mappingValue(g, "rules")
		if rules == nil {
			continue
		}
		for _, r := range rules.Content {
			id := name + "/" + scalarValue(mappingValue(r, "alert")) + scalarValue(mappingValue(r, "record"))
			for _, key := range []string{"for", "keep_firing_for"} {
				if err := compressScalar(mappingValue(r, key), id+" "+key); err != nil {
					return nil, 0, nil, err
				}
			}
			if e := mappingValue(r, "expr"); e != nil {
				out, changes, err := compressExpr(e.Value, factor)
				if err != nil {
					return nil, 0, nil, fmt.Errorf("%s: %w", id, err)
				}
				e.Value = out
				changed += len(changes)
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("encode compressed rule file: %w", err)
	}
	return out, changed, kept, nil
}

// mappingValue returns the value of key in a YAML mapping node, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// auditCompression checks a compressed rule file against the original, independently of how it was made: the
// same groups and rules with the same names, labels and annotations; every `for:` and group interval divided by
// factor; every expression the same token for token except durations, horizon label values and numbers, each of
// which is exactly the original divided by factor; and nothing left that looks like a production time: no
// duration or horizon value unchanged, no number of 60 or more compared with something left unchanged. The groups
// in keep must be exactly as shipped.
func auditCompression(orig, comp []byte, factor int64, keep map[string]string) []error {
	var a, b ruleFileMeta
	if err := yaml.Unmarshal(orig, &a); err != nil {
		return []error{fmt.Errorf("parse original: %w", err)}
	}
	if err := yaml.Unmarshal(comp, &b); err != nil {
		return []error{fmt.Errorf("parse compressed: %w", err)}
	}
	if len(a.Groups) != len(b.Groups) {
		return []error{fmt.Errorf("%d groups became %d", len(a.Groups), len(b.Groups))}
	}
	var errs []error
	for gi, ga := range a.Groups {
		gb := b.Groups[gi]
		if ga.Name != gb.Name || len(ga.Rules) != len(gb.Rules) {
			errs = append(errs, fmt.Errorf("group %s with %d rules became %s with %d", ga.Name, len(ga.Rules), gb.Name, len(gb.Rules)))
			continue
		}
		if _, ok := keep[ga.Name]; ok {
			if !reflect.DeepEqual(ga, gb) {
				errs = append(errs, fmt.Errorf("group %s should be kept as shipped but changed", ga.Name))
			}
			continue
		}
		if err := auditDuration(ga.Interval, gb.Interval, factor); err != nil {
			errs = append(errs, fmt.Errorf("group %s interval: %w", ga.Name, err))
		}
		for ri, ra := range ga.Rules {
			rb := gb.Rules[ri]
			id := ga.Name + "/" + ra.name()
			if ra.Alert != rb.Alert || ra.Record != rb.Record || !reflect.DeepEqual(ra.Labels, rb.Labels) ||
				!reflect.DeepEqual(ra.Annotations, rb.Annotations) {
				errs = append(errs, fmt.Errorf("%s: name, labels or annotations changed", id))
			}
			if err := auditDuration(ra.For, rb.For, factor); err != nil {
				errs = append(errs, fmt.Errorf("%s for: %w", id, err))
			}
			for _, err := range auditExpr(ra.Expr, rb.Expr, factor) {
				errs = append(errs, fmt.Errorf("%s: %w", id, err))
			}
		}
	}
	return errs
}

// auditDuration checks that comp is orig divided by factor (both empty is fine).
func auditDuration(orig, comp string, factor int64) error {
	if orig == "" && comp == "" {
		return nil
	}
	a, errA := model.ParseDuration(orig)
	b, errB := model.ParseDuration(comp)
	if errA != nil || errB != nil || time.Duration(b)*time.Duration(factor) != time.Duration(a) {
		return fmt.Errorf("%q is not %q divided by %d", comp, orig, factor)
	}
	return nil
}

// auditExpr compares a compressed expression with the original token by token.
func auditExpr(orig, comp string, factor int64) []error {
	ta, err := lexPromQL(orig)
	if err != nil {
		return []error{err}
	}
	tb, err := lexPromQL(comp)
	if err != nil {
		return []error{err}
	}
	if len(ta) != len(tb) {
		return []error{fmt.Errorf("%d tokens became %d:\n%s\n%s", len(ta), len(tb), orig, comp)}
	}
	var errs []error
	for i := range ta {
		a, b := ta[i], tb[i]
		if a.kind != b.kind {
			errs = append(errs, fmt.Errorf("token %q became %q", a.text, b.text))
			continue
		}
		if a.text == b.text {
			if err := leftover(tb, i); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		var ok bool
		switch a.kind {
		case tokDuration:
			ok = auditDuration(a.text, b.text, factor) == nil
		case tokNumber:
			x, errX := strconv.ParseFloat(a.text, 64)
			y, errY := strconv.ParseFloat(b.text, 64)
			ok = errX == nil && errY == nil && math.Abs(y*float64(factor)-x) <= 1e-9*math.Abs(x)
		case tokString:
			x, errX := strconv.Unquote(a.text)
			y, errY := strconv.Unquote(b.text)
			ok = errX == nil && errY == nil && auditDuration(x, y, factor) == nil
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%q is not %q divided by %d", b.text, a.text, factor))
		}
	}
	return errs
}

// leftover reports a token of a compressed expression, unchanged from the original, that looks like a
// production time: any duration, a horizon label value, or a number of 60 or more next to a comparison.
func leftover(ts []token, i int) error {
	t := ts[i]
	switch t.kind {
	case tokDuration:
		return fmt.Errorf("duration %s left uncompressed", t.text)
	case tokString:
		if op := prevSignificant(ts, i); op >= 0 && ts[op].kind == tokOp && strings.Contains("= != =~ !~", ts[op].text) {
			if l := prevSignificant(ts, op); l >= 0 && ts[l].text == "horizon" && !strings.Contains(t.text, "$") {
				return fmt.Errorf("horizon value %s left uncompressed", t.text)
			}
		}
	case tokNumber:
		v, err := strconv.ParseFloat(t.text, 64)
		before, after := prevSignificant(ts, i), nextSignificant(ts, i)
		if before >= 0 && ts[before].text == "bool" {
			before = prevSignificant(ts, before)
		}
		nearComparison := (before >= 0 && isComparison(ts[before])) || (after >= 0 && isComparison(ts[after]))
		if err == nil && v >= 60 && nearComparison {
			return fmt.Errorf("%s is compared with something and left uncompressed: a production time in seconds? "+
				"Add its metric to timescaleMetrics, or exempt it here", t.text)
		}
	}
	return nil
}
