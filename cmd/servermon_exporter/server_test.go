package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetricsEndpoint(t *testing.T) {
	e := newTestExporter(t)
	e.run(t, 3)

	resp, plain := e.get(t, "/metrics")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(plain, []byte("servermon_cpu_usage_ratio ")) {
		t.Fatalf("status %d, body:\n%s", resp.StatusCode, plain)
	}

	// Go's transport gunzips on its own only when it asked for gzip itself; ask explicitly to see the raw body.
	resp, raw := e.get(t, "/metrics", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(withoutRuntime(unzipped), withoutRuntime(plain)) {
		t.Error("gzip body differs from the plain one")
	}

	req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/metrics", strings.NewReader("x"))
	if resp, err := e.server.Client().Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	}
	req, _ = http.NewRequest(http.MethodHead, e.server.URL+"/metrics", nil)
	if resp, err := e.server.Client().Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %v %v", resp, err)
	}
}

func TestLandingPageAndPprof(t *testing.T) {
	e := newTestExporter(t)
	resp, body := e.get(t, "/")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("/metrics")) {
		t.Errorf("landing page: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := e.get(t, "/debug/pprof/"); resp.StatusCode == http.StatusOK {
		t.Error("pprof served without --web.enable-pprof")
	}
	on := newTestExporter(t, "--web.enable-pprof")
	if resp, _ := on.get(t, "/debug/pprof/"); resp.StatusCode != http.StatusOK {
		t.Errorf("pprof with --web.enable-pprof: %d", resp.StatusCode)
	}
}
