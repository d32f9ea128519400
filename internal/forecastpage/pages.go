// Package forecastpage serves the exporter's pages for people and scripts: the landing page at /, the forecast
// page at /forecast (HTML with inline SVG charts, no script, nothing loaded from elsewhere) and the same data as
// JSON at /api/v1/forecast (docs/forecast-api.md).
//
// The pages read the forecasts with one call of the forecaster's Views, which copies under the forecaster's lock,
// and build everything else from the copy without any lock the sampler or a scrape takes. A reading is kept for
// Config.CacheFor, so that however many clients poll, the forecaster is read at most once per period; the number
// of series and of points drawn per series are capped. docs/benchmarks.md has the measured costs.
//
// Every string that comes from the host (device names, mount points) reaches the HTML only through html/template,
// whose contextual escaping covers the inline SVG too, and the pages are served with a Content-Security-Policy
// that allows no script and no resource from anywhere.
package forecastpage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/servermon/servermon_exporter/internal/exposition"
	"github.com/servermon/servermon_exporter/internal/forecaster"
)

// The paths the pages are served at.
const (
	LandingPath  = "/"
	ForecastPath = "/forecast"
	APIPath      = "/api/v1/forecast"
)

// Defaults of Config.
const (
	DefaultCacheFor  = 5 * time.Second
	DefaultMaxSeries = 256
	// DefaultDocumentation is the landing page's Documentation link: absolute, since the exporter serves no
	// documentation of its own.
	DefaultDocumentation = "https://github.com/servermon/servermon_exporter#readme"
)

const (
	// maxPoints caps the observed points drawn per chart (and listed per series in the JSON): about one per unit of
	// the 274 units the history takes of the chart's width, so that more would not show.
	maxPoints = 240
	// maxHistorySteps caps the steps copied per series under the forecaster's lock: 24 h at the default 1 m step.
	maxHistorySteps = 1440
	// defaultPast is the longest history the charts show.
	defaultPast = 24 * time.Hour
)

// Source gives the forecasts: *forecaster.Forecaster.
type Source interface {
	Views(historySteps int) []forecaster.View
}

// Config configures the pages.
type Config struct {
	// Source gives the forecasts; nil when forecasting is off.
	Source Source
	// Step and Horizons are the forecasts' (--forecast.step, --forecast.horizon): they set the charts' axes and
	// say whether the trust gate's horizon is configured even before the first series exists.
	Step     time.Duration
	Horizons []time.Duration
	// TelemetryPath is where the metrics are served, for the links.
	TelemetryPath string
	// Version is the version line of the landing page (version.Info()).
	Version string
	// Profiling adds the pprof links to the landing page.
	Profiling bool
	// Documentation is the landing page's Documentation link; empty means DefaultDocumentation. It must be an
	// absolute http(s) URL.
	Documentation string
	// CacheFor is how long a reading of the forecasts is served; 0 means DefaultCacheFor.
	CacheFor time.Duration
	// MaxSeries caps the series shown; 0 means DefaultMaxSeries.
	MaxSeries int
	// Location is the time zone of the clock times shown; nil means time.Local.
	Location *time.Location
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives rendering errors; nil discards them.
	Logger *slog.Logger
}

var (
	//go:embed style.css
	styleCSS string
	//go:embed forecast.html
	forecastHTML string
	//go:embed landing.html
	landingHTML string
)

// Pages serves the landing page, the forecast page and the forecast API.
type Pages struct {
	cfg      Config
	opts     options
	forecast *template.Template
	landing  *template.Template
	csp      string
	metrics  string // relative link to the telemetry path

	mu      sync.Mutex
	readAt  time.Time
	current *report
	bodies  map[kind]*body // rendered from current, lazily
}

type kind int

const (
	kindLanding kind = iota
	kindForecast
	kindAPI
)

type body struct{ plain, gzipped []byte }

