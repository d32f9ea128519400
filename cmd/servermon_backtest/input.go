package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// point is one observation of the recorded series.
type point struct {
	T time.Time
	V float64
}

// seriesLimits bounds what readSeries accepts so that a wrong or hostile file
// fails with a clear message instead of exhausting memory.
type seriesLimits struct {
	maxLineBytes int   // longest CSV line, newline included
	maxRows      int   // CSV data rows or JSON samples, missing ones included
	maxJSONBytes int64 // whole JSON document; the decoder buffers it entirely
}

// defaultSeriesLimits: 50 M points of 32 bytes each is already 1.6 GB of RAM,
// far beyond any backtest horizon worth running on one machine.
var defaultSeriesLimits = seriesLimits{
	maxLineBytes: 1 << 20,
	maxRows:      50_000_000,
	maxJSONBytes: 1 << 30,
}

// maxUnixSeconds is 9999-12-31T23:59:59Z. It also rejects Unix milliseconds,
// whose 13 digits would otherwise be read as a date around the year 55000.
const maxUnixSeconds = 253402300799

// readSeries reads a whole recorded series, auto-detecting the format.
//
// The format is chosen by the first byte that is not a UTF-8 BOM or white
// space: '{' means a Prometheus HTTP API response, anything else CSV.
//
// CSV: a header `timestamp,value` (case-insensitive, spaces around fields and
// a field wrapped in double quotes are tolerated, no embedded commas), then
// one observation per line, LF or CRLF. A timestamp is RFC 3339 (fraction and
// offset optional, no offset meaning UTC), `YYYY-MM-DD HH:MM:SS[.frac][offset]`
// (UTC unless an offset is given) or Unix seconds (integer or decimal; digits
// beyond nanoseconds are truncated). An empty value or NaN is a missing
// observation: the row is skipped but its timestamp still has to parse.
// Blank lines may follow the data, not interrupt it.
//
// Prometheus JSON: the response of /api/v1/query_range, decoded with
// prometheus/common/model (millisecond timestamps). status must be "success"
// (otherwise the API's error is returned), resultType must be "matrix".
// selector picks the one series to read (see parseSelector); it may be empty
// when the response holds a single series. Sample values "NaN" are missing
// observations and skipped.
//
// In both formats an infinite value is an error (a forecaster can neither fit
// nor score it, and a silent skip would hide an overflow upstream), and a
// series without any observation is an error. The returned points are never
// empty and finite, in the input's order: sorting them and merging the rows
// of one step is prepareSeries' job.
func readSeries(r io.Reader, selector string) ([]point, error) {
	return readSeriesLimited(r, selector, defaultSeriesLimits)
}

func readSeriesLimited(r io.Reader, selector string, lim seriesLimits) ([]point, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	// Leading blank lines are skipped for detection; count them so CSV line
	// numbers still match what an editor shows.
	newlines := 0
	for {
		c, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty input: want CSV with a timestamp,value header or Prometheus JSON")
		}
		if err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
		switch c {
		case '\n':
			newlines++
			continue
		case ' ', '\t', '\r':
			continue
		}
		_ = br.UnreadByte()
		if c == '{' {
			return readPromJSON(br, selector, lim)
		}
		if selector != "" {
			return nil, errors.New("a series selector only applies to Prometheus JSON input, not CSV")
		}
		return readCSVSeries(br, newlines, lim)
	}
}

// readCSVSeries reads the CSV format described at readSeries. linesBefore is
// the number of lines already consumed before the header.
func readCSVSeries(r io.Reader, linesBefore int, lim seriesLimits) ([]point, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, lim.maxLineBytes)), lim.maxLineBytes)
	line := linesBefore
	if !sc.Scan() {
		return nil, csvScanError(sc.Err(), line+1, lim)
	}
	line++
	if err := checkCSVHeader(sc.Text()); err != nil {
		return nil, fmt.Errorf("line %d: %w", line, err)
	}

	var (
		pts       []point
		rows      int
		blankLine int // first blank line seen, 0 if none yet
	)
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			if blankLine == 0 {
				blankLine = line
			}
			continue
		}
		if blankLine != 0 {
			return nil, fmt.Errorf("line %d: data after the blank line %d (concatenated files?)", line, blankLine)
		}
		rows++
		if rows > lim.maxRows {
			return nil, fmt.Errorf("line %d: more than %d rows; split the input", line, lim.maxRows)
		}
		tsField, valField, _ := strings.Cut(text, ",")
		if n := strings.Count(text, ",") + 1; n != 2 {
			return nil, fmt.Errorf("line %d: want 2 comma-separated fields (timestamp,value), got %d", line, n)
		}
		t, err := parseSeriesTime(unquoteCSVField(tsField))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		v, ok, err := parseSeriesValue(unquoteCSVField(valField))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if ok {
			pts = append(pts, point{T: t, V: v})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, csvScanError(err, line+1, lim)
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("no observations: %d data rows, all with an empty or NaN value", rows)
	}
	return pts, nil
}

