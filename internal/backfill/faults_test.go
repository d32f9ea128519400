package backfill

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The faults a real Prometheus cannot be made to produce, from httptest servers that answer the query API.

// fakeAPI answers the discovery query with the instances given and range queries with rangeAnswer.
type fakeAPI struct {
	instances   []string
	discovery   func(w http.ResponseWriter, n int64) bool // answers instead when it returns true
	rangeAnswer func(w http.ResponseWriter, r *http.Request, q rangeQuery) bool
	queries     atomic.Int64
	ranges      atomic.Int64
}

type rangeQuery struct {
	expr             string
	start, end, step float64
}

func (a *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/api/v1/query":
		n := a.queries.Add(1)
		if a.discovery != nil && a.discovery(w, n) {
			return
		}
		var results []string
		for _, inst := range a.instances {
			results = append(results, fmt.Sprintf(`{"metric":{"instance":%q,"source":"node_exporter","window":"span"},"value":[1,"1440"]}`, inst))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(results, ","))
	case "/api/v1/query_range":
		a.ranges.Add(1)
		q := rangeQuery{expr: r.Form.Get("query")}
		q.start, _ = strconv.ParseFloat(r.Form.Get("start"), 64)
		q.end, _ = strconv.ParseFloat(r.Form.Get("end"), 64)
		q.step, _ = strconv.ParseFloat(r.Form.Get("step"), 64)
		if a.rangeAnswer != nil && a.rangeAnswer(w, r, q) {
			return
		}
		writeMatrix(w, q, func(int) string { return "0.5" }, deviceFor(q.expr))
	default:
		http.NotFound(w, r)
	}
}

// deviceFor gives per-disk expressions one disk.
func deviceFor(expr string) string {
	if strings.Contains(expr, "by (device)") {
		return `"device":"sda"`
	}
	return ""
}

