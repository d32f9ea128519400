package backfill

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// TestEveryTargetMapped: a new forecast target needs a line in mappings, with the labels the collector gives it.
func TestEveryTargetMapped(t *testing.T) {
	for _, tg := range collector.Targets() {
		m, ok := mappings[tg.Name]
		if !ok {
			t.Errorf("target %s has no backfill mapping: add one to mappings in sources.go", tg.Name)
			continue
		}
		if tg.PerDevice() != (len(m.labels) > 0) {
			t.Errorf("target %s: per device %v, mapping labels %v", tg.Name, tg.PerDevice(), m.labels)
		}
		for _, expr := range []string{m.node, ownExpr(tg, m)} {
			if expr != "" && (!strings.Contains(expr, "{$sel}") && !strings.Contains(expr, ",$sel}") || !strings.Contains(expr, "[$range]")) {
				t.Errorf("target %s: expression %s lacks the selector or the range", tg.Name, expr)
			}
		}
	}
}

func TestSelectors(t *testing.T) {
	if got, want := DefaultSelector("web-1.example.com"), `instance=~"web-1\\.example\\.com(:[0-9]+)?"`; got != want {
		t.Errorf("DefaultSelector = %s, want %s", got, want)
	}
	if err := CheckSelector(DefaultSelector("web-1.example.com")); err != nil {
		t.Errorf("the default selector does not check: %v", err)
	}
	for _, ok := range []string{`instance="web1:9100"`, `job="node", instance=~"web1(:[0-9]+)?"`, `env!="test",dc!~"x|y"`, `a="\"q\""`} {
		if err := CheckSelector(ok); err != nil {
			t.Errorf("CheckSelector(%s): %v", ok, err)
		}
	}
	for _, bad := range []string{``, ` `, `instance`, `instance=web1`, `{instance="web1"}`, `instance="web1"job="x"`, `instance=~"("`,
		`1a="x"`, `instance=="x"`, `,`, `instance="unterminated`} {
		if err := CheckSelector(bad); err == nil {
			t.Errorf("CheckSelector(%s) accepted", bad)
		}
	}
	for in, want := range map[string]string{"web1:9100": "web1", "web1": "web1", "[::1]:9100": "::1", "10.0.0.1:9100": "10.0.0.1"} {
		if got := hostOf(in); got != want {
			t.Errorf("hostOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestRangeFor(t *testing.T) {
	for _, c := range []struct {
		step, interval time.Duration
		counters       bool
		want           time.Duration
	}{
		{time.Minute, 15 * time.Second, false, time.Minute},
		{time.Minute, 15 * time.Second, true, time.Minute + 18750*time.Millisecond},
		{time.Minute, time.Minute, false, 75 * time.Second},
		{time.Minute, time.Minute, true, 135 * time.Second},
		{5 * time.Minute, time.Minute, false, 5 * time.Minute},
	} {
		if got := rangeFor(c.step, c.interval, c.counters); got != c.want {
			t.Errorf("rangeFor(%v, %v, %v) = %v, want %v", c.step, c.interval, c.counters, got, c.want)
		}
	}
	if got := promDuration(1500 * time.Millisecond); got != "1500ms" {
		t.Errorf("promDuration(1.5s) = %s", got)
	}
}

// TestChunksOnTheStepGrid: 8 days at 1m are 11,520 steps per target, more than one query may ask for; every query
// stays under Prometheus' 11,000 points, evaluates on the step grid, never at or after the first live step, and
// the chunks cover the history once. A series that holds history from the state file is only asked for its gap.
func TestChunksOnTheStepGrid(t *testing.T) {
	const step, history = time.Minute, 8 * 24 * time.Hour
	live := time.Now().Truncate(step)
	var mu sync.Mutex
	asked := map[string][]rangeQuery{}
	api := &fakeAPI{instances: []string{"testhost:9100"}, rangeAnswer: func(w http.ResponseWriter, r *http.Request, q rangeQuery) bool {
		mu.Lock()
		asked[q.expr] = append(asked[q.expr], q)
		mu.Unlock()
		return false
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	b := newTestBackfiller(t, srv.URL, testSelector, step, history, nil)
	holdings := hostHoldings(true)
	// The state holds memory up to two hours ago: only the gap is missing.
	gapFrom := live.Add(-2 * time.Hour)
	for i := range holdings {
		if holdings[i].Target.Name == "memory_usage_ratio" {
			holdings[i].Next = gapFrom
		}
	}
	f := newFakeForecaster(live, step, holdings...)
	if err := runWithin(t, b, f, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	steps := int(history / step)
	for expr, qs := range asked {
		points := 0
		for _, q := range qs {
			n := int(math.Round((q.end-q.start)/q.step)) + 1
			if n > 11000 {
				t.Errorf("%s: %d points in one query", expr, n)
			}
			points += n
			for _, at := range []float64{q.start, q.end} {
				eval := time.UnixMilli(int64(math.Round(at * 1000)))
				if !eval.Add(evalBefore).Equal(eval.Add(evalBefore).Truncate(step)) {
					t.Errorf("%s: evaluated at %v, off the step grid", expr, eval)
				}
				if !eval.Before(live) {
					t.Errorf("%s: evaluated at %v, not before the first live step %v", expr, eval, live)
				}
			}
		}
		want := steps
		if strings.Contains(expr, "MemAvailable") {
			want = int(live.Sub(gapFrom) / step)
		}
		if points != want {
			t.Errorf("%s: %d points asked for in %d queries, want %d", expr, points, len(qs), want)
		}
	}
	if len(asked) != len(collector.Targets()) {
		t.Errorf("%d expressions queried, want one per target", len(asked))
	}
	if got := len(f.got["memory_usage_ratio{}"]); got != 120 {
		t.Errorf("%d memory steps loaded, want the 120 of the gap", got)
	}
	if got := len(f.got["cpu_usage_ratio{}"]); got != steps {
		t.Errorf("%d cpu steps loaded, want %d", got, steps)
	}
}

// TestRealForecasterReadyAfterBackfill: after a backfill of a day, the real forecaster serves every horizon at once
// (servermon_forecast_ready 1, warm-up 0), and the live steps held meanwhile follow the history.
func TestRealForecasterReadyAfterBackfill(t *testing.T) {
	srv := httptest.NewServer(&fakeAPI{instances: []string{"testhost:9100"}, rangeAnswer: func(w http.ResponseWriter, r *http.Request, q rangeQuery) bool {
		writeMatrix(w, q, func(i int) string { return []string{"0.2", "0.3", "0.25", "0.35"}[i%4] }, deviceFor(q.expr))
		return true
	}})
	defer srv.Close()
	cfg := forecaster.Config{Step: testStep, History: testHistory, Horizons: []time.Duration{5 * time.Minute, time.Hour, 6 * time.Hour},
		AnomalyThreshold: 4}
	f, err := forecaster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Hold()
	feedOneSample(t, f)
	b := newTestBackfiller(t, srv.URL, testSelector, testStep, testHistory, nil)
	if err := runWithin(t, b, f, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	body := string(f.AppendMetrics(nil))
	for _, h := range []string{"5m", "1h", "6h"} {
		for _, target := range []string{"cpu_usage_ratio", "memory_usage_ratio"} {
			for _, s := range []string{
				`servermon_forecast_ready{target="` + target + `",horizon="` + h + `"} 1`,
				`servermon_forecast_warmup_seconds{target="` + target + `",horizon="` + h + `"} 0`,
			} {
				if !strings.Contains(body, s+"\n") {
					t.Errorf("not ready at once after the backfill: no %s", s)
				}
			}
		}
	}
	if f.SeriesCount() < 7 {
		t.Errorf("%d series after the backfill", f.SeriesCount())
	}
}

// TestOutageGapOnly: a forecaster that holds history up to two hours before its first live step (as restored from
// a state file after an outage) gets only the gap, and its history then runs without a hole up to the live step.
func TestOutageGapOnly(t *testing.T) {
	var mu sync.Mutex
	memoryFrom := math.Inf(1)
	srv := httptest.NewServer(&fakeAPI{instances: []string{"testhost:9100"}, rangeAnswer: func(w http.ResponseWriter, r *http.Request, q rangeQuery) bool {
		if strings.Contains(q.expr, "MemAvailable") {
			mu.Lock()
			memoryFrom = min(memoryFrom, q.start)
			mu.Unlock()
		}
		return false
	}})
	defer srv.Close()
	cfg := forecaster.Config{Step: testStep, History: testHistory, Horizons: []time.Duration{5 * time.Minute}, AnomalyThreshold: 4}
	f, err := forecaster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Hold()
	live := time.Now().Truncate(testStep)
	gap := live.Add(-2 * time.Hour)
	old := make([]float64, 600)
	for i := range old {
		old[i] = 0.4
	}
	// The "state": ten hours of memory history ending where the outage began.
	if _, err := f.Backfill(collector.TargetByName("memory_usage_ratio"), nil, nil, gap.Add(-600*testStep), old); err != nil {
		t.Fatal(err)
	}
	feedOneSample(t, f)
	b := newTestBackfiller(t, srv.URL, testSelector, testStep, testHistory, nil)
	if err := runWithin(t, b, f, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Views(1000) {
		if v.Target.Name != "memory_usage_ratio" {
			continue
		}
		if len(v.Observed) != 720 || !v.LastStep.Equal(live.Add(-testStep)) {
			t.Errorf("memory holds %d steps up to %v, want 600 of state and 120 of the gap up to %v", len(v.Observed), v.LastStep, live.Add(-testStep))
		}
		if math.Abs(v.Observed[599]-0.4) > 1e-6 || math.Abs(v.Observed[600]-0.5) > 1e-6 {
			t.Errorf("state and gap meet as %v, %v; want 0.4 then the backfilled 0.5", v.Observed[599], v.Observed[600])
		}
	}
	if want := float64(gap.Add(testStep).UnixMilli()-1) / 1000; memoryFrom != want {
		t.Errorf("memory asked for from %v, want the gap's first step's evaluation at %v", memoryFrom, want)
	}
	if got := metric(b, `servermon_forecast_backfill_samples_total{source="node_exporter"}`); got != 120+3*1440+3*1440 {
		t.Errorf("%v steps loaded, want the gap of memory and a day of the other six targets", got)
	}
}
