package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func checkPoints(t *testing.T, got, want []point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d points %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if !got[i].T.Equal(want[i].T) || got[i].V != want[i].V {
			t.Errorf("point %d = {%s %v}, want {%s %v}", i,
				got[i].T.Format(time.RFC3339Nano), got[i].V, want[i].T.Format(time.RFC3339Nano), want[i].V)
		}
	}
}

func TestReadSeriesCSV(t *testing.T) {
	t0 := utc("2024-03-01T10:00:00Z")
	tests := []struct {
		name string
		in   string
		want []point
	}{
		{"rfc3339", "timestamp,value\n2024-03-01T10:00:00Z,1\n2024-03-01T10:00:15Z,2.5\n",
			[]point{{t0, 1}, {t0.Add(15 * time.Second), 2.5}}},
		{"rfc3339 offset and fraction", "timestamp,value\n2024-03-01T12:00:00.25+02:00,1\n",
			[]point{{t0.Add(250 * time.Millisecond), 1}}},
		{"rfc3339 without offset is UTC", "timestamp,value\n2024-03-01T10:00:00,1\n", []point{{t0, 1}}},
		{"space separated is UTC", "timestamp,value\n2024-03-01 10:00:00,1\n2024-03-01 10:00:00.5,2\n",
			[]point{{t0, 1}, {t0.Add(500 * time.Millisecond), 2}}},
		{"space separated with offset", "timestamp,value\n2024-03-01 11:00:00+01:00,1\n", []point{{t0, 1}}},
		{"unix integer", fmt.Sprintf("timestamp,value\n%d,1\n%d,-3e2\n", t0.Unix(), t0.Unix()+60),
			[]point{{t0, 1}, {t0.Add(time.Minute), -300}}},
		{"unix fraction keeps nanoseconds", fmt.Sprintf("timestamp,value\n%d.123456789,1\n%d.5,2\n", t0.Unix(), t0.Unix()+1),
			[]point{{t0.Add(123456789), 1}, {t0.Add(1500 * time.Millisecond), 2}}},
		{"unix fraction beyond nanoseconds is truncated", fmt.Sprintf("timestamp,value\n%d.0000000019,1\n", t0.Unix()),
			[]point{{t0.Add(1), 1}}},
		{"unix leading zeros and zero", "timestamp,value\n0,1\n000000000000000001,2\n",
			[]point{{time.Unix(0, 0), 1}, {time.Unix(1, 0), 2}}},
		{"bom crlf spaces case quotes", "\xef\xbb\xbf TimeStamp , \"VALUE\"\r\n \"2024-03-01T10:00:00Z\" , \"7\" \r\n",
			[]point{{t0, 7}}},
		{"leading and trailing blank lines", "\n \n\ntimestamp,value\n2024-03-01T10:00:00Z,1\n\n  \n\r\n",
			[]point{{t0, 1}}},
		{"no final newline", "timestamp,value\n2024-03-01T10:00:00Z,1", []point{{t0, 1}}},
		{"empty and NaN values are missing", "timestamp,value\n2024-03-01T10:00:00Z,\n2024-03-01T10:00:01Z,NaN\n" +
			"2024-03-01T10:00:02Z,nan\n2024-03-01T10:00:03Z, 4 \n",
			[]point{{t0.Add(3 * time.Second), 4}}},
		// Sorting and merging are prepareSeries' job: the reader keeps the rows as they come.
		{"duplicate and backwards timestamps in file order", "timestamp,value\n5,1\n5,2\n4,3\n6,\n",
			[]point{{time.Unix(5, 0), 1}, {time.Unix(5, 0), 2}, {time.Unix(4, 0), 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSeries(strings.NewReader(tc.in), "")
			if err != nil {
				t.Fatalf("readSeries: %v", err)
			}
			checkPoints(t, got, tc.want)
		})
	}
}

func TestReadSeriesCSVErrors(t *testing.T) {
	small := seriesLimits{maxLineBytes: 64, maxRows: 3, maxJSONBytes: 1 << 20}
	tests := []struct {
		name     string
		in       string
		selector string
		lim      seriesLimits
		wantErr  string
	}{
		{"empty", "", "", defaultSeriesLimits, "empty input"},
		{"only space", "\xef\xbb\xbf \n\r\n\t", "", defaultSeriesLimits, "empty input"},
		{"bad header", "time,value\n1,2\n", "", defaultSeriesLimits, `line 1: header "time,value"`},
		{"header line number after blank lines", "\n\nts\n", "", defaultSeriesLimits, "line 3: header"},
		{"three header fields", "timestamp,value,x\n", "", defaultSeriesLimits, "line 1: header"},
		{"header only", "timestamp,value\n", "", defaultSeriesLimits, "no observations: 0 data rows"},
		{"all missing", "timestamp,value\n1,\n2,NaN\n", "", defaultSeriesLimits, "no observations: 2 data rows"},
		{"field count", "timestamp,value\n1,2\n3,4,5\n", "", defaultSeriesLimits, "line 3: want 2 comma-separated fields"},
		{"one field", "timestamp,value\n1\n", "", defaultSeriesLimits, "line 2: want 2 comma-separated fields (timestamp,value), got 1"},
		{"bad timestamp", "timestamp,value\n2024-13-01T00:00:00Z,1\n", "", defaultSeriesLimits, `line 2: timestamp "2024-13-01T00:00:00Z"`},
		{"empty timestamp", "timestamp,value\n,1\n", "", defaultSeriesLimits, "line 2: empty timestamp"},
		{"two dots", "timestamp,value\n1.2.3,1\n", "", defaultSeriesLimits, `line 2: timestamp "1.2.3"`},
		{"negative unix", "timestamp,value\n-5,1\n", "", defaultSeriesLimits, `line 2: timestamp "-5"`},
		{"milliseconds", "timestamp,value\n1700000000000,1\n", "", defaultSeriesLimits, "line 2: unix timestamp \"1700000000000\": after the year 9999 (milliseconds"},
		{"just above year 9999", "timestamp,value\n253402300800,1\n", "", defaultSeriesLimits, "after the year 9999"},
		{"bad value", "timestamp,value\n1,1\n2,abc\n", "", defaultSeriesLimits, `line 3: value "abc": not a number`},
		{"infinite value", "timestamp,value\n1,+Inf\n", "", defaultSeriesLimits, `line 2: value "+Inf": infinite`},
		{"overflowing value", "timestamp,value\n1,1e400\n", "", defaultSeriesLimits, `line 2: value "1e400": outside the float64 range`},
		{"bad timestamp of a missing row", "timestamp,value\n5,1\nx,\n", "", defaultSeriesLimits, `line 3: timestamp "x"`},
		{"data after blank line", "timestamp,value\n1,1\n\n2,2\n", "", defaultSeriesLimits, "line 4: data after the blank line 3"},
		{"line too long", "timestamp,value\n1," + strings.Repeat("1", 100) + "\n", "", small, "line 2: longer than 64 bytes"},
		{"header too long", strings.Repeat("x", 100), "", small, "line 1: longer than 64 bytes"},
		{"too many rows", "timestamp,value\n1,1\n2,2\n3,3\n4,4\n", "", small, "line 5: more than 3 rows"},
		{"selector on csv", "timestamp,value\n1,1\n", `job="x"`, defaultSeriesLimits, "selector only applies to Prometheus JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSeriesLimited(strings.NewReader(tc.in), tc.selector, tc.lim)
			if err == nil {
				t.Fatalf("want error containing %q, got %d points", tc.wantErr, len(got))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadSeriesCSVRowLimitExact(t *testing.T) {
	lim := seriesLimits{maxLineBytes: 64, maxRows: 3, maxJSONBytes: 1 << 20}
	got, err := readSeriesLimited(strings.NewReader("timestamp,value\n1,1\n2,2\n3,3\n\n"), "", lim)
	if err != nil {
		t.Fatalf("3 rows with a limit of 3: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d points, want 3", len(got))
	}
}

// promMatrix builds a query_range response; each series is a label set and
// its samples in the API's [seconds, "value"] form.
func promMatrix(series ...string) string {
	return `{"status":"success","data":{"resultType":"matrix","result":[` + strings.Join(series, ",") + `]}}`
}

func TestReadSeriesPromJSON(t *testing.T) {
	t0 := time.Unix(1700000000, 0).UTC()
	cpu0 := `{"metric":{"__name__":"node_load1","instance":"a:9100","job":"node"},"values":[[1700000000,"1"],[1700000015.5,"2"]]}`
	cpu1 := `{"metric":{"__name__":"node_load1","instance":"b:9100","job":"node","env":"prod"},"values":[[1700000000,"10"]]}`
	other := `{"metric":{"__name__":"up","instance":"c\"q","job":"node"},"values":[[1700000000,"5"]]}`
	tests := []struct {
		name     string
		in       string
		selector string
		want     []point
	}{
		{"single series without selector", promMatrix(cpu0), "",
			[]point{{t0, 1}, {t0.Add(15500 * time.Millisecond), 2}}},
		{"single series with matching selector", promMatrix(cpu0), `job="node"`,
			[]point{{t0, 1}, {t0.Add(15500 * time.Millisecond), 2}}},
		{"selector without braces", promMatrix(cpu0, cpu1), `instance="b:9100"`, []point{{t0, 10}}},
		{"selector with braces and spaces", promMatrix(cpu0, cpu1), ` { instance = "a:9100" , job="node", } `,
			[]point{{t0, 1}, {t0.Add(15500 * time.Millisecond), 2}}},
		{"metric name selector", promMatrix(cpu0, other), `up`, []point{{t0, 5}}},
		{"metric name with braces", promMatrix(cpu0, cpu1, other), `node_load1{env="prod"}`, []point{{t0, 10}}},
		{"empty value matches missing label", promMatrix(cpu0, cpu1), `{env=""}`,
			[]point{{t0, 1}, {t0.Add(15500 * time.Millisecond), 2}}},
		{"escaped quote in value", promMatrix(cpu0, other), `instance="c\"q"`, []point{{t0, 5}}},
		// Prometheus writes milliseconds; model.Time keeps no more.
		{"NaN skipped, whitespace and BOM before", "\xef\xbb\xbf\n  " + promMatrix(
			`{"metric":{},"values":[[1700000000,"NaN"],[1700000001.0019,"-2.5e-3"],[1700000002,"3"]]}`) + "\n", "",
			[]point{{t0.Add(time.Second + time.Millisecond), -0.0025}, {t0.Add(2 * time.Second), 3}}},
		{"duplicate and backwards in file order", promMatrix(`{"metric":{},"values":[[1700000001,"1"],[1700000001,"2"],[1700000000,"3"]]}`), "",
			[]point{{t0.Add(time.Second), 1}, {t0.Add(time.Second), 2}, {t0, 3}}},
		{"extra fields ignored", `{"status":"success","warnings":["w"],"data":{"resultType":"matrix","result":[` +
			`{"metric":{"a":"b"},"values":[[1700000000,"1"]],"x":1}]}}`, "", []point{{t0, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSeries(strings.NewReader(tc.in), tc.selector)
			if err != nil {
				t.Fatalf("readSeries: %v", err)
			}
			checkPoints(t, got, tc.want)
		})
	}
}

func TestReadSeriesPromJSONErrors(t *testing.T) {
	series := func(instance string) string {
		return `{"metric":{"instance":"` + instance + `","job":"node"},"values":[[1,"1"]]}`
	}
	values := func(v string) string { return promMatrix(`{"metric":{"job":"x"},"values":` + v + `}`) }
	many := make([]string, 7)
	for i := range many {
		many[i] = series(fmt.Sprintf("h%d", i))
	}
	small := seriesLimits{maxLineBytes: 1 << 10, maxRows: 2, maxJSONBytes: 1 << 20}
	tests := []struct {
		name     string
		in       string
		selector string
		lim      seriesLimits
		wantErr  []string
	}{
		{"api error", `{"status":"error","errorType":"bad_data","error":"parse error at char 3"}`, "", defaultSeriesLimits,
			[]string{`prometheus API error (status "error", bad_data): parse error at char 3`}},
		{"missing status", `{"data":{"resultType":"matrix","result":[]}}`, "", defaultSeriesLimits,
			[]string{`status "", want "success"`}},
		{"no data", `{"status":"success"}`, "", defaultSeriesLimits, []string{"no data object"}},
		{"vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`, "", defaultSeriesLimits,
			[]string{`resultType "vector", want "matrix"`}},
		{"no series", promMatrix(), "", defaultSeriesLimits, []string{"returned no series"}},
		{"several series without selector", promMatrix(series("a"), series("b"), series("c")), "", defaultSeriesLimits,
			[]string{"holds 3 series", `{instance="a", job="node"}`, `{instance="c", job="node"}`}},
		{"label sets truncated", promMatrix(many...), "", defaultSeriesLimits,
			[]string{"holds 7 series", `{instance="h4", job="node"}`, "… and 2 more"}},
		{"selector matches none", promMatrix(series("a"), series("b")), `job="db"`, defaultSeriesLimits,
			[]string{`no series of 2 matches the selector "job=\"db\""`, `{instance="a", job="node"}`}},
		{"selector on single series matches none", promMatrix(series("a")), `instance="b"`, defaultSeriesLimits,
			[]string{"no series of 1 matches"}},
		{"selector matches several", promMatrix(series("a"), series("b"), `{"metric":{"job":"db"},"values":[]}`), `job="node"`, defaultSeriesLimits,
			[]string{"2 of 3 series match", `{instance="b", job="node"}`}},
		{"bad selector", promMatrix(series("a")), `job=~"n.*"`, defaultSeriesLimits, []string{"only '=' matchers"}},
		{"infinite value", values(`[[1,"1"],[2,"+Inf"]]`), "", defaultSeriesLimits, []string{`sample 1: value "+Inf": infinite`}},
		{"garbage value", values(`[[1,"x"]]`), "", defaultSeriesLimits, []string{`sample 0: value "x": not a number`}},
		{"empty value", values(`[[1,""]]`), "", defaultSeriesLimits, []string{`sample 0: value "": not a number`}},
		{"null value", values(`[[1,null]]`), "", defaultSeriesLimits, []string{"sample 0: value null: want a quoted number"}},
		{"unquoted value", values(`[[1,2]]`), "", defaultSeriesLimits, []string{"sample 0: value 2: want a quoted number"}},
		{"string timestamp", values(`[["x","2"]]`), "", defaultSeriesLimits, []string{`sample 0: timestamp "x": want Unix seconds`}},
		{"exponent timestamp", values(`[[1.7e9,"2"]]`), "", defaultSeriesLimits, []string{"sample 0: timestamp 1.7e9: want Unix seconds"}},
		{"negative timestamp", values(`[[-1,"2"]]`), "", defaultSeriesLimits, []string{"sample 0: timestamp -1: want Unix seconds"}},
		{"milliseconds timestamp", values(`[[1700000000000,"2"]]`), "", defaultSeriesLimits, []string{"sample 0: timestamp 1700000000000", "milliseconds"}},
		{"timestamp overflowing milliseconds", values(`[[9223372036854775,"2"]]`), "", defaultSeriesLimits, []string{"sample 0: timestamp 9223372036854775"}},
		{"one element", values(`[[1]]`), "", defaultSeriesLimits, []string{"sample 0: want [timestamp, \"value\"], got 1 elements"}},
		{"huge exponent timestamp", values(`[[1e300,"2"]]`), "", defaultSeriesLimits, []string{"sample 0: timestamp 1e300"}},
		{"three elements", values(`[[1,"2","3"]]`), "", defaultSeriesLimits, []string{"sample 0: want [timestamp, \"value\"], got 3 elements"}},
		{"values not an array", values(`{}`), "", defaultSeriesLimits, []string{`values of {job="x"}`}},
		{"not a pair", values(`[{}]`), "", defaultSeriesLimits, []string{`sample 0: {}: want [timestamp, "value"]`}},
		{"all NaN", values(`[[1,"NaN"],[2,"NaN"]]`), "", defaultSeriesLimits, []string{`{job="x"} has no observations (2 samples, all NaN)`}},
		{"no values", values(`[]`), "", defaultSeriesLimits, []string{"no observations (0 samples"}},
		{"malformed", `{"status":"success",`, "", defaultSeriesLimits, []string{"prometheus JSON: unexpected EOF"}},
		{"trailing data", promMatrix(series("a")) + `{}`, "", defaultSeriesLimits, []string{"unexpected data after the response"}},
		{"too many samples", values(`[[1,"1"],[2,"1"],[3,"1"]]`), "", small, []string{"3 samples, more than 2"}},
		{"too large", promMatrix(series("a")), "", seriesLimits{maxLineBytes: 1, maxRows: 1, maxJSONBytes: 20},
			[]string{"larger than 20 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSeriesLimited(strings.NewReader(tc.in), tc.selector, tc.lim)
			if err == nil {
				t.Fatalf("want error, got %d points", len(got))
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestReadSeriesJSONSizeLimitBoundary(t *testing.T) {
	doc := promMatrix(`{"metric":{},"values":[[1,"1"]]}`)
	lim := seriesLimits{maxLineBytes: 1, maxRows: 10, maxJSONBytes: int64(len(doc))}
	if _, err := readSeriesLimited(strings.NewReader(doc), "", lim); err != nil {
		t.Fatalf("document of exactly the limit: %v", err)
	}
	if _, err := readSeriesLimited(strings.NewReader(doc+" "), "", lim); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("document one byte over the limit: err = %v, want a size error", err)
	}
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in      string
		want    []labelMatcher
		wantErr string
	}{
		{in: ""},
		{in: "  "},
		{in: "{}"},
		{in: " { } "},
		{in: `a="b"`, want: []labelMatcher{{"a", "b"}}},
		{in: `a="b",`, want: []labelMatcher{{"a", "b"}}},
		{in: `{a="b",c_1=""}`, want: []labelMatcher{{"a", "b"}, {"c_1", ""}}},
		{in: `job:rate5m`, want: []labelMatcher{{"__name__", "job:rate5m"}}},
		{in: `up {job="x"}`, want: []labelMatcher{{"__name__", "up"}, {"job", "x"}}},
		{in: `a="\u00e9\n\\"`, want: []labelMatcher{{"a", "é\n\\"}}},
		{in: `{a="b"`, wantErr: "missing '}'"},
		{in: `{a="b"} x`, wantErr: "unexpected text after '}'"},
		{in: `a="b"}`, wantErr: "'}' without '{'"},
		{in: `{1a="b"}`, wantErr: "want a label name"},
		{in: `9`, wantErr: "want a metric name"},
		{in: `a:b="c"`, wantErr: `want '=' after "a"`},
		{in: `{a="b",a="c"}`, wantErr: `label "a" given twice`},
		{in: `up{__name__="x"}`, wantErr: `label "__name__" given twice`},
		{in: `{a!="b"}`, wantErr: "want '=' after \"a\""},
		{in: `{a=~"b"}`, wantErr: "only '=' matchers"},
		{in: `{a=="b"}`, wantErr: "only '=' matchers"},
		{in: `{a='b'}`, wantErr: "want a double-quoted label value"},
		{in: `{a=b}`, wantErr: "want a double-quoted label value"},
		{in: `{a="b}`, wantErr: "unterminated label value"},
		{in: `{a="b\"}`, wantErr: "unterminated label value"},
		{in: `{a="\q"}`, wantErr: "bad label value"},
		{in: `{a="b" c="d"}`, wantErr: "want ',' or '}'"},
		{in: `up x`, wantErr: "want '=' after \"up\""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSelector(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSelector: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// errReader fails after delivering its prefix, like a broken pipe or disk.
type errReader struct {
	prefix string
	err    error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.prefix == "" {
		return 0, r.err
	}
	n := copy(p, r.prefix)
	r.prefix = r.prefix[n:]
	return n, nil
}

func TestReadSeriesReadErrors(t *testing.T) {
	boom := fmt.Errorf("disk on fire")
	for _, prefix := range []string{"", "  ", "timestamp,value\n1,1\n", `{"status":`} {
		_, err := readSeries(&errReader{prefix: prefix, err: boom}, "")
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("prefix %q: err = %v, want the read error", prefix, err)
		}
	}
}

func FuzzReadSeries(f *testing.F) {
	f.Add([]byte("timestamp,value\n2024-03-01T10:00:00Z,1\n2024-03-01 10:00:01,NaN\n1709287202.5,3\n"), "")
	f.Add([]byte("\xef\xbb\xbfTIMESTAMP , value\r\n1,\r\n2,-1e3\r\n\r\n"), "")
	f.Add([]byte(promMatrix(`{"metric":{"job":"a"},"values":[[1700000000,"1"],[1700000001.5,"NaN"]]}`,
		`{"metric":{"job":"b"},"values":[[1.7e9,"+Inf"]]}`)), `{job="a"}`)
	f.Add([]byte(`{"status":"error","errorType":"timeout","error":"query timed out"}`), "up")
	f.Fuzz(func(t *testing.T, data []byte, selector string) {
		pts, err := readSeriesLimited(strings.NewReader(string(data)), selector,
			seriesLimits{maxLineBytes: 4 << 10, maxRows: 10_000, maxJSONBytes: 1 << 20})
		if err != nil {
			if pts != nil {
				t.Fatalf("points returned with error %v", err)
			}
			return
		}
		if len(pts) == 0 {
			t.Fatal("no points and no error")
		}
		for i, p := range pts {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				t.Fatalf("point %d has non-finite value %v", i, p.V)
			}
		}
		// Prepared as the backtest does, at a step of a second: sorted, one point per step.
		sortSeries(pts)
		g := newGrid(pts[0].T, time.Second)
		var rep inputReport
		merged, err := mergeSteps(pts, g, duplicatesMean, &rep)
		if err != nil || len(merged) == 0 || len(merged)+rep.duplicates != len(pts) {
			t.Fatalf("merge: %d points, %d merged into others, of %d; err %v", len(merged), rep.duplicates, len(pts), err)
		}
		for i := range merged {
			if math.IsNaN(merged[i].V) || math.IsInf(merged[i].V, 0) {
				t.Fatalf("prepared point %d has non-finite value %v", i, merged[i].V)
			}
			if i > 0 && g.index(merged[i].T) <= g.index(merged[i-1].T) {
				t.Fatalf("prepared point %d at %v is not in a later step than %v", i, merged[i].T, merged[i-1].T)
			}
		}
	})
}

func BenchmarkReadSeriesCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("timestamp,value\n")
	const n = 100_000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "%d.250,%g\n", 1700000000+15*i, float64(i)*0.5)
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := readSeries(strings.NewReader(in), ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadSeriesPromJSON(b *testing.B) {
	var sb strings.Builder
	const n = 100_000
	sb.WriteString(`{"metric":{"job":"node"},"values":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `[%d.25,"%g"]`, 1700000000+15*i, float64(i)*0.5)
	}
	sb.WriteString(`]}`)
	in := promMatrix(sb.String())
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := readSeries(strings.NewReader(in), ""); err != nil {
			b.Fatal(err)
		}
	}
}
