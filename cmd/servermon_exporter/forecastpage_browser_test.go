package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/forecaster"
	"github.com/servermon/servermon_exporter/internal/forecastpage"
	"github.com/servermon/servermon_exporter/internal/forecastpage/pagetest"
)

// screenshotFile is the README's picture of the forecast page, rewritten by -update.
const screenshotFile = "../../docs/forecast-page.png"

// chromium runs Debian's headless chromium (installed by .ci/deps) with a new profile and returns its stdout.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found in PATH (%v): install Debian's chromium package (apt-get install chromium)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, path, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// dumpDOM loads url in chromium and parses the DOM it built.
func dumpDOM(t *testing.T, url string) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(chromium(t, "--dump-dom", url)))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// screenshot takes a screenshot of url at a window width and returns it decoded, with the PNG's bytes.
func screenshot(t *testing.T, url string, width, height int) (image.Image, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "shot.png")
	chromium(t, "--screenshot="+out, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), url)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img, b
}

// apiDocument is the part of /api/v1/forecast the browser test compares the page with.
type apiDocument struct {
	Series []struct {
		Target  string            `json:"target"`
		Title   string            `json:"title"`
		Labels  map[string]string `json:"labels"`
		Summary string            `json:"summary"`
		Latest  *float64          `json:"latest"`
		ETA     *struct {
			State           string   `json:"state"`
			ExpectedSeconds *float64 `json:"expected_seconds"`
			EarliestSeconds *float64 `json:"earliest_seconds"`
		} `json:"eta"`
	} `json:"series"`
}

// TestForecastPageInChromium loads the forecast page of a scenario exporter whose memory leaks, with 36 h of
// backfilled history, in Debian's headless chromium: the DOM must hold one chart per series, the summary of each
// host-wide target, the memory leak's time until threshold as the API gives it, and no script; screenshots at
// 1280 and 400 px must show the charts drawn with the page's style sheet (the Content-Security-Policy admits it by
// hash). The API document must match docs/forecast-api.schema.json. -update rewrites docs/forecast-page.png;
// SERVERMON_SCREENSHOTS=DIR keeps both screenshots there.
func TestForecastPageInChromium(t *testing.T) {
	e := newLeakExporter(t)
	_, body := e.get(t, "/api/v1/forecast")
	checkSchema(t, body)
	var api apiDocument
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	// Every target has its series: the host's, vda's, and the scenario's four mounts' (usage of all four, inodes
	// of the three that have an inode count): beyond one series a target, 3 usage and 2 inode series.
	if n, want := e.forecasts.SeriesCount(), len(collector.Targets())+3+2; len(api.Series) != n || n != want {
		t.Fatalf("API lists %d series, the forecaster has %d, want %d", len(api.Series), n, want)
	}
	var memSummary string
	for _, s := range api.Series {
		if s.Target != "memory_usage_ratio" {
			continue
		}
		memSummary = s.Summary
		if s.ETA == nil || s.ETA.State != "ahead" || s.ETA.ExpectedSeconds == nil || s.Latest == nil {
			t.Fatalf("memory leaks towards 95 %%, yet the API says %+v", s.ETA)
		}
		// The leak is linear: the point forecast must land near its straight-line extrapolation.
		linear := (0.95 - *s.Latest) / leakSlope * 3600
		if got := *s.ETA.ExpectedSeconds; got < linear/2 || got > 2*linear {
			t.Errorf("memory expected to reach 95 %% in %.0f s; the straight line says %.0f s", got, linear)
		}
	}

	doc := dumpDOM(t, e.server.URL+"/forecast")
	if scripts := pagetest.FindAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "script" }); len(scripts) > 0 {
		t.Errorf("%d script elements in the DOM", len(scripts))
	}
	charts := pagetest.FindAll(doc, func(n *html.Node) bool { return n.Data == "svg" && pagetest.HasClass(n, "chart") })
	if len(charts) != len(api.Series) {
		t.Errorf("%d charts for %d series", len(charts), len(api.Series))
	}
	for i, c := range charts {
		if pagetest.Attr(c, "role") != "img" || len(pagetest.FindAll(c, func(n *html.Node) bool { return n.Data == "desc" })) != 1 {
			t.Errorf("chart %d has no text alternative", i)
		}
		if len(pagetest.FindAll(c, func(n *html.Node) bool { return pagetest.HasClass(n, "obs") })) != 1 ||
			len(pagetest.FindAll(c, func(n *html.Node) bool { return pagetest.HasClass(n, "band") })) != 1 {
			t.Errorf("chart %d lacks the observed line or the forecast band", i)
		}
	}
	items := pagetest.FindAll(doc, func(n *html.Node) bool {
		return n.Data == "li" && n.Parent != nil && pagetest.HasClass(n.Parent, "summary")
	})
	hostWide := 0
	for _, s := range api.Series {
		if len(s.Labels) == 0 {
			hostWide++
		}
	}
	if len(items) != hostWide {
		t.Errorf("summary of %d lines for %d host-wide targets", len(items), hostWide)
	}
	want := "Memory usage: " + memSummary
	found := false
	for _, li := range items {
		if strings.HasPrefix(pagetest.Words(li), want) {
			found = true
		}
	}
	if !found || !regexp.MustCompile(`^reaches 95 % in about \d+ h( \d+ min)?`).MatchString(memSummary) {
		t.Errorf("no summary line %q (API summary %q)", want, memSummary)
	}
	memory := pagetest.FindAll(doc, func(n *html.Node) bool {
		return n.Data == "article" && strings.HasPrefix(pagetest.Words(n), "Memory usage ")
	})
	if len(memory) != 1 {
		t.Fatalf("%d memory articles", len(memory))
	}
	expected := pagetest.FindAll(memory[0], func(n *html.Node) bool { return pagetest.HasClass(n, "eta-expected") })
	earliest := pagetest.FindAll(memory[0], func(n *html.Node) bool { return pagetest.HasClass(n, "eta-earliest") })
	etaText := regexp.MustCompile(`^in about .+, at \d\d:\d\d`)
	if len(expected) != 1 || len(earliest) != 1 || !etaText.MatchString(pagetest.Words(expected[0])) || !etaText.MatchString(pagetest.Words(earliest[0])) {
		t.Errorf("memory ETA text: expected %v, earliest %v", expected, earliest)
	}

	for _, width := range []int{1280, 400} {
		img, raw := screenshot(t, e.server.URL+"/forecast", width, 2000)
		if img.Bounds().Dx() != width {
			t.Errorf("screenshot %d px wide at a window of %d", img.Bounds().Dx(), width)
		}
		// The observed lines are drawn only if the style sheet applied: without it an SVG path has no stroke.
		if n := countColour(img, 0x1d, 0x4f, 0x91); n < 50 {
			t.Errorf("at %d px: %d pixels of the observed line's colour: the style sheet did not apply", width, n)
		}
		if dir := os.Getenv("SERVERMON_SCREENSHOTS"); dir != "" { // to look at them
			if err := os.WriteFile(filepath.Join(dir, "forecast-"+strconv.Itoa(width)+".png"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if *update && width == 1280 {
			writeSmallPNG(t, screenshotFile, img, 1690)
		}
	}
}

// writeSmallPNG writes the top height pixels of img to path with a palette of its 256 most frequent colours, each
// other colour drawn as the nearest of them: the page is flat colours and anti-aliased text, which this keeps
// legible at about a third of the true-colour file's size.
func writeSmallPNG(t *testing.T, path string, img image.Image, height int) {
	t.Helper()
	b := img.Bounds()
	b.Max.Y = min(b.Max.Y, b.Min.Y+height)
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 0xff}]++
		}
	}
	colours := make([]color.RGBA, 0, len(counts))
	for c := range counts {
		colours = append(colours, c)
	}
	slices.SortFunc(colours, func(a, b color.RGBA) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a.R, b.R), cmp.Compare(a.G, b.G), cmp.Compare(a.B, b.B))
	})
	var pal color.Palette
	for _, c := range colours[:min(len(colours), 256)] {
		pal = append(pal, c)
	}
	p := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
	draw.Draw(p, p.Bounds(), img, b.Min, draw.Src)
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d bytes", path, out.Len())
}

