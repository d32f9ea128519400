package forecastpage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// fakeSource serves fixed views and counts the readings.
type fakeSource struct {
	views []forecaster.View
	calls atomic.Int32
}

func (f *fakeSource) Views(int) []forecaster.View {
	f.calls.Add(1)
	return f.views
}

// diskView is a served per-disk view, as Views would return it, with the given device name.
func diskView(device string) forecaster.View {
	v := forecaster.View{Target: collector.TargetByName("disk_utilization_ratio"), LabelNames: []string{"device"},
		LabelValues: []string{device}, Step: time.Minute, LastStep: testEnd, HasLast: true, HistorySeconds: 8 * 3600,
		Threshold: 0.9, Earliest: 5400, Expected: math.Inf(1), HasETA: true, Anomaly: 1.5, HasAnomaly: true}
	for i := range 600 {
		v.Observed = append(v.Observed, 0.3+0.001*float64(i%50))
	}
	for i, h := range defaultHorizons {
		v.Horizons = append(v.Horizons, forecaster.HorizonView{Horizon: h, Ready: i < 3, WarmupSeconds: float64(i/3) * 7200,
			Forecast: forecast.Prediction{Point: 0.4, Lower: 0.2, Upper: 0.95}, ErrorRatio: 0.8, HasErrorRatio: i < 3})
	}
	return v
}

