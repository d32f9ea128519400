package forecastpage

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// viewOf returns the view of target in views.
func viewOf(t *testing.T, views []forecaster.View, target string) forecaster.View {
	t.Helper()
	for _, v := range views {
		if v.Target.Name == target {
			return v
		}
	}
	t.Fatalf("no view of %s", target)
	return forecaster.View{}
}

func reportOf(t *testing.T, src Source, horizons ...time.Duration) *report {
	t.Helper()
	if len(horizons) == 0 {
		horizons = defaultHorizons
	}
	o := &options{step: time.Minute, horizons: horizons, maxSeries: DefaultMaxSeries, maxPoints: maxPoints,
		past: chartPast(time.Minute, horizons), forecasting: true, loc: time.UTC}
	return buildReport(src.Views(o.historySteps()), o, testEnd)
}

func seriesOf(t *testing.T, r *report, target string) *seriesReport {
	t.Helper()
	for _, s := range r.Series {
		if s.Target.Name == target {
			return s
		}
	}
	t.Fatalf("no series of %s", target)
	return nil
}

// TestLeakSummary: on a host whose memory leaks towards the threshold, the memory line of the summary gives the
// point forecast's time until threshold and the earliest plausible one, as the forecaster computed them.
func TestLeakSummary(t *testing.T) {
	f := leakingHost(t, 36*60)
	v := viewOf(t, f.Views(0), "memory_usage_ratio")
	if !v.HasETA || math.IsInf(v.Expected, 1) || math.IsInf(v.Earliest, 1) || v.Earliest > v.Expected {
		t.Fatalf("the scenario does not leak towards the threshold: earliest %v, expected %v", v.Earliest, v.Expected)
	}
	mem := seriesOf(t, reportOf(t, f), "memory_usage_ratio")
	want := "reaches 95 % in about " + humanDuration(v.Expected)
	if got := mem.Sentence(); !strings.HasPrefix(got, want) || !strings.Contains(got, "earliest plausible in "+humanDuration(v.Earliest)) {
		t.Errorf("memory summary %q, want %q… earliest plausible in %s", got, want, humanDuration(v.Earliest))
	}
	if !mem.Trust.Trusted {
		t.Errorf("36 h of a clean leak not trusted: %v", mem.Trust.Reasons)
	}
	swap := seriesOf(t, reportOf(t, f), "swap_usage_ratio")
	if got := swap.Sentence(); got != "does not reach 90 % within the next 24 h" {
		t.Errorf("flat swap: %q", got)
	}
	load := seriesOf(t, reportOf(t, f), "load1")
	if got := load.Sentence(); !regexp.MustCompile(`^[0-9.]+ now, [0-9.]+ expected in 1 h$`).MatchString(got) {
		t.Errorf("load (no threshold): %q", got)
	}
}

// TestWarmingUpSummary: before any horizon is served the summary says when the first will be, from the
// forecaster's own warm-up count; the trust gate says what is missing.
func TestWarmingUpSummary(t *testing.T) {
	f := leakingHost(t, 25)
	v := viewOf(t, f.Views(0), "memory_usage_ratio")
	first := math.Inf(1)
	for _, h := range v.Horizons {
		if h.Ready {
			t.Fatal("a horizon is served after 25 steps")
		}
		first = min(first, h.WarmupSeconds)
	}
	mem := seriesOf(t, reportOf(t, f), "memory_usage_ratio")
	if got, want := mem.Sentence(), "warming up, forecasts in "+humanDuration(first); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if mem.Trust.Trusted || !strings.Contains(strings.Join(mem.Trust.Reasons, ";"), "not measured yet") {
		t.Errorf("trust while warming up: %+v", mem.Trust)
	}
	if mem.ETA.State != etaWarming || !strings.HasPrefix(mem.ExpectedText(), "not known yet") {
		t.Errorf("ETA while warming up: %+v %q", mem.ETA, mem.ExpectedText())
	}
}