// countColour counts the pixels within a small distance of a colour.
func countColour(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if math.Abs(float64(pr>>8)-float64(r)) < 12 && math.Abs(float64(pg>>8)-float64(g)) < 12 && math.Abs(float64(pb>>8)-float64(b)) < 12 {
				n++
			}
		}
	}
	return n
}

// checkSchema validates an API document against docs/forecast-api.schema.json.
func checkSchema(t *testing.T, body []byte) {
	t.Helper()
	if err := pagetest.Validate(pagetest.Schema(t), body); err != nil {
		t.Errorf("/api/v1/forecast does not match its schema: %v", err)
	}
}

// TestHostileNamesInChromium: devices named to break out of HTML, SVG and attributes, in the DOM chromium builds
// from the page: no script, no image, no event handler, and the names shown as text in the headings.
func TestHostileNamesInChromium(t *testing.T) {
	names := []string{`<script>document.title='pwned'</script>`, `"><svg onload="alert(1)">`, `]]><img src=x onerror=alert(2)>`, `' onfocus='alert(3)`}
	f, err := forecaster.New(forecaster.Config{Step: time.Minute, History: 24 * time.Hour, AnomalyThreshold: 4,
		Horizons: []time.Duration{5 * time.Minute, time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	f.Hold()
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	values := make([]float64, 200)
	for i := range values {
		values[i] = 0.5 + 0.2*math.Sin(float64(i)/9)
	}
	for _, n := range names {
		if _, err := f.Backfill(collector.TargetByName("disk_utilization_ratio"), []string{"device"}, []string{n}, start, values); err != nil {
			t.Fatal(err)
		}
	}
	f.Release()
	pages, err := forecastpage.New(forecastpage.Config{Source: f, Step: time.Minute, Horizons: []time.Duration{5 * time.Minute, time.Hour},
		TelemetryPath: "/metrics", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := pages.Register(mux); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	doc := dumpDOM(t, srv.URL+"/forecast")
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if n.Data == "script" || n.Data == "img" {
			t.Errorf("a <%s> element in the DOM", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q> in the DOM", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "title" && n.Parent != nil && n.Parent.Data == "head" && strings.Contains(pagetest.Words(n), "pwned") {
			t.Error("a script ran")
		}
	}
	headings := pagetest.FindAll(doc, func(n *html.Node) bool { return n.Data == "h3" })
	for _, name := range names {
		ok := false
		for _, h := range headings {
			if strings.Contains(pagetest.Words(h), name) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("no heading shows %q", name)
		}
	}
}