func get(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func mux(t *testing.T, p *Pages) *http.ServeMux {
	t.Helper()
	m := http.NewServeMux()
	m.Handle("/metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "metrics") }))
	if err := p.Register(m); err != nil {
		t.Fatal(err)
	}
	return m
}

// hostileNames are device and mount names that would break out of an HTML text, an attribute, a CDATA section
// or a line, if they were not escaped.
var hostileNames = []string{
	`<script>alert(1)</script>`,
	`"><svg onload=alert(2)>`,
	`' onmouseover='alert(3)`,
	`]]><script>alert(4)</script>`,
	"line1\nline2\r</title><script>alert(5)</script>",
	`</desc></svg><img src=x onerror=alert(6)>`,
	"&amp;&lt;\x00\xff",
	`javascript:alert(7)`,
}

// TestHostileNamesAreEscaped renders every page with devices named to break out of their context, then parses the
// HTML as a browser does: no script element, no event handler attribute, no javascript: link may appear, and each
// name must come back intact as text. The JSON must carry them as strings.
func TestHostileNamesAreEscaped(t *testing.T) {
	src := &fakeSource{}
	for _, n := range hostileNames {
		src.views = append(src.views, diskView(n))
	}
	p := testPages(t, src)
	m := mux(t, p)
	for _, path := range []string{ForecastPath, LandingPath} {
		rec := get(t, m, http.MethodGet, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		var texts strings.Builder
		z := html.NewTokenizer(bytes.NewReader(rec.Body.Bytes()))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				if z.Err() != io.EOF {
					t.Fatal(z.Err())
				}
				break
			}
			tok := z.Token()
			switch tt {
			case html.TextToken:
				texts.WriteString(tok.Data)
			case html.StartTagToken, html.SelfClosingTagToken:
				if tok.Data == "script" || tok.Data == "img" || tok.Data == "iframe" {
					t.Errorf("%s: a <%s> element made it into the page", path, tok.Data)
				}
				for _, a := range tok.Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("%s: <%s> has an event handler %s=%q", path, tok.Data, a.Key, a.Val)
					}
					if (a.Key == "href" || a.Key == "src") && strings.Contains(strings.ToLower(a.Val), "javascript:") {
						t.Errorf("%s: <%s %s=%q>", path, tok.Data, a.Key, a.Val)
					}
				}
			}
		}
		if path != ForecastPath {
			continue
		}
		for _, n := range hostileNames {
			// html/template keeps the text as it is, bytes html escapes aside; the tokenizer decodes those back.
			// Control characters and invalid UTF-8 are left to the browser, so compare the printable part.
			printable := strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0xfffd {
					return -1
				}
				return r
			}, strings.ToValidUTF8(n, ""))
			got := strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0xfffd {
					return -1
				}
				return r
			}, texts.String())
			if !strings.Contains(got, printable) {
				t.Errorf("%s: the name %q is not shown as text", path, n)
			}
		}
	}
	rec := get(t, m, http.MethodGet, APIPath)
	var doc struct {
		Series []struct {
			Labels map[string]string `json:"labels"`
		} `json:"series"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("API: %v\n%s", err, rec.Body)
	}
	if bytes.Contains(rec.Body.Bytes(), []byte("<script")) {
		t.Error("the JSON carries <script unescaped (it must be \\u003c for a page that embeds it)")
	}
	got := map[string]bool{}
	for _, s := range doc.Series {
		got[s.Labels["device"]] = true
	}
	for _, n := range hostileNames {
		if !got[strings.ToValidUTF8(n, "\ufffd")] {
			t.Errorf("API: device %q missing from %v", n, got)
		}
	}
}

// TestMethodsHeadersAndCompression: GET and HEAD only, 404 off the landing path, HEAD without a body, gzip when
// asked, and the security headers on every page.
func TestMethodsHeadersAndCompression(t *testing.T) {
	m := mux(t, testPages(t, leakingHost(t, 200)))
	for _, path := range []string{LandingPath, ForecastPath, APIPath} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
			rec := get(t, m, method, path)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q", method, path, rec.Code, rec.Header().Get("Allow"))
			}
		}
		full := get(t, m, http.MethodGet, path)
		head := get(t, m, http.MethodHead, path)
		if full.Code != http.StatusOK || head.Code != http.StatusOK || head.Body.Len() != 0 ||
			head.Header().Get("Content-Length") != full.Header().Get("Content-Length") {
			t.Errorf("%s: GET %d (%d bytes), HEAD %d (%d bytes, Content-Length %s)", path, full.Code, full.Body.Len(),
				head.Code, head.Body.Len(), head.Header().Get("Content-Length"))
		}
		csp := full.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if full.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		zipped := get(t, m, http.MethodGet, path, "Accept-Encoding", "gzip")
		if zipped.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: not compressed", path)
		}
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, full.Body.Bytes()) {
			t.Errorf("%s: the gzip body differs from the plain one (%v)", path, err)
		}
		if none := get(t, m, http.MethodGet, path, "Accept-Encoding", "gzip;q=0"); none.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: compressed although gzip;q=0", path)
		}
	}
	for _, path := range []string{"/nope", "/forecast/x", "/index.html"} {
		if rec := get(t, m, http.MethodGet, path); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
}

// TestStyleHashMatchesThePolicy: the policy allows the page's style sheet by its hash, so a browser applies it;
// a mismatch would leave the page unstyled and the charts without their dash patterns.
func TestStyleHashMatchesThePolicy(t *testing.T) {
	rec := get(t, testPages(t, leakingHost(t, 100)).Handler(ForecastPath), http.MethodGet, ForecastPath)
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindSubmatch(rec.Body.Bytes())
	if m == nil {
		t.Fatal("no <style> element")
	}
	sum := sha256.Sum256(m[1])
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, want) {
		t.Errorf("policy %q does not allow the style element (want %s)", csp, want)
	}
}

// TestReadingsAreCached: polls within CacheFor share one reading of the forecaster; the next period reads again.
func TestReadingsAreCached(t *testing.T) {
	src := &fakeSource{views: []forecaster.View{diskView("sda")}}
	now := testEnd
	p := testPages(t, src, func(c *Config) { c.Now = func() time.Time { return now } })
	m := mux(t, p)
	for _, path := range []string{ForecastPath, APIPath, LandingPath, ForecastPath} {
		get(t, m, http.MethodGet, path)
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d readings for 4 requests within the cache period, want 1", n)
	}
	now = now.Add(DefaultCacheFor)
	get(t, m, http.MethodGet, APIPath)
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d readings after the cache period, want 2", n)
	}
	now = now.Add(-time.Hour) // a clock stepped back must not freeze the page
	get(t, m, http.MethodGet, APIPath)
	if n := src.calls.Load(); n != 3 {
		t.Errorf("%d readings after the clock went back, want 3", n)
	}
}

// TestSeriesAreCapped: beyond MaxSeries the pages show the first ones, host-wide first, and say how many are left
// out.
func TestSeriesAreCapped(t *testing.T) {
	f := leakingHost(t, 100, "sda", "sdb", "sdc")
	p := testPages(t, f, func(c *Config) { c.MaxSeries = 6 })
	rec := get(t, p.Handler(APIPath), http.MethodGet, APIPath)
	var doc struct {
		Total   int `json:"series_total"`
		Omitted int `json:"series_omitted"`
		Series  []struct {
			Target string `json:"target"`
		} `json:"series"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Total != f.SeriesCount() || len(doc.Series) != 6 || doc.Omitted != doc.Total-6 {
		t.Fatalf("total %d (forecaster %d), listed %d, omitted %d", doc.Total, f.SeriesCount(), len(doc.Series), doc.Omitted)
	}
	for i, want := range []string{"cpu_usage_ratio", "memory_usage_ratio", "swap_usage_ratio", "load1", "disk_utilization_ratio"} {
		if doc.Series[i].Target != want {
			t.Errorf("series %d is %s, want %s", i, doc.Series[i].Target, want)
		}
	}
	page := get(t, p.Handler(ForecastPath), http.MethodGet, ForecastPath).Body.String()
	if n := strings.Count(page, `<svg class="chart"`); n != 6 {
		t.Errorf("%d charts, want 6", n)
	}
	if !strings.Contains(page, "more series are forecast but not shown") {
		t.Error("the page does not say that series are left out")
	}
}

