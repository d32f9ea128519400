package forecastpage

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/servermon/servermon_exporter/forecast"
)

// apiVersion is the version of the JSON document; docs/forecast-api.schema.json describes it. A change that
// removes or redefines a field must raise it.
const apiVersion = 1

// The JSON document of /api/v1/forecast (docs/forecast-api.md). JSON has no +Inf and no NaN: every number that can
// be either is a pointer, null when it is not finite, and where +Inf means something (a threshold not reached
// within range, a naive forecast without error) a boolean next to it says so.

type apiDocument struct {
	Version         int             `json:"version"`
	GeneratedAt     time.Time       `json:"generated_at"`
	Forecasting     bool            `json:"forecasting"`
	StepSeconds     float64         `json:"step_seconds"`
	HorizonsSeconds []float64       `json:"horizons_seconds"`
	Coverage        float64         `json:"coverage"`
	TrustGate       apiTrustGate    `json:"trust_gate"`
	SeriesTotal     int             `json:"series_total"`
	SeriesOmitted   int             `json:"series_omitted"`
	Series          []apiSeries     `json:"series"`
	Warmup          []apiWarmupStep `json:"warmup"`
}

type apiTrustGate struct {
	HorizonSeconds    float64 `json:"horizon_seconds"`
	HorizonConfigured bool    `json:"horizon_configured"`
	MaxErrorRatio     float64 `json:"max_error_ratio"`
	MinHistorySeconds float64 `json:"min_history_seconds"`
}

type apiWarmupStep struct {
	HorizonSeconds float64 `json:"horizon_seconds"`
	Served         int     `json:"served"`
	Total          int     `json:"total"`
	LongestSeconds float64 `json:"longest_seconds"`
}

type apiSeries struct {
	Target         string            `json:"target"`
	Title          string            `json:"title"`
	Unit           string            `json:"unit"`
	Labels         map[string]string `json:"labels"`
	HistorySeconds float64           `json:"history_seconds"`
	LastStep       *time.Time        `json:"last_step"`
	Latest         *float64          `json:"latest"`
	Observed       apiObserved       `json:"observed"`
	Threshold      *float64          `json:"threshold"`
	ETA            *apiETA           `json:"eta"`
	Horizons       []apiHorizon      `json:"horizons"`
	Trusted        bool              `json:"trusted"`
	TrustReasons   []string          `json:"trust_reasons"`
	Anomaly        *apiAnomaly       `json:"anomaly"`
	Summary        string            `json:"summary"`
}

type apiObserved struct {
	Start         *time.Time `json:"start"`
	BucketSeconds float64    `json:"bucket_seconds"`
	Values        []*float64 `json:"values"`
}

type apiETA struct {
	State               string   `json:"state"`
	EarliestSeconds     *float64 `json:"earliest_seconds"`
	ExpectedSeconds     *float64 `json:"expected_seconds"`
	EarliestBeyondRange bool     `json:"earliest_beyond_range"`
	ExpectedBeyondRange bool     `json:"expected_beyond_range"`
	RangeSeconds        float64  `json:"range_seconds"`
}

type apiHorizon struct {
	HorizonSeconds     float64  `json:"horizon_seconds"`
	Ready              bool     `json:"ready"`
	WarmupSeconds      float64  `json:"warmup_seconds"`
	Point              *float64 `json:"point"`
	Lower              *float64 `json:"lower"`
	Upper              *float64 `json:"upper"`
	ErrorRatio         *float64 `json:"error_ratio"`
	ErrorRatioInfinite bool     `json:"error_ratio_infinite"`
}

type apiAnomaly struct {
	Score     *float64 `json:"score"`
	Anomalous bool     `json:"anomalous"`
}

// finite returns v, or nil when JSON cannot carry it.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

var etaStateNames = [...]string{etaNone: "none", etaWarming: "warming_up", etaReached: "reached", etaAhead: "ahead", etaBeyond: "beyond_range"}

