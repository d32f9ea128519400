package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/servermon/servermon_exporter/internal/exposition"
)

// The stack test runs the shipped rules on a compressed clock: every time in them is divided by one factor (see
// compressFactor in stack_compress_test.go). Prometheus' own PromQL parser is not a dependency of this module (it
// would pull the whole Prometheus module into the exporter's go.mod), so this file has a small lossless PromQL
// lexer: the compressed expression is the original one with some tokens replaced, and auditCompression checks
// exactly that.

// tokKind classifies a PromQL token.
type tokKind int

const (
	tokSpace    tokKind = iota // white space
	tokComment                 // # to the end of the line
	tokIdent                   // metric, label, function, keyword (and, on, by, offset, bool, Inf…)
	tokNumber                  // 7200, 0.8, 1e3, 0x1f
	tokDuration                // 15m, 1h30m, 500ms
	tokString                  // "…", '…', `…` with the quotes
	tokOp                      // operators and punctuation
)

// token is one lexeme; the concatenation of the tokens of an expression is the expression.
type token struct {
	kind tokKind
	text string
}

var (
	durationRe = regexp.MustCompile(`^([0-9]+(ms|[smhdwy]))+`)
	numberRe   = regexp.MustCompile(`^(0[xX][0-9a-fA-F]+|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)`)
	twoCharOps = []string{"<=", ">=", "==", "!=", "=~", "!~"}
)

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// lexPromQL splits a PromQL expression (or a Grafana query with $variables) into tokens. It fails on an
// unterminated string and on a number glued to letters that do not form a duration.
func lexPromQL(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		n, kind := 1, tokOp
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			n, kind = len(s[i:])-len(strings.TrimLeft(s[i:], " \t\r\n")), tokSpace
		case c == '#':
			n, kind = strings.IndexByte(s[i:]+"\n", '\n'), tokComment
		case c == '"' || c == '\'' || c == '`':
			end, err := stringEnd(s[i:])
			if err != nil {
				return nil, fmt.Errorf("lex %q at %d: %w", s, i, err)
			}
			n, kind = end, tokString
		case c == ':' && (i+1 == len(s) || s[i+1] == ']' || (s[i+1] >= '0' && s[i+1] <= '9')):
			// the colon of a subquery, [1h:5m] or [1h:]
		case isIdentStart(c):
			for n < len(s[i:]) && isIdentChar(s[i+n]) {
				n++
			}
			kind = tokIdent
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			if m := durationRe.FindString(s[i:]); m != "" && (i+len(m) == len(s) || s[i+len(m)] == ':' || !isIdentChar(s[i+len(m)])) {
				n, kind = len(m), tokDuration
				break
			}
			n, kind = len(numberRe.FindString(s[i:])), tokNumber
			if i+n < len(s) && isIdentChar(s[i+n]) {
				return nil, fmt.Errorf("lex %q at %d: number followed by %q", s, i, s[i+n])
			}
		default:
			for _, op := range twoCharOps {
				if strings.HasPrefix(s[i:], op) {
					n = 2
				}
			}
		}
		out = append(out, token{kind, s[i : i+n]})
		i += n
	}
	return out, nil
}

// stringEnd returns the length of the quoted string at the start of s, quotes included.
func stringEnd(s string) (int, error) {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string %s", s)
}

// joinTokens is the inverse of lexPromQL.
func joinTokens(ts []token) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.text)
	}
	return b.String()
}

// compressDuration divides a Prometheus duration by factor; the result must be a whole number of milliseconds,
// the resolution of Prometheus durations.
func compressDuration(s string, factor int64) (string, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		return "", fmt.Errorf("compress duration %q: %w", s, err)
	}
	if d <= 0 || time.Duration(d)%(time.Duration(factor)*time.Millisecond) != 0 {
		return "", fmt.Errorf("compress duration %q: not a positive whole number of milliseconds once divided by %d", s, factor)
	}
	return model.Duration(time.Duration(d) / time.Duration(factor)).String(), nil
}

// compressHorizon divides a horizon label value (the exporter's spelling, e.g. "1h") by factor and spells the
// result the way the exporter spells its horizon labels.
func compressHorizon(s string, factor int64) (string, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		return "", fmt.Errorf("compress horizon %q: %w", s, err)
	}
	if time.Duration(d)%(time.Duration(factor)*time.Millisecond) != 0 {
		return "", fmt.Errorf("compress horizon %q: not a whole number of milliseconds once divided by %d", s, factor)
	}
	return exposition.FormatDuration(time.Duration(d) / time.Duration(factor)), nil
}

// timescaleMetrics are the metrics whose values are lengths of time on the clock the test compresses: the
// forecast's ETA and history. Other *_seconds metrics (disk await, collector duration) measure things that
// happen at the same speed in the test as in production and are left alone.
var timescaleMetrics = map[string]bool{
	"servermon_forecast_seconds_until_threshold": true,
	"servermon_forecast_history_seconds":         true,
}

// isTimescaleName reports whether a metric name, or the metric part of a recording rule name
// (level:metric:operations), is a timescale metric.
func isTimescaleName(name string) bool {
	if parts := strings.Split(name, ":"); len(parts) == 3 {
		name = parts[1]
	}
	return timescaleMetrics[name]
}