func csvScanError(err error, line int, lim seriesLimits) error {
	switch {
	case err == nil:
		return errors.New("empty input: want a timestamp,value header")
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("line %d: longer than %d bytes", line, lim.maxLineBytes)
	default:
		return fmt.Errorf("line %d: read: %w", line, err)
	}
}

func checkCSVHeader(text string) error {
	fields := strings.Split(text, ",")
	if len(fields) == 2 &&
		strings.EqualFold(unquoteCSVField(fields[0]), "timestamp") &&
		strings.EqualFold(unquoteCSVField(fields[1]), "value") {
		return nil
	}
	return fmt.Errorf("header %q: want timestamp,value", truncateForError(text))
}

// unquoteCSVField trims spaces and one pair of surrounding double quotes, which
// spreadsheet exports put around every field.
func unquoteCSVField(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

var seriesTimeLayouts = []string{
	time.RFC3339, // fractional seconds are accepted after "05" when parsing
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
}

// parseSeriesTime parses one CSV timestamp; see readSeries for the formats.
func parseSeriesTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty timestamp")
	}
	if isDecimal(s) {
		return parseUnixDecimal(s)
	}
	for _, layout := range seriesTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339, YYYY-MM-DD HH:MM:SS or Unix seconds", truncateForError(s))
}

// isDecimal reports whether s is digits with at most one '.', like 1700000000
// or 1700000000.25.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// parseUnixDecimal converts decimal Unix seconds without going through
// float64, which would lose the sub-microsecond digits of current times.
func parseUnixDecimal(s string) (time.Time, error) {
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 12 {
		return time.Time{}, fmt.Errorf("unix timestamp %q: after the year 9999 (milliseconds instead of seconds?)", truncateForError(s))
	}
	var sec int64
	if intPart != "" {
		var err error
		if sec, err = strconv.ParseInt(intPart, 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("unix timestamp %q: %w", truncateForError(s), err)
		}
	}
	if sec > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("unix timestamp %q: after the year 9999 (milliseconds instead of seconds?)", truncateForError(s))
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	var nsec int64
	for i := 0; i < 9; i++ {
		nsec *= 10
		if i < len(frac) {
			nsec += int64(frac[i] - '0')
		}
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// parseSeriesValue parses an observed value; ok is false for a missing one.
func parseSeriesValue(s string) (v float64, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseFloat(s, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, false, fmt.Errorf("value %q: outside the float64 range", truncateForError(s))
		}
		return 0, false, fmt.Errorf("value %q: not a number", truncateForError(s))
	}
	switch {
	case math.IsNaN(v):
		return 0, false, nil
	case math.IsInf(v, 0):
		return 0, false, fmt.Errorf("value %q: infinite values cannot be forecast", truncateForError(s))
	}
	return v, true, nil
}

// truncateForError keeps error messages readable when the input is garbage.
func truncateForError(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// promResponse is the subset of the Prometheus HTTP API envelope we use.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      *struct {
		ResultType model.ValueType   `json:"resultType"`
		Result     []promRangeSeries `json:"result"`
	} `json:"data"`
}

// promRangeSeries is a model.SampleStream whose samples are kept raw, so that
// only the selected series is decoded, with the index of a bad sample in the
// error, and a series of the response that is not read cannot fail the run.
type promRangeSeries struct {
	Metric model.Metric    `json:"metric"`
	Values json.RawMessage `json:"values"`
}

// limitedReader fails with errInputTooLarge instead of silently cutting the
// input short the way io.LimitReader does.
type limitedReader struct {
	r io.Reader
	n int64
}

var errInputTooLarge = errors.New("input too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Tell a document that ends exactly at the limit from a longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, errInputTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func readPromJSON(r io.Reader, selector string, lim seriesLimits) ([]point, error) {
	matchers, err := parseSelector(selector)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(&limitedReader{r: r, n: lim.maxJSONBytes})
	tooLarge := fmt.Errorf("prometheus JSON: larger than %d bytes; query a shorter range or a coarser step", lim.maxJSONBytes)
	var resp promResponse
	if err := dec.Decode(&resp); err != nil {
		if errors.Is(err, errInputTooLarge) {
			return nil, tooLarge
		}
		return nil, fmt.Errorf("prometheus JSON: %w", err)
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, errInputTooLarge):
		return nil, tooLarge
	case !errors.Is(err, io.EOF):
		return nil, errors.New("prometheus JSON: unexpected data after the response object")
	}
	if resp.Status != "success" {
		if resp.Error != "" {
			return nil, fmt.Errorf("prometheus API error (status %q, %s): %s", resp.Status, resp.ErrorType, truncateForError(resp.Error))
		}
		return nil, fmt.Errorf("prometheus JSON: status %q, want \"success\"", truncateForError(resp.Status))
	}
	if resp.Data == nil {
		return nil, errors.New("prometheus JSON: no data object")
	}
	if resp.Data.ResultType != model.ValMatrix {
		return nil, fmt.Errorf("prometheus JSON: resultType %q, want \"matrix\" (use /api/v1/query_range)", resp.Data.ResultType)
	}
	s, err := selectSeries(resp.Data.Result, matchers, selector)
	if err != nil {
		return nil, err
	}
	return decodePromValues(s, lim)
}

