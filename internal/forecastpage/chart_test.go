package forecastpage

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/forecaster"
	"github.com/servermon/servermon_exporter/internal/forecastpage/pagetest"
)

// TestChartsAreAccessible: one chart per series; each is an image to assistive technology, labelled by its own
// <title> and <desc>, which name the series and say in words what the chart shows; ids are unique on the page; the
// lines differ by dash pattern and the band by a hatch, not by colour alone.
func TestChartsAreAccessible(t *testing.T) {
	f := leakingHost(t, 36*60, "vda", "vdb")
	p := testPages(t, f)
	doc, err := html.Parse(strings.NewReader(get(t, p.Handler(ForecastPath), http.MethodGet, ForecastPath).Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*html.Node{}
	for n := range doc.Descendants() {
		if id := pagetest.Attr(n, "id"); n.Type == html.ElementNode && id != "" {
			if ids[id] != nil {
				t.Errorf("id %q used twice", id)
			}
			ids[id] = n
		}
	}
	charts := 0
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "svg" || pagetest.Attr(n, "class") != "chart" {
			continue
		}
		charts++
		if pagetest.Attr(n, "role") != "img" {
			t.Errorf("chart %d: role %q", charts, pagetest.Attr(n, "role"))
		}
		refs := strings.Fields(pagetest.Attr(n, "aria-labelledby"))
		if len(refs) != 2 {
			t.Fatalf("chart %d: aria-labelledby %q", charts, pagetest.Attr(n, "aria-labelledby"))
		}
		title, desc := ids[refs[0]], ids[refs[1]]
		if title == nil || title.Data != "title" || desc == nil || desc.Data != "desc" {
			t.Fatalf("chart %d: aria-labelledby %q does not point at its title and desc", charts, refs)
		}
		if !strings.Contains(pagetest.Text(title), "observed") || !strings.Contains(pagetest.Text(desc), "Observed over") || !strings.Contains(pagetest.Text(desc), "Forecast:") {
			t.Errorf("chart %d: title %q, desc %q", charts, pagetest.Text(title), pagetest.Text(desc))
		}
		classes := map[string]bool{}
		for d := range n.Descendants() {
			if d.Type == html.ElementNode {
				classes[pagetest.Attr(d, "class")] = true
				if d.Data == "polygon" && !strings.HasPrefix(pagetest.Attr(d, "fill"), "url(#") {
					t.Errorf("chart %d: band filled with %q, not the hatch pattern", charts, pagetest.Attr(d, "fill"))
				}
			}
		}
		for _, c := range []string{"obs", "fc", "band", "now"} {
			if !classes[c] {
				t.Errorf("chart %d: no %s element", charts, c)
			}
		}
	}
	if want := f.SeriesCount(); charts != want {
		t.Errorf("%d charts for %d series", charts, want)
	}
	// The dash patterns are in the style sheet: solid observed, dashed forecast, dash-dot threshold, dotted now.
	for _, rule := range []string{".fc { fill: none; stroke: #9c3d00; stroke-width: 2.2; stroke-dasharray: 8 4; }", "stroke-dasharray: 14 4 3 4", "stroke-dasharray: 2 3"} {
		if !strings.Contains(styleCSS, rule) {
			t.Errorf("style sheet lacks %q", rule)
		}
	}
}

// TestChartGeometry: the chart puts now where the history ends and the forecasts begin, every point inside the
// plot, and the expected time until threshold on the threshold line at its offset.
func TestChartGeometry(t *testing.T) {
	r := reportOf(t, leakingHost(t, 36*60))
	mem := seriesOf(t, r, "memory_usage_ratio")
	c := mem.Chart
	sc := scale{past: r.Past.Seconds(), future: r.Future.Seconds(), lo: 0, hi: 1}
	if math.Abs(c.NowX-sc.x(0)) > 0.01 || c.NowX <= plotL || c.NowX >= plotR {
		t.Errorf("now at x=%v", c.NowX)
	}
	for _, cmd := range strings.FieldsFunc(c.Observed+c.Forecast, func(r rune) bool { return r == 'M' || r == 'L' }) {
		xy := strings.Fields(cmd)
		x, _ := strconv.ParseFloat(xy[0], 64)
		y, _ := strconv.ParseFloat(xy[1], 64)
		if x < plotL-0.05 || x > plotR+0.05 || y < plotT-0.05 || y > plotB+0.05 {
			t.Errorf("point %v,%v outside the plot", x, y)
		}
	}
	if !strings.HasSuffix(c.Observed, coord(c.NowX)+" "+coord(sc.y(mem.Latest))) {
		t.Errorf("the observed line does not end at now and the newest value: …%s", c.Observed[max(0, len(c.Observed)-40):])
	}
	if c.Threshold == nil || math.Abs(c.Threshold.Y-sc.y(0.95)) > 0.01 {
		t.Fatalf("threshold %+v", c.Threshold)
	}
	found := false
	for _, m := range c.Marks {
		if m.Label == "expected" {
			found = true
			if math.Abs(m.X-sc.x(mem.ETA.Expected)) > 0.01 || m.Y != c.Threshold.Y {
				t.Errorf("expected mark at %v,%v, want %v on the threshold", m.X, m.Y, sc.x(mem.ETA.Expected))
			}
		}
	}
	if !found {
		t.Errorf("no expected mark for an ETA of %v s", mem.ETA.Expected)
	}
	if len(c.Bars) != 4 {
		t.Errorf("%d interval bars for 4 served horizons", len(c.Bars))
	}
}

// FuzzPage renders views of any label values and numbers: the pages must render (valid JSON, HTML without a
// script element) and never panic.
func FuzzPage(f *testing.F) {
	f.Add("sda", 0.5, 0.4, 0.9, 3600.0, 7200.0, 0.8, 10)
	f.Add("<script>", math.NaN(), math.Inf(1), math.Inf(-1), math.Inf(1), math.NaN(), math.Inf(1), 0)
	f.Add("]]>\n\"'", -1e300, 1e300, 0.0, 0.0, -5.0, -1.0, 2000)
	f.Fuzz(func(t *testing.T, device string, value, lower, upper, earliest, expected, ratio float64, steps int) {
		steps = min(max(steps, 0), 3000)
		v := forecaster.View{Target: collector.TargetByName("disk_read_bytes_per_second"), LabelNames: []string{"device"},
			LabelValues: []string{device}, Step: time.Minute, LastStep: testEnd, HasLast: steps > 0, HistorySeconds: float64(steps) * 60,
			Threshold: upper, Earliest: earliest, Expected: expected, HasETA: true, Anomaly: ratio, HasAnomaly: true}
		for i := range steps {
			v.Observed = append(v.Observed, value*float64(i%7))
		}
		for i, h := range defaultHorizons {
			v.Horizons = append(v.Horizons, forecaster.HorizonView{Horizon: h, Ready: i%2 == 0, WarmupSeconds: earliest,
				Forecast: forecast.Prediction{Point: value, Lower: lower, Upper: upper}, ErrorRatio: ratio, HasErrorRatio: true})
		}
		p := testPages(t, &fakeSource{views: []forecaster.View{v, diskView(device)}})
		for _, path := range []string{ForecastPath, APIPath, LandingPath} {
			rec := get(t, p.Handler(path), http.MethodGet, path)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			if path != APIPath && strings.Contains(rec.Body.String(), "<script") {
				t.Fatalf("%s: a script element", path)
			}
		}
	})
}