// writeMatrix answers q with one series of labels whose i-th point is value(i), left out when "".
func writeMatrix(w http.ResponseWriter, q rangeQuery, value func(i int) string, labels string) {
	var points []string
	for i, t := 0, q.start; t <= q.end+1e-9; i, t = i+1, t+q.step {
		if v := value(i); v != "" {
			points = append(points, fmt.Sprintf(`[%.3f,%q]`, t, v))
		}
	}
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{%s},"values":[%s]}]}}`, labels, strings.Join(points, ","))
}

func statusAnswer(code int, body string) func(w http.ResponseWriter, n int64) bool {
	return func(w http.ResponseWriter, _ int64) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
		return true
	}
}

const testStep, testHistory = time.Minute, 24 * time.Hour

func TestFaults(t *testing.T) {
	live := time.Now().Truncate(testStep)
	tests := []struct {
		name string
		api  *fakeAPI
		url  string // instead of the API's server
		// configure changes the backfiller
		configure   func(b *Backfiller)
		cause       string // the error's cause, "" for success
		mention     []string
		attempts    int64 // discovery queries sent, 0 to skip
		loadedCPU   int   // steps of cpu_usage_ratio loaded
		wantSuccess bool
	}{
		{name: "unreachable", url: "closed", cause: causeUnreachable, attempts: maxAttempts},
		{name: "slow", api: &fakeAPI{discovery: func(w http.ResponseWriter, _ int64) bool { time.Sleep(3 * time.Second); return false }},
			configure: func(b *Backfiller) { b.cfg.Timeout = 500 * time.Millisecond }, cause: causeTimeout},
		{name: "401", api: &fakeAPI{discovery: statusAnswer(401, "Unauthorized")}, cause: causeUnauthorized, mention: []string{"401"}, attempts: maxAttempts},
		{name: "403", api: &fakeAPI{discovery: statusAnswer(403, "Forbidden")}, cause: causeForbidden, mention: []string{"403"}, attempts: 2 * maxAttempts},
		{name: "400 bad selector", api: &fakeAPI{discovery: statusAnswer(400, `{"status":"error","errorType":"bad_data","error":"1:30: parse error: unexpected identifier"}`)},
			cause: causeBadQuery, mention: []string{"parse error"}, attempts: 1},
		{name: "422", api: &fakeAPI{discovery: statusAnswer(422, `{"status":"error","errorType":"execution","error":"query processing would load too many samples"}`)},
			cause: causeBadQuery, mention: []string{"too many samples"}, attempts: 1},
		{name: "503 for ever", api: &fakeAPI{discovery: statusAnswer(503, "Service Unavailable")}, cause: causeUnavailable, attempts: maxAttempts},
		{name: "503 then up", api: &fakeAPI{instances: []string{"testhost:9100"}, discovery: func(w http.ResponseWriter, n int64) bool {
			return n <= 2 && statusAnswer(503, "starting")(w, n)
		}}, attempts: 3, loadedCPU: 1440, wantSuccess: true},
		{name: "truncated JSON", api: &fakeAPI{discovery: func(w http.ResponseWriter, _ int64) bool {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"testh`)
			return true
		}}, cause: causeBadResponse, attempts: maxAttempts},
		{name: "success without data", api: &fakeAPI{discovery: func(w http.ResponseWriter, _ int64) bool {
			fmt.Fprint(w, `{"status":"success"}`)
			return true
		}}, cause: causeBadResponse, mention: []string{"no result"}},
		{name: "a matrix for an instant query", api: &fakeAPI{discovery: func(w http.ResponseWriter, _ int64) bool {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
			return true
		}}, cause: causeBadResponse, mention: []string{"want a vector"}},
		{name: "garbage", api: &fakeAPI{discovery: func(w http.ResponseWriter, _ int64) bool {
			fmt.Fprint(w, "<html><body>It works!</body></html>")
			return true
		}}, cause: causeBadResponse},
		{name: "several hosts", api: &fakeAPI{instances: []string{"web1:9100", "web2:9100", "web1:9843"}}, cause: causeSeveralHosts,
			mention: []string{"web1, web2", "2 hosts"}, attempts: 1},
		{name: "no series", api: &fakeAPI{}, cause: causeNoSeries, attempts: 1},
		{name: "byte cap", api: &fakeAPI{instances: []string{"testhost:9100"}, rangeAnswer: func(w http.ResponseWriter, r *http.Request, q rangeQuery) bool {
			writeMatrix(w, q, func(int) string { return "0.123456789012345678" }, deviceFor(q.expr))
			return true
		}}, configure: func(b *Backfiller) { b.client.maxBytes = 4096 }, cause: causeByteCap},
		{name: "NaN, stale, gaps, partial range", api: &fakeAPI{instances: []string{"testhost:9100"}, rangeAnswer: func(w http.ResponseWriter, r *http.Request, q rangeQuery) bool {
			writeMatrix(w, q, func(i int) string {
				switch {
				case i < 100: // the range starts late
					return ""
				case i%10 == 0: // a gap
					return ""
				case i%10 == 1:
					return "NaN"
				case i%10 == 2:
					return "+Inf"
				}
				return "0.25"
			}, deviceFor(q.expr))
			return true
		}}, loadedCPU: (1440 - 100) * 7 / 10, wantSuccess: true},
		{name: "one target fails", api: &fakeAPI{instances: []string{"testhost:9100"}, rangeAnswer: func(w http.ResponseWriter, r *http.Request, q rangeQuery) bool {
			if strings.Contains(q.expr, "node_cpu_seconds_total") {
				w.WriteHeader(500)
				return true
			}
			return false
		}}, cause: causeServer, mention: []string{"cpu_usage_ratio"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if url == "closed" {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				url = "http://" + l.Addr().String()
				l.Close()
			} else {
				srv := httptest.NewServer(tc.api)
				defer srv.Close()
				url = srv.URL
			}
			var logs strings.Builder
			b := newTestBackfiller(t, url, testSelector, testStep, testHistory, &logs)
			b.backoff = time.Millisecond
			if tc.configure != nil {
				tc.configure(b)
			}
			f := newFakeForecaster(live, testStep, hostHoldings(true)...)
			start := time.Now()
			err := runWithin(t, b, f, 10*time.Second)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if f.released != 1 {
				t.Errorf("released %d times, want once", f.released)
			}
			switch {
			case tc.cause == "" && err != nil:
				t.Errorf("failed: %v", err)
			case tc.cause != "" && (err == nil || !strings.Contains(err.Error(), tc.cause)):
				t.Errorf("error %v, want cause %s", err, tc.cause)
			}
			for _, m := range tc.mention {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("error %v does not say %q", err, m)
				}
			}
			if got := metric(b, "servermon_forecast_backfill_success"); got != boolValue(tc.wantSuccess) {
				t.Errorf("success %v", got)
			}
			if tc.cause != "" {
				if got := metric(b, `servermon_forecast_backfill_errors_total{cause="`+tc.cause+`"}`); !(got >= 1) {
					t.Errorf("errors_total{cause=%q} = %v", tc.cause, got)
				}
				if n := strings.Count(logs.String(), "cause="+tc.cause); n != 1 {
					t.Errorf("cause %s logged %d times, want once:\n%s", tc.cause, n, logs.String())
				}
			}
			if tc.attempts > 0 && tc.api != nil {
				if got := tc.api.queries.Load(); got != tc.attempts {
					t.Errorf("%d discovery requests, want %d", got, tc.attempts)
				}
			}
			if tc.cause == causeSeveralHosts && tc.api.ranges.Load() != 0 {
				t.Errorf("%d range queries after the refusal", tc.api.ranges.Load())
			}
			if got := len(f.got["cpu_usage_ratio{}"]); got != tc.loadedCPU {
				t.Errorf("%d cpu steps loaded, want %d", got, tc.loadedCPU)
			}
			if tc.name == "one target fails" && len(f.got["memory_usage_ratio{}"]) != 1440 {
				t.Errorf("memory not loaded when only cpu fails: %d steps", len(f.got["memory_usage_ratio{}"]))
			}
		})
	}
}