// labelMatcher is one name="value" term of a selector.
type labelMatcher struct{ name, value string }

// parseSelector parses a Prometheus-like equality selector:
// `[metric_name][{]name="value", other="x"[,][}]`. Values are double-quoted
// with Go/PromQL escapes. Only `=` is supported; as in PromQL, name="" also
// matches series without that label.
func parseSelector(sel string) ([]labelMatcher, error) {
	p := selectorParser{s: sel}
	p.skipSpace()
	if p.done() {
		return nil, nil
	}
	var ms []labelMatcher
	if p.peek() != '{' {
		start := p.pos
		name := p.ident(true)
		if name == "" {
			return nil, p.errorf("want a metric name, '{' or a label name")
		}
		p.skipSpace()
		switch {
		case p.done():
			return []labelMatcher{{"__name__", name}}, nil
		case p.peek() == '{':
			ms = append(ms, labelMatcher{"__name__", name})
		default:
			// No braces: what was read is the first label name.
			p.pos = start
			return p.matchers(nil, false)
		}
	}
	p.pos++ // '{'
	return p.matchers(ms, true)
}

type selectorParser struct {
	s   string
	pos int
}

func (p *selectorParser) done() bool { return p.pos >= len(p.s) }
func (p *selectorParser) peek() byte { return p.s[p.pos] }

func (p *selectorParser) skipSpace() {
	for !p.done() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *selectorParser) errorf(format string, args ...any) error {
	return fmt.Errorf("selector %q at offset %d: %s", truncateForError(p.s), p.pos, fmt.Sprintf(format, args...))
}

// ident reads a label name, or a metric name (which may contain ':') when
// metric is true. It returns "" if none starts at the current position.
func (p *selectorParser) ident(metric bool) string {
	start := p.pos
	for !p.done() {
		c := p.s[p.pos]
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(p.pos > start && c >= '0' && c <= '9') || (metric && c == ':')
		if !ok {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *selectorParser) matchers(ms []labelMatcher, braced bool) ([]labelMatcher, error) {
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m.name] = true
	}
	for {
		p.skipSpace()
		if p.done() {
			if braced {
				return nil, p.errorf("missing '}'")
			}
			return ms, nil
		}
		if braced && p.peek() == '}' {
			p.pos++
			p.skipSpace()
			if !p.done() {
				return nil, p.errorf("unexpected text after '}'")
			}
			return ms, nil
		}
		name := p.ident(false)
		if name == "" {
			return nil, p.errorf("want a label name")
		}
		if seen[name] {
			return nil, p.errorf("label %q given twice", name)
		}
		seen[name] = true
		p.skipSpace()
		if p.done() || p.peek() != '=' {
			return nil, p.errorf("want '=' after %q (only equality matchers are supported)", name)
		}
		p.pos++
		if !p.done() && (p.peek() == '~' || p.peek() == '=') {
			return nil, p.errorf("only '=' matchers are supported")
		}
		p.skipSpace()
		value, err := p.quoted()
		if err != nil {
			return nil, err
		}
		ms = append(ms, labelMatcher{name, value})
		p.skipSpace()
		if p.done() {
			continue
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			if !braced {
				return nil, p.errorf("'}' without '{'")
			}
		default:
			return nil, p.errorf("want ',' or '}' after a matcher")
		}
	}
}

func (p *selectorParser) quoted() (string, error) {
	if p.done() || p.peek() != '"' {
		return "", p.errorf("want a double-quoted label value")
	}
	start := p.pos
	for i := p.pos + 1; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			i++
		case '"':
			v, err := strconv.Unquote(p.s[start : i+1])
			if err != nil {
				return "", p.errorf("bad label value %s", truncateForError(p.s[start:i+1]))
			}
			p.pos = i + 1
			return v, nil
		}
	}
	return "", p.errorf("unterminated label value")
}

func (s *promRangeSeries) matches(ms []labelMatcher) bool {
	for _, m := range ms {
		if string(s.Metric[model.LabelName(m.name)]) != m.value {
			return false
		}
	}
	return true
}