// isTimescaleOperand reports whether the tokens of one operand of a comparison evaluate to a length of time on the
// compressed clock: they name a timescale metric, or subtract a *_time_seconds timestamp from time() (an age).
func isTimescaleOperand(ts []token) bool {
	hasTime, hasTimestamp := false, false
	for i, t := range ts {
		if t.kind != tokIdent {
			continue
		}
		switch {
		case isTimescaleName(t.text):
			return true
		case t.text == "time" && nextSignificant(ts, i) >= 0 && ts[nextSignificant(ts, i)].text == "(":
			hasTime = true
		case strings.HasSuffix(t.text, "_time_seconds"):
			hasTimestamp = true
		}
	}
	return hasTime && hasTimestamp
}

func isComparison(t token) bool {
	switch t.text {
	case "<", ">", "<=", ">=", "==", "!=":
		return t.kind == tokOp
	}
	return false
}

func isSetOp(t token) bool {
	return t.kind == tokIdent && (t.text == "and" || t.text == "or" || t.text == "unless")
}

// prevSignificant and nextSignificant return the index of the nearest token before/after i that is neither space
// nor comment, or -1.
func prevSignificant(ts []token, i int) int {
	for i--; i >= 0; i-- {
		if ts[i].kind != tokSpace && ts[i].kind != tokComment {
			return i
		}
	}
	return -1
}

func nextSignificant(ts []token, i int) int {
	for i++; i < len(ts); i++ {
		if ts[i].kind != tokSpace && ts[i].kind != tokComment {
			return i
		}
	}
	return -1
}

// operand returns the tokens of the operand that ends just before index end (dir -1) or starts just after index
// start (dir +1): everything up to an unbalanced bracket, a comma, a set operator or another comparison at the same
// depth. Comparisons bind less tightly than arithmetic, so "time() - x < 1" has the operand "time() - x".
func operand(ts []token, from, dir int) []token {
	if from < 0 {
		return nil
	}
	depth, i := 0, from
	open, closing := "([{", ")]}"
	if dir > 0 {
		open, closing = closing, open
	}
	for ; i >= 0 && i < len(ts); i += dir {
		t := ts[i]
		switch {
		case t.kind == tokOp && strings.Contains(closing, t.text):
			depth++
		case t.kind == tokOp && strings.Contains(open, t.text):
			depth--
		}
		if depth < 0 || (depth == 0 && (isSetOp(t) || isComparison(t) || t.text == ",")) {
			break
		}
	}
	if dir < 0 {
		return ts[i+1 : from+1]
	}
	return ts[from:i]
}

// change is one token rewritten by compressExpr.
type change struct{ from, to string }

// compressExpr divides every time in a PromQL expression by factor:
//   - durations (range selectors, subqueries, offsets): 15m → 1s500ms for factor 600;
//   - the value of a horizon label matcher, spelt as the exporter spells horizons: horizon="1h" → horizon="6s"
//     (values holding a Grafana $variable are left for the caller to substitute);
//   - a number compared with a timescale operand (see isTimescaleOperand): ETA < 7200 → ETA < 12.
//
// It fails where it cannot compress faithfully: a horizon regexp, or a time that is not a whole number of
// milliseconds once divided.
func compressExpr(expr string, factor int64) (string, []change, error) {
	ts, err := lexPromQL(expr)
	if err != nil {
		return "", nil, err
	}
	var changes []change
	set := func(i int, text string) {
		changes = append(changes, change{ts[i].text, text})
		ts[i].text = text
	}
	for i, t := range ts {
		switch t.kind {
		case tokDuration:
			d, err := compressDuration(t.text, factor)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", expr, err)
			}
			set(i, d)
		case tokString:
			op := prevSignificant(ts, i)
			if op < 0 || !strings.Contains("= != =~ !~", ts[op].text) || ts[op].kind != tokOp {
				continue
			}
			if label := prevSignificant(ts, op); label < 0 || ts[label].text != "horizon" {
				continue
			}
			v, err := strconv.Unquote(t.text)
			if err != nil {
				return "", nil, fmt.Errorf("%s: horizon value %s: %w", expr, t.text, err)
			}
			if strings.Contains(v, "$") {
				continue
			}
			if ts[op].text == "=~" || ts[op].text == "!~" {
				if _, err := model.ParseDuration(v); err != nil {
					return "", nil, fmt.Errorf("%s: cannot compress the horizon regexp %s", expr, t.text)
				}
			}
			h, err := compressHorizon(v, factor)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", expr, err)
			}
			set(i, strconv.Quote(h))
		case tokNumber:
			before, after := prevSignificant(ts, i), nextSignificant(ts, i)
			if before >= 0 && ts[before].text == "bool" {
				before = prevSignificant(ts, before)
			}
			var side []token
			switch {
			case before >= 0 && isComparison(ts[before]):
				side = operand(ts, prevSignificant(ts, before), -1)
			case after >= 0 && isComparison(ts[after]):
				next := nextSignificant(ts, after)
				if next >= 0 && ts[next].text == "bool" {
					next = nextSignificant(ts, next)
				}
				side = operand(ts, next, +1)
			}
			if !isTimescaleOperand(side) {
				continue
			}
			v, err := strconv.ParseFloat(t.text, 64)
			if err != nil {
				return "", nil, fmt.Errorf("%s: number %s: %w", expr, t.text, err)
			}
			set(i, strconv.FormatFloat(v/float64(factor), 'g', -1, 64))
		}
	}
	return joinTokens(ts), changes, nil
}
