package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Causes of a failed query, as the label cause="…" of servermon_forecast_backfill_errors_total spells them.
const (
	causeUnreachable  = "unreachable"   // no connection, DNS, TLS handshake
	causeTimeout      = "timeout"       // the deadline or a query timeout passed
	causeUnauthorized = "unauthorized"  // 401
	causeForbidden    = "forbidden"     // 403
	causeBadQuery     = "bad_query"     // 400 or 422: the selector or an expression is refused
	causeUnavailable  = "unavailable"   // 503, 429: Prometheus is starting or overloaded
	causeServer       = "server_error"  // other 5xx
	causeBadResponse  = "bad_response"  // truncated or garbage JSON, an unexpected result type, other statuses
	causeByteCap      = "byte_cap"      // the cap on bytes read was reached
	causeSeveralHosts = "several_hosts" // the selector matches series of more than one host
)

// queryError is a failed query with its cause.
type queryError struct {
	cause string
	err   error
}

func (e *queryError) Error() string { return e.cause + ": " + e.err.Error() }
func (e *queryError) Unwrap() error { return e.err }

// permanent reports whether retrying cannot help within one backfill: Prometheus refused the query itself, or the
// byte budget is spent. 401 and 403 are retried: a bearer token file may be rewritten by the time of the next try.
func (e *queryError) permanent() bool {
	return e.cause == causeBadQuery || e.cause == causeByteCap || e.cause == causeSeveralHosts
}

// errByteCap is returned by reads past the cap on bytes read.
var errByteCap = errors.New("cap on bytes read from Prometheus reached")

// statusError is an HTTP status other than 2xx, 400 and 422, which the Prometheus API does not explain in JSON.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.code, http.StatusText(e.code), e.body)
}

// client queries one Prometheus-compatible API with prometheus/common's HTTP client configuration.
type client struct {
	api v1.API
	// read counts the bytes of response bodies read, against maxBytes.
	read     atomic.Int64
	maxBytes int64
}

// newClient returns a client of the query API at url.
func newClient(url string, hc config.HTTPClientConfig, maxBytes int64) (*client, error) {
	rt, err := config.NewRoundTripperFromConfig(hc, "servermon_backfill")
	if err != nil {
		return nil, fmt.Errorf("backfill HTTP client: %w", err)
	}
	c := &client{maxBytes: maxBytes}
	inner, err := api.NewClient(api.Config{Address: url, RoundTripper: &cappedTransport{next: rt, c: c}})
	if err != nil {
		return nil, fmt.Errorf("backfill client of %s: %w", url, err)
	}
	c.api = v1.NewAPI(statusClient{inner})
	return c, nil
}

// cappedTransport counts the bytes of every response body and fails reads past the cap, so that a runaway answer
// cannot fill memory: the API client reads whole bodies before decoding them.
type cappedTransport struct {
	next http.RoundTripper
	c    *client
}

func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, c: t.c}
	return resp, nil
}

type cappedBody struct {
	io.ReadCloser
	c *client
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.c.read.Load() >= b.c.maxBytes {
		return 0, errByteCap
	}
	n, err := b.ReadCloser.Read(p)
	b.c.read.Add(int64(n))
	return n, err
}

// statusClient turns statuses the Prometheus API does not answer in JSON into statusErrors, so that 401, 403 and
// 503 are told apart (the API client reports them all as "client error" or "server error").
type statusClient struct{ api.Client }

func (s statusClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	resp, body, err := s.Client.Do(ctx, req)
	if err == nil && resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
		// resp stays: the API client retries a POST refused with 403 or 405 as a GET, as proxies may require.
		return resp, body, &statusError{code: resp.StatusCode, body: snippet(body)}
	}
	return resp, body, err
}

// snippet is the start of a response body, for a log line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// queryRange runs one range query and returns its matrix.
func (c *client) queryRange(ctx context.Context, expr string, r v1.Range) (model.Matrix, error) {
	v, _, _, err := c.api.QueryRange(ctx, expr, r)
	return resultOf[model.Matrix](ctx, v, err)
}

// query runs one instant query and returns its vector.
func (c *client) query(ctx context.Context, expr string, at time.Time) (model.Vector, error) {
	v, _, _, err := c.api.Query(ctx, expr, at)
	return resultOf[model.Vector](ctx, v, err)
}

// resultOf returns a query's result as the type T the query answers with, or the query's error classified. A
// success without data has no result at all (v is nil).
func resultOf[T model.Value](ctx context.Context, v model.Value, err error) (T, error) {
	var want T
	if err != nil {
		return want, classify(ctx, err)
	}
	if v == nil {
		return want, &queryError{cause: causeBadResponse, err: fmt.Errorf("no result, want a %s", want.Type())}
	}
	r, ok := v.(T)
	if !ok {
		return want, &queryError{cause: causeBadResponse, err: fmt.Errorf("result of type %s, want a %s", v.Type(), want.Type())}
	}
	return r, nil
}

// classify gives a query's error its cause.
func classify(ctx context.Context, err error) *queryError {
	var se *statusError
	var ae *v1.Error
	var ne net.Error
	cause := causeBadResponse
	switch {
	case errors.Is(err, errByteCap):
		cause = causeByteCap
	case errors.As(err, &se):
		switch {
		case se.code == http.StatusUnauthorized:
			cause = causeUnauthorized
		case se.code == http.StatusForbidden:
			cause = causeForbidden
		case se.code == http.StatusServiceUnavailable || se.code == http.StatusTooManyRequests:
			cause = causeUnavailable
		case se.code/100 == 5:
			cause = causeServer
		}
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		cause = causeTimeout
	case errors.As(err, &ae):
		switch ae.Type {
		case v1.ErrBadData, v1.ErrExec:
			cause = causeBadQuery
		case v1.ErrTimeout, v1.ErrCanceled:
			cause = causeTimeout
		case v1.ErrServer:
			cause = causeServer
		}
	case errors.As(err, &ne):
		cause = causeUnreachable
		if ne.Timeout() {
			cause = causeTimeout
		}
	}
	return &queryError{cause: cause, err: err}
}