func selectSeries(all []promRangeSeries, ms []labelMatcher, selector string) (*promRangeSeries, error) {
	if len(all) == 0 {
		return nil, errors.New("prometheus JSON: the query returned no series")
	}
	var picked []*promRangeSeries
	for i := range all {
		if all[i].matches(ms) {
			picked = append(picked, &all[i])
		}
	}
	if len(picked) == 1 {
		return picked[0], nil
	}
	const shown = 5
	list := picked
	what := fmt.Sprintf("%d of %d series match the selector %q; narrow it to exactly one", len(picked), len(all), selector)
	switch {
	case selector == "":
		what = fmt.Sprintf("the response holds %d series; pass a selector that picks exactly one", len(all))
	case len(picked) == 0:
		what = fmt.Sprintf("no series of %d matches the selector %q", len(all), selector)
		list = nil
		for i := range all {
			list = append(list, &all[i])
		}
	}
	labels := make([]string, 0, shown)
	for i, s := range list {
		if i == shown {
			labels = append(labels, fmt.Sprintf("… and %d more", len(list)-shown))
			break
		}
		labels = append(labels, truncateLabelSet(s.Metric.String()))
	}
	return nil, fmt.Errorf("prometheus JSON: %s; series: %s", what, strings.Join(labels, ", "))
}

func truncateLabelSet(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "…}"
}

// decodePromValues decodes the `values` of the picked series:
// [[<unix seconds>, "<value>"], ...].
func decodePromValues(s *promRangeSeries, lim seriesLimits) ([]point, error) {
	var raw []json.RawMessage
	if len(s.Values) > 0 {
		if err := json.Unmarshal(s.Values, &raw); err != nil {
			return nil, fmt.Errorf("prometheus JSON: values of %s: %w", truncateLabelSet(s.Metric.String()), err)
		}
	}
	if len(raw) > lim.maxRows {
		return nil, fmt.Errorf("prometheus JSON: %d samples, more than %d; query a shorter range", len(raw), lim.maxRows)
	}
	pts := make([]point, 0, len(raw))
	for i, pair := range raw {
		t, v, ok, err := decodePromSample(pair)
		if err != nil {
			return nil, fmt.Errorf("prometheus JSON: sample %d: %w", i, err)
		}
		if ok {
			pts = append(pts, point{T: t, V: v})
		}
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("prometheus JSON: series %s has no observations (%d samples, all NaN)",
			truncateLabelSet(s.Metric.String()), len(raw))
	}
	return pts, nil
}

// decodePromSample decodes one [<unix seconds>, "<value>"] pair with
// model.SamplePair's parsers, insisting on the two elements model does not
// check (it reads a truncated [t] as the value 0). ok is false for NaN.
func decodePromSample(pair json.RawMessage) (time.Time, float64, bool, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(pair, &parts); err != nil {
		return time.Time{}, 0, false, fmt.Errorf("%s: want [timestamp, \"value\"]", truncateForError(string(pair)))
	}
	if len(parts) != 2 {
		return time.Time{}, 0, false, fmt.Errorf("want [timestamp, \"value\"], got %d elements", len(parts))
	}
	var sp model.SamplePair
	// model.Time counts milliseconds in an int64, which more than 12 digits of seconds would overflow unnoticed.
	seconds, _, _ := strings.Cut(string(parts[0]), ".")
	tooLong := len(strings.TrimLeft(strings.TrimPrefix(seconds, "-"), "0")) > 12
	if err := sp.Timestamp.UnmarshalJSON(parts[0]); err != nil || tooLong || sp.Timestamp < 0 || sp.Timestamp.Unix() > maxUnixSeconds {
		hint := ""
		if err == nil && !strings.HasPrefix(seconds, "-") {
			hint = " (milliseconds instead of seconds?)"
		}
		return time.Time{}, 0, false, fmt.Errorf("timestamp %s: want Unix seconds between 0 and %d%s", truncateForError(string(parts[0])), int64(maxUnixSeconds), hint)
	}
	if err := sp.Value.UnmarshalJSON(parts[1]); err != nil {
		what := "want a quoted number"
		if bytes.HasPrefix(parts[1], []byte(`"`)) {
			what = "not a number"
		}
		return time.Time{}, 0, false, fmt.Errorf("value %s: %s", truncateForError(string(parts[1])), what)
	}
	v := float64(sp.Value)
	switch {
	case math.IsNaN(v):
		return time.Time{}, 0, false, nil
	case math.IsInf(v, 0):
		return time.Time{}, 0, false, fmt.Errorf("value %s: infinite values cannot be forecast", truncateForError(string(parts[1])))
	}
	return sp.Timestamp.Time().UTC(), v, true, nil
}
