package exposition

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// ContentType is the media type of the text format the bodies are in.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves a Body at /metrics. Scrapes only copy the pre-rendered body out; beyond maxRequests concurrent
// scrapes it answers 503 rather than queueing.
type Handler struct {
	body   *Body
	slots  chan struct{}
	logger *slog.Logger
}

// NewHandler returns the handler of body; maxRequests 0 means no limit.
func NewHandler(body *Body, maxRequests int, logger *slog.Logger) *Handler {
	h := &Handler{body: body, logger: logger}
	if maxRequests > 0 {
		h.slots = make(chan struct{}, maxRequests)
	}
	return h
}

// ServeHTTP answers GET and HEAD with the body, gzip-compressed when the client accepts it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.slots != nil {
		select {
		case h.slots <- struct{}{}:
			defer func() { <-h.slots }()
		default:
			http.Error(w, "too many concurrent scrapes, try again later", http.StatusServiceUnavailable)
			return
		}
	}
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	body, err := h.body.Bytes(gz)
	if err != nil {
		h.logger.Error("rendering metrics", "err", err)
		http.Error(w, "internal error rendering metrics", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", ContentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Add("Vary", "Accept-Encoding")
	if gz {
		hdr.Set("Content-Encoding", "gzip")
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body) // a client that hung up is no fault of ours
}

// acceptsGzip reports whether an Accept-Encoding header (RFC 9110, 12.5.3) admits gzip: listed, or covered by
// "*", with a q-value above 0. goautoneg, which the module already has, negotiates media ranges (type/subtype) and
// finds no match for a content coding such as "gzip", so the header is parsed here.
func acceptsGzip(header string) bool {
	gzip, star := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(param), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch coding = strings.TrimSpace(coding); {
		case strings.EqualFold(coding, "gzip"):
			gzip = q
		case coding == "*":
			star = q
		}
	}
	if gzip < 0 {
		gzip = star
	}
	return gzip > 0
}