// New returns the pages of cfg.
func New(cfg Config) (*Pages, error) {
	if cfg.Source != nil && cfg.Step <= 0 {
		return nil, errors.New("forecast page: the forecast step must be positive")
	}
	if cfg.CacheFor <= 0 {
		cfg.CacheFor = DefaultCacheFor
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = DefaultMaxSeries
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Documentation == "" {
		cfg.Documentation = DefaultDocumentation
	}
	if u, err := url.Parse(cfg.Documentation); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("forecast page: documentation link %q is not an absolute http(s) URL", cfg.Documentation)
	}
	p := &Pages{cfg: cfg, bodies: map[kind]*body{}}
	p.opts = options{step: cfg.Step, horizons: cfg.Horizons, maxSeries: cfg.MaxSeries, maxPoints: maxPoints,
		forecasting: cfg.Source != nil, loc: cfg.Location}
	p.opts.past = chartPast(cfg.Step, cfg.Horizons)
	// Relative links keep working behind a reverse proxy that serves the exporter under a prefix; "./" keeps a
	// path with a colon from reading as a scheme.
	p.metrics = "./" + strings.TrimPrefix(cfg.TelemetryPath, "/")
	funcs := template.FuncMap{
		"c":        coord,
		"add":      func(a, b float64) float64 { return a + b },
		"sub":      func(a, b float64) float64 { return a - b },
		"fmtTime":  func(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") },
		"stepName": exposition.FormatDuration,
	}
	var err error
	if p.forecast, err = template.New("forecast").Funcs(funcs).Parse(forecastHTML); err != nil {
		return nil, fmt.Errorf("forecast page template: %w", err)
	}
	if p.landing, err = template.New("landing").Funcs(funcs).Parse(landingHTML); err != nil {
		return nil, fmt.Errorf("landing page template: %w", err)
	}
	sum := sha256.Sum256([]byte(styleCSS))
	// Nothing but the page's own style sheet may load or run: no script at all, whatever a label holds.
	p.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return p, nil
}

// chartPast is the span of history the charts show: four times the largest horizon, so that the trend that the
// forecast continues is visible, between 6 h and 24 h, and no more than maxHistorySteps steps.
func chartPast(step time.Duration, horizons []time.Duration) time.Duration {
	future := time.Duration(0)
	for _, h := range horizons {
		future = max(future, h)
	}
	past := min(max(4*future, 6*time.Hour), defaultPast)
	if step > 0 {
		past = min(past, maxHistorySteps*step)
	}
	return past
}

// Register adds the three pages to mux. A path already taken (a --web.telemetry-path of /forecast) is an error,
// where the mux would panic.
func (p *Pages) Register(mux *http.ServeMux) error {
	for _, r := range []struct {
		path string
		kind kind
	}{{LandingPath, kindLanding}, {ForecastPath, kindForecast}, {APIPath, kindAPI}} {
		if _, pattern := mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: r.path}}); pattern == r.path {
			return fmt.Errorf("%s is already served by another handler", r.path)
		}
		mux.Handle(r.path, p.handler(r.kind))
	}
	return nil
}

// Handler returns the handler of one page, for tests and benchmarks: LandingPath, ForecastPath or APIPath.
func (p *Pages) Handler(path string) http.Handler { return p.handler(p.kindOf(path)) }

func (p *Pages) kindOf(path string) kind {
	switch path {
	case ForecastPath:
		return kindForecast
	case APIPath:
		return kindAPI
	}
	return kindLanding
}

func (p *Pages) handler(k kind) http.Handler {
	contentType := "text/html; charset=utf-8"
	if k == kindAPI {
		contentType = "application/json; charset=utf-8"
	}
	maxAge := "private, max-age=" + strconv.Itoa(int(p.cfg.CacheFor/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k == kindLanding && r.URL.Path != LandingPath {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
		b, err := p.body(k, gz)
		if err != nil {
			p.cfg.Logger.Error("rendering a page", "path", r.URL.Path, "err", err)
			http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
			return
		}
		hdr := w.Header()
		hdr.Set("Content-Type", contentType)
		hdr.Set("Content-Length", strconv.Itoa(len(b)))
		hdr.Set("Cache-Control", maxAge)
		hdr.Set("Content-Security-Policy", p.csp)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Add("Vary", "Accept-Encoding")
		if gz {
			hdr.Set("Content-Encoding", "gzip")
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(b)
	})
}

// body returns the rendering of page k from a reading at most CacheFor old.
func (p *Pages) body(k kind, gz bool) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	if p.current == nil || now.Sub(p.readAt) >= p.cfg.CacheFor || now.Before(p.readAt) {
		p.current, p.readAt = p.read(now), now
		clear(p.bodies)
	}
	b := p.bodies[k]
	if b == nil {
		plain, err := p.render(k, p.current)
		if err != nil {
			return nil, err
		}
		b = &body{plain: plain}
		p.bodies[k] = b
	}
	if !gz {
		return b.plain, nil
	}
	if b.gzipped == nil {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed) // a valid level cannot fail
		if _, err := zw.Write(b.plain); err != nil {
			return nil, fmt.Errorf("compressing the page: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compressing the page: %w", err)
		}
		b.gzipped = out.Bytes()
	}
	return b.gzipped, nil
}

// read takes one reading of the forecasts.
func (p *Pages) read(now time.Time) *report {
	var views []forecaster.View
	if p.cfg.Source != nil {
		views = p.cfg.Source.Views(p.opts.historySteps())
	}
	return buildReport(views, &p.opts, now)
}

// pageData is what the HTML templates see.
type pageData struct {
	R             *report
	CSS           template.CSS
	Loc           *time.Location
	CacheSeconds  int
	Metrics       string
	Version       string
	Documentation string
	Profiling     bool
}

func (p *Pages) render(k kind, r *report) ([]byte, error) {
	if k == kindAPI {
		return encodeAPI(r)
	}
	// The style sheet is the package's own constant, not input: it is inserted as it is, so that its hash in the
	// Content-Security-Policy matches.
	data := pageData{R: r, CSS: template.CSS(styleCSS), Loc: p.cfg.Location, CacheSeconds: int(p.cfg.CacheFor / time.Second),
		Metrics: p.metrics, Version: p.cfg.Version, Documentation: p.cfg.Documentation, Profiling: p.cfg.Profiling}
	t := p.forecast
	if k == kindLanding {
		t = p.landing
	}
	var out bytes.Buffer
	if err := t.Execute(&out, &data); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", t.Name(), err)
	}
	return out.Bytes(), nil
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip (not with q=0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
