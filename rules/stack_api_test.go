package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// promClient talks to the test's Prometheus over its HTTP API.
type promClient struct {
	base string
	hc   *http.Client
}

func newPromClient(addr string) *promClient {
	return &promClient{base: "http://" + addr, hc: &http.Client{Timeout: 5 * time.Second}}
}

// get returns the body of a GET request; a status other than 200 is an error that includes the body.
func (c *promClient) get(ctx context.Context, path string, params url.Values) ([]byte, error) {
	u := c.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return body, nil
}

// sample is one element of an instant vector (or the value of a scalar, with no labels).
type sample struct {
	Metric map[string]string
	Value  float64
}

// apiResponse is the envelope of every Prometheus API answer.
type apiResponse struct {
	Status   string          `json:"status"`
	Data     json.RawMessage `json:"data"`
	Error    string          `json:"error"`
	Warnings []string        `json:"warnings"`
}

// query evaluates an instant query now and returns its samples (a scalar is one sample without labels).
func (c *promClient) query(ctx context.Context, expr string) ([]sample, error) {
	body, err := c.get(ctx, "/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	if r.Status != "success" || len(r.Warnings) > 0 {
		return nil, fmt.Errorf("query %s: status %s, error %q, warnings %v", expr, r.Status, r.Error, r.Warnings)
	}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	switch data.ResultType {
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		f, err := parseSampleValue(v[1])
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		return []sample{{Value: f}}, nil
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &vec); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		out := make([]sample, 0, len(vec))
		for _, s := range vec {
			f, err := parseSampleValue(s.Value[1])
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", expr, err)
			}
			out = append(out, sample{Metric: s.Metric, Value: f})
		}
		return out, nil
	}
	return nil, fmt.Errorf("query %s: unexpected result type %q", expr, data.ResultType)
}

func parseSampleValue(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value: %w", err)
	}
	return f, nil
}

// labelValues returns the values of label on the series matching selector ("" for all series).
func (c *promClient) labelValues(ctx context.Context, label, selector string) ([]string, error) {
	params := url.Values{}
	if selector != "" {
		params.Set("match[]", selector)
	}
	body, err := c.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", params)
	if err != nil {
		return nil, err
	}
	var r apiResponse
	var vals []string
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("label values %s: %w", label, err)
	}
	if err := json.Unmarshal(r.Data, &vals); err != nil {
		return nil, fmt.Errorf("label values %s: %w", label, err)
	}
	return vals, nil
}

// promAlert is an alert as /api/v1/alerts lists it.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	Value       string            `json:"value"`
}

// alerts returns Prometheus' pending and firing alerts.
func (c *promClient) alerts(ctx context.Context) ([]promAlert, error) {
	body, err := c.get(ctx, "/api/v1/alerts", nil)
	if err != nil {
		return nil, err
	}
	var r apiResponse
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return data.Alerts, nil
}

// amAlert is one alert of an Alertmanager webhook notification.
type amAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
}

// notification is one webhook request from Alertmanager, with when it arrived.
type notification struct {
	At       time.Time
	Status   string    `json:"status"`
	Receiver string    `json:"receiver"`
	Alerts   []amAlert `json:"alerts"`
}

// webhook is the Alertmanager receiver inside the test: it keeps every notification.
type webhook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []notification
	bad []string // requests that did not decode
}

func newWebhook() *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var n notification
		err := json.NewDecoder(r.Body).Decode(&n)
		n.At = time.Now()
		w.mu.Lock()
		if err != nil {
			w.bad = append(w.bad, err.Error())
		} else {
			w.got = append(w.got, n)
		}
		w.mu.Unlock()
	}))
	return w
}

// notifications returns the notifications received so far.
func (w *webhook) notifications() []notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]notification(nil), w.got...)
}

// decodeErrors returns the requests that were not valid webhook JSON.
func (w *webhook) decodeErrors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bad...)
}