// TestRegisterRefusesATakenPath: a telemetry path on one of the pages' paths is an error, not a panic.
func TestRegisterRefusesATakenPath(t *testing.T) {
	m := http.NewServeMux()
	m.Handle(ForecastPath, http.NotFoundHandler())
	if err := testPages(t, nil).Register(m); err == nil {
		t.Error("registered over /forecast")
	}
}

// TestLandingLinks: every link of the landing page is an absolute http(s) URL or a relative one that resolves to
// a path the mux serves, from the landing page and from behind a reverse proxy's prefix alike; the Documentation
// link is absolute.
func TestLandingLinks(t *testing.T) {
	p := testPages(t, leakingHost(t, 100), func(c *Config) { c.Profiling = true })
	m := mux(t, p)
	body := get(t, m, http.MethodGet, LandingPath).Body.String()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			for _, a := range n.Attr {
				if a.Key == "href" && n.FirstChild != nil {
					links[n.FirstChild.Data] = a.Val
				}
			}
		}
	}
	for _, text := range []string{"Metrics", "Forecasts", "Forecasts as JSON", "Documentation"} {
		if links[text] == "" {
			t.Errorf("no %q link in %v", text, links)
		}
	}
	if doc := links["Documentation"]; !strings.HasPrefix(doc, "https://") || strings.HasPrefix(doc, "/") {
		t.Errorf("Documentation links to %q, want an absolute URL", doc)
	}
	if !strings.Contains(body, "Version: test") {
		t.Error("no version line")
	}
	for text, href := range links {
		u, err := url.Parse(href)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if u.IsAbs() {
			if u.Scheme != "https" || u.Host == "" {
				t.Errorf("%s: %q", text, href)
			}
			continue
		}
		if text == "Profiling" || text == "heap" || strings.HasPrefix(text, "CPU") {
			continue // pprof is the main package's; its paths are checked there
		}
		base, _ := url.Parse("http://exporter:9843/")
		target := base.ResolveReference(u)
		if rec := get(t, m, http.MethodGet, target.Path); rec.Code != http.StatusOK {
			t.Errorf("%s: %q resolves to %s, which answers %d", text, href, target.Path, rec.Code)
		}
		proxied, _ := url.Parse("https://proxy/servermon/")
		if got := proxied.ResolveReference(u).Path; !strings.HasPrefix(got, "/servermon/") {
			t.Errorf("%s: behind a proxy prefix %q resolves to %s", text, href, got)
		}
	}
}

func TestDocumentationMustBeAbsolute(t *testing.T) {
	for _, doc := range []string{"github.com/x", "/docs", "javascript:alert(1)", "https://"} {
		if _, err := New(Config{Documentation: doc}); err == nil {
			t.Errorf("documentation link %q accepted", doc)
		}
	}
}
