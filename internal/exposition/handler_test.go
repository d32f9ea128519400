package exposition

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=1.0": true, "gzip;q=0": false, "gzip; q=0": false,
		"br": false, "x-gzip": false, "identity, gzip ; q=0.5": true, "*": true, "*;q=0": false, "gzip;q=0, *": false,
		"br, *;q=0.1": true, "gzip;q=0.000": false, "gzip;Q=0.001": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v", header, got)
		}
	}
}

func TestMaxRequestsAnswers503(t *testing.T) {
	h := NewHandler(NewBody(func() uint64 { return 1 }, &countingProducer{}), 2, slog.New(slog.DiscardHandler))
	h.slots <- struct{}{}
	h.slots <- struct{}{} // two scrapes in flight
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost/metrics", nil))
		return rec.Code
	}
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("third concurrent scrape got %d, want 503", code)
	}
	<-h.slots
	if code := get(); code != http.StatusOK {
		t.Errorf("scrape after a slot freed got %d, want 200", code)
	}
}
