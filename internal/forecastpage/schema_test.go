package forecastpage

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/forecaster"
	"github.com/servermon/servermon_exporter/internal/forecastpage/pagetest"
)

// TestAPIMatchesItsSchema validates the document of every state the exporter can be in against the committed
// schema: forecasts served, warming up, forecasting off, hostile names, and NaN and ±Inf everywhere.
func TestAPIMatchesItsSchema(t *testing.T) {
	s := pagetest.Schema(t)
	nonFinite := diskView("sdz")
	nonFinite.Observed[0] = math.NaN()
	nonFinite.Horizons[0].Forecast = forecast.Prediction{Point: math.NaN(), Lower: math.Inf(-1), Upper: math.Inf(1)}
	nonFinite.Horizons[1].ErrorRatio = math.Inf(1)
	nonFinite.Earliest, nonFinite.Expected = math.Inf(1), math.Inf(1)
	reached := diskView("sdy")
	reached.Earliest, reached.Expected = 0, 0
	hostile := &fakeSource{views: []forecaster.View{nonFinite, reached}}
	for _, n := range hostileNames {
		hostile.views = append(hostile.views, diskView(n))
	}
	for name, src := range map[string]Source{
		"served":       leakingHost(t, 36*60, "vda"),
		"warming up":   leakingHost(t, 25, "vda"),
		"empty":        &fakeSource{},
		"hostile":      hostile,
		"forecast off": nil,
	} {
		p := testPages(t, src)
		rec := get(t, p.Handler(APIPath), http.MethodGet, APIPath)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Header().Get("Content-Type"))
		}
		if err := pagetest.Validate(s, rec.Body.Bytes()); err != nil {
			t.Errorf("%s: the document does not match the schema: %v\n%s", name, err, rec.Body)
		}
	}
}

// TestSchemaRejects: the schema is not vacuous: documents that break its rules fail.
func TestSchemaRejects(t *testing.T) {
	s := pagetest.Schema(t)
	rec := get(t, testPages(t, leakingHost(t, 36*60)).Handler(APIPath), http.MethodGet, APIPath)
	good := rec.Body.String()
	for name, bad := range map[string]string{
		"Inf as a string":       strings.Replace(good, `"error_ratio":`, `"error_ratio":"+Inf","x":`, 1),
		"a field missing":       strings.Replace(good, `"coverage":`, `"coverag":`, 1),
		"not a date":            strings.Replace(good, `"generated_at":"`, `"generated_at":"yesterday`, 1),
		"unknown eta state":     strings.Replace(good, `"state":"ahead"`, `"state":"soon"`, 1),
		"a forecast not served": strings.Replace(good, `"ready":true`, `"ready":false`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		if err := pagetest.Validate(s, []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