// TestTrustGateWithoutTheRulesHorizon: with no 1h horizon configured, the pages say that the rules cannot trust any
// forecast instead of judging another horizon.
func TestTrustGateWithoutTheRulesHorizon(t *testing.T) {
	f, err := forecaster.New(forecaster.Config{Step: time.Minute, History: 24 * time.Hour, AnomalyThreshold: 4,
		Horizons: []time.Duration{5 * time.Minute, 30 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	f.Hold()
	values := make([]float64, 600)
	for i := range values {
		values[i] = 0.5 + 0.1*math.Sin(float64(i)/20)
	}
	if _, err := f.Backfill(collector.TargetByName("memory_usage_ratio"), nil, nil, testEnd.Add(-599*time.Minute), values); err != nil {
		t.Fatal(err)
	}
	f.Release()
	r := reportOf(t, f, 5*time.Minute, 30*time.Minute)
	if r.TrustConfigured() {
		t.Fatal("1h reported configured")
	}
	mem := seriesOf(t, r, "memory_usage_ratio")
	if mem.Trust.Trusted || !strings.Contains(mem.TrustText(), "does not configure") {
		t.Errorf("trust without the 1h horizon: %q", mem.TrustText())
	}
	p := testPages(t, f, func(c *Config) { c.Horizons = []time.Duration{5 * time.Minute, 30 * time.Minute} })
	if page := get(t, p.Handler(ForecastPath), http.MethodGet, ForecastPath).Body.String(); !strings.Contains(page, "no forecast alert can fire") {
		t.Error("the page does not say that the trust gate's horizon is missing")
	}
}

// TestTrustGateIsTheRules reads the rules of rules/servermon-alerts.yml: the trust gate there must be the one the
// page applies.
func TestTrustGateIsTheRules(t *testing.T) {
	data, err := os.ReadFile("../../rules/servermon-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	ratio := regexp.MustCompile(`servermon_forecast_error_ratio\{horizon="([^"]+)"\}\s*<\s*([0-9.]+)`)
	history := regexp.MustCompile(`servermon_forecast_history_seconds\s*>=\s*([0-9]+)`)
	gates := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			m := ratio.FindStringSubmatch(r.Expr)
			if m == nil {
				continue
			}
			gates++
			name := r.Alert + r.Record
			if h, err := time.ParseDuration(m[1]); err != nil || h != trustHorizon {
				t.Errorf("%s: trust horizon %s, the page uses %s", name, m[1], trustHorizon)
			}
			if v, err := strconv.ParseFloat(m[2], 64); err != nil || v != trustMaxErrorRatio {
				t.Errorf("%s: error ratio below %s, the page uses %g", name, m[2], trustMaxErrorRatio)
			}
			hm := history.FindStringSubmatch(r.Expr)
			if hm == nil {
				t.Errorf("%s: a trust gate without a history condition", name)
				continue
			}
			if v, err := strconv.Atoi(hm[1]); err != nil || float64(v) != trustMinHistory.Seconds() {
				t.Errorf("%s: history >= %s s, the page uses %s", name, hm[1], trustMinHistory)
			}
		}
	}
	// The rules evaluate the gate once, in the record instance:servermon_forecast_error_ratio:trusted, which every
	// gated rule reads.
	if gates != 1 {
		t.Errorf("%d trust gates found in the rules, want the one record: the expressions changed shape", gates)
	}
}

// TestETAStates covers the ways a time until threshold reads, with the +Inf values JSON cannot carry.
func TestETAStates(t *testing.T) {
	base := diskView("sda")
	for _, tc := range []struct {
		name               string
		earliest, expected float64
		state, sentence    string
	}{
		{"reached", 0, 0, "reached", "at or above 90 % now"},
		{"both ahead", 1800, 7200, "ahead", "reaches 90 % in about 2 h, earliest plausible in 30 min"},
		{"point beyond", 5400, math.Inf(1), "ahead", "not expected to reach 90 % within 6 h; earliest plausible in 1 h 30 min"},
		{"beyond", math.Inf(1), math.Inf(1), "beyond_range", "does not reach 90 % within the next 6 h"},
	} {
		v := base
		v.Earliest, v.Expected = tc.earliest, tc.expected
		src := &fakeSource{views: []forecaster.View{v}}
		s := reportOf(t, src).Series[0]
		if got := s.Sentence(); !strings.HasPrefix(got, tc.sentence) {
			t.Errorf("%s: %q, want %q…", tc.name, got, tc.sentence)
		}
		body, err := encodeAPI(reportOf(t, src))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Series []struct {
				ETA struct {
					State               string
					EarliestSeconds     *float64 `json:"earliest_seconds"`
					ExpectedSeconds     *float64 `json:"expected_seconds"`
					EarliestBeyondRange bool     `json:"earliest_beyond_range"`
					ExpectedBeyondRange bool     `json:"expected_beyond_range"`
					RangeSeconds        float64  `json:"range_seconds"`
				} `json:"eta"`
			} `json:"series"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		e := doc.Series[0].ETA
		if e.State != tc.state || (e.EarliestSeconds == nil) != math.IsInf(tc.earliest, 1) ||
			(e.ExpectedSeconds == nil) != math.IsInf(tc.expected, 1) || e.EarliestBeyondRange != math.IsInf(tc.earliest, 1) ||
			e.ExpectedBeyondRange != math.IsInf(tc.expected, 1) {
			t.Errorf("%s: JSON eta %+v", tc.name, e)
		}
		if e.EarliestSeconds != nil && *e.EarliestSeconds != tc.earliest {
			t.Errorf("%s: earliest %v, want %v", tc.name, *e.EarliestSeconds, tc.earliest)
		}
		// The largest served horizon of diskView is 6h, and it holds 8 h of history.
		if e.RangeSeconds != 6*3600 {
			t.Errorf("%s: range %v s", tc.name, e.RangeSeconds)
		}
	}
}

// TestDownsample: buckets are means of whole steps ending with the newest step; the oldest steps that do not fill
// a bucket are dropped.
func TestDownsample(t *testing.T) {
	values := make([]float64, 1000)
	for i := range values {
		values[i] = float64(i)
	}
	h := downsample(values, testEnd, time.Minute, 360)
	// 1000 steps into at most 360 points: buckets of 3, 1 step dropped.
	if h.Bucket != 3*time.Minute || len(h.Values) != 333 || !h.Start.Equal(testEnd.Add(-998*time.Minute)) {
		t.Fatalf("bucket %v, %d values, start %v", h.Bucket, len(h.Values), h.Start)
	}
	if h.Values[0] != 2 || h.Values[len(h.Values)-1] != 998 {
		t.Errorf("first %v (mean of 1,2,3), last %v (mean of 997,998,999)", h.Values[0], h.Values[len(h.Values)-1])
	}
	if h := downsample(values[:10], testEnd, time.Minute, 360); h.Bucket != time.Minute || len(h.Values) != 10 {
		t.Errorf("short history resampled: %+v", h)
	}
}

// TestNonFiniteNumbersNeverReachTheJSON: NaN and ±Inf anywhere in the views become null, and the document stays
// valid JSON; the page renders them as words.
func TestNonFiniteNumbersNeverReachTheJSON(t *testing.T) {
	v := diskView("sda")
	v.Observed[3], v.Observed[4] = math.NaN(), math.Inf(1)
	v.Horizons[0].Forecast = forecast.Prediction{Point: math.NaN(), Lower: math.Inf(-1), Upper: math.Inf(1)}
	v.Horizons[1].ErrorRatio = math.Inf(1)
	v.Horizons[2].ErrorRatio = math.NaN()
	v.Anomaly = math.NaN()
	src := &fakeSource{views: []forecaster.View{v}}
	p := testPages(t, src)
	rec := get(t, p.Handler(APIPath), http.MethodGet, APIPath)
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("invalid JSON:\n%s", rec.Body)
	}
	var doc struct {
		Series []struct {
			Horizons []struct {
				Point              *float64 `json:"point"`
				ErrorRatio         *float64 `json:"error_ratio"`
				ErrorRatioInfinite bool     `json:"error_ratio_infinite"`
			} `json:"horizons"`
		} `json:"series"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	h := doc.Series[0].Horizons
	if h[0].Point != nil || h[1].ErrorRatio != nil || !h[1].ErrorRatioInfinite || h[2].ErrorRatio != nil || h[2].ErrorRatioInfinite {
		t.Errorf("non-finite numbers: %+v", h)
	}
	page := get(t, p.Handler(ForecastPath), http.MethodGet, ForecastPath).Body.String()
	for _, bad := range []string{"NaN", "+Inf", "-Inf"} {
		if i := strings.Index(page, bad); i >= 0 {
			t.Errorf("the page shows %s: …%s…", bad, page[max(0, i-200):i+20])
		}
	}
	if !strings.Contains(page, "∞ (the naive forecast was exact)") {
		t.Error("an infinite error ratio is not explained")
	}
}

func TestHumanDuration(t *testing.T) {
	for sec, want := range map[float64]string{30: "less than a minute", 60: "1 min", 89 * 60: "89 min", 90 * 60: "1 h 30 min",
		3 * 3600: "3 h", 3*3600 + 7*60: "3 h 10 min", 10 * 3600: "10 h", 47 * 3600: "47 h", 49 * 3600: "2 d 1 h",
		72 * 3600: "3 d", math.Inf(1): "never"} {
		if got := humanDuration(sec); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", sec, got, want)
		}
	}
}

func TestUnitFormat(t *testing.T) {
	for _, tc := range []struct {
		u    unit
		v    float64
		want string
	}{
		{unitRatio, 0.9512, "95.1 %"}, {unitRatio, 0.95, "95 %"}, {unitBytesPerSecond, 3 * 1024 * 1024, "3 MiB/s"},
		{unitBytes, 1536, "1.5 KiB"}, {unitPlain, 2.345, "2.35"}, {unitPlain, 0, "0"}, {unitPlain, math.NaN(), "unknown"},
	} {
		if got := tc.u.format(tc.v); got != tc.want {
			t.Errorf("%v.format(%v) = %q, want %q", tc.u, tc.v, got, tc.want)
		}
	}
	if unitOf("disk_read_bytes_per_second") != unitBytesPerSecond || unitOf("memory_usage_ratio") != unitRatio || unitOf("load1") != unitPlain {
		t.Error("unitOf")
	}
}
