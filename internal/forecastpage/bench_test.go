package forecastpage

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// benchHost is a host of 4 host-wide series and 3 per disk, each with 36 h of history, so that every horizon is
// served and the time until threshold follows its whole 24 h path.
func benchHost(b *testing.B, disks int) *Pages {
	b.Helper()
	names := make([]string, disks)
	for i := range names {
		names[i] = fmt.Sprintf("sd%c%c", 'a'+i/26, 'a'+i%26)
	}
	f := leakingHost(b, 36*60, names...)
	if n := f.SeriesCount(); n != 4+3*disks {
		b.Fatalf("%d series", n)
	}
	return testPages(b, f)
}

// benchSizes are a host with one disk and the largest the defaults forecast: the 96 per-disk series that
// --forecast.max-disk-series allows (32 disks).
var benchSizes = []int{1, 32}

func eachSize(b *testing.B, run func(*testing.B, *Pages)) {
	for _, disks := range benchSizes {
		b.Run(fmt.Sprintf("series=%d", 4+3*disks), func(b *testing.B) { run(b, benchHost(b, disks)) })
	}
}

// BenchmarkViews is one reading of the forecasts: Views copies 1440 steps of history and computes both times until
// threshold of every series, all under the forecaster's lock, so its time is how long the sampler or a scrape's
// rendering can wait for the page, once per cache period at most.
func BenchmarkViews(b *testing.B) {
	eachSize(b, func(b *testing.B, p *Pages) {
		steps := p.opts.historySteps()
		b.ReportAllocs()
		for b.Loop() {
			p.cfg.Source.Views(steps)
		}
	})
}

// BenchmarkForecastPage is a refresh of the forecast page: the reading, the report and the HTML, outside the
// forecaster's lock but for the reading.
func BenchmarkForecastPage(b *testing.B) { benchmarkPage(b, ForecastPath) }

// BenchmarkAPI is a refresh of the JSON document.
func BenchmarkAPI(b *testing.B) { benchmarkPage(b, APIPath) }

func benchmarkPage(b *testing.B, path string) {
	eachSize(b, func(b *testing.B, p *Pages) { benchmarkRefresh(b, p, path) })
}

func benchmarkRefresh(b *testing.B, p *Pages, path string) {
	now := testEnd
	p.cfg.Now = func() time.Time { return now }
	b.ReportAllocs()
	size, zipped := 0, 0
	for b.Loop() {
		now = now.Add(p.cfg.CacheFor) // every request a new reading
		body, err := p.body(p.kindOf(path), false)
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.StopTimer()
	body, err := p.body(p.kindOf(path), true)
	if err != nil {
		b.Fatal(err)
	}
	zipped = len(body)
	b.ReportMetric(float64(size), "bytes/page")
	b.ReportMetric(float64(zipped), "gzip-bytes/page")
}

// BenchmarkCachedPage is a request served from the cache, as every one but the first of a period is.
func BenchmarkCachedPage(b *testing.B) {
	p := benchHost(b, 32)
	h := p.Handler(ForecastPath)
	req, _ := http.NewRequest(http.MethodGet, ForecastPath, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(discard{}, req)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