// encodeAPI renders r as the JSON document.
func encodeAPI(r *report) ([]byte, error) {
	doc := apiDocument{Version: apiVersion, GeneratedAt: r.Generated.UTC(), Forecasting: r.Forecasting,
		StepSeconds: r.Step.Seconds(), HorizonsSeconds: []float64{}, Coverage: forecast.DefaultCoverage,
		TrustGate: apiTrustGate{HorizonSeconds: trustHorizon.Seconds(), HorizonConfigured: r.TrustHorizon >= 0,
			MaxErrorRatio: trustMaxErrorRatio, MinHistorySeconds: trustMinHistory.Seconds()},
		SeriesTotal: r.Total, SeriesOmitted: r.Omitted(), Series: []apiSeries{}, Warmup: []apiWarmupStep{}}
	for i, h := range r.Horizons {
		doc.HorizonsSeconds = append(doc.HorizonsSeconds, h.Seconds())
		if i < len(r.Warmup) {
			w := r.Warmup[i]
			doc.Warmup = append(doc.Warmup, apiWarmupStep{HorizonSeconds: h.Seconds(), Served: w.Served, Total: w.Total,
				LongestSeconds: w.Longest})
		}
	}
	for _, s := range r.Series {
		doc.Series = append(doc.Series, apiSeriesOf(s))
	}
	b, err := json.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("encoding the forecast document: %w", err)
	}
	return append(b, '\n'), nil
}

func apiSeriesOf(s *seriesReport) apiSeries {
	a := apiSeries{Target: s.Target.Name, Title: s.Title(), Unit: s.unit.jsonName(), Labels: map[string]string{},
		HistorySeconds: s.HistorySeconds, Observed: apiObserved{Values: []*float64{}}, Horizons: []apiHorizon{},
		Trusted: s.Trust.Trusted, TrustReasons: append([]string{}, s.Trust.Reasons...), Summary: s.Sentence()}
	for _, l := range s.Labels {
		a.Labels[l.Name] = l.Value
	}
	if s.HasLast {
		last, start := s.Last.UTC(), s.History.Start.UTC()
		a.LastStep, a.Latest = &last, finite(s.Latest)
		a.Observed.Start, a.Observed.BucketSeconds = &start, s.History.Bucket.Seconds()
		for _, v := range s.History.Values {
			a.Observed.Values = append(a.Observed.Values, finite(v))
		}
	}
	if s.HasThreshold() {
		a.Threshold = finite(s.Threshold)
		e := &apiETA{State: etaStateNames[s.ETA.State], RangeSeconds: s.ETA.Range}
		switch s.ETA.State {
		case etaReached:
			zero := 0.0
			e.EarliestSeconds, e.ExpectedSeconds = &zero, &zero
		case etaAhead, etaBeyond:
			e.EarliestSeconds, e.ExpectedSeconds = finite(s.ETA.Earliest), finite(s.ETA.Expected)
			e.EarliestBeyondRange, e.ExpectedBeyondRange = math.IsInf(s.ETA.Earliest, 1), math.IsInf(s.ETA.Expected, 1)
		}
		a.ETA = e
	}
	for _, h := range s.Horizons {
		ah := apiHorizon{HorizonSeconds: h.Horizon.Seconds(), Ready: h.Ready, WarmupSeconds: h.Warmup}
		if h.Ready {
			ah.Point, ah.Lower, ah.Upper = finite(h.Forecast.Point), finite(h.Forecast.Lower), finite(h.Forecast.Upper)
		}
		if h.HasErrorRatio {
			ah.ErrorRatio, ah.ErrorRatioInfinite = finite(h.ErrorRatio), math.IsInf(h.ErrorRatio, 1)
		}
		a.Horizons = append(a.Horizons, ah)
	}
	if s.HasAnomaly {
		a.Anomaly = &apiAnomaly{Score: finite(s.Anomaly), Anomalous: s.Anomalous}
	}
	return a
}
