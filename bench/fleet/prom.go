package main

import (
	"context"
	"encoding/json"
	"fmt"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"
)

// promConfig is the central Prometheus' configuration: the servermon job scraping every host (the down one too)
// every 15 s, and the rule files once rules are on.
func promConfig(hosts []*host, ruleFiles []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: 10s\n  evaluation_interval: %s\n", scrapeInterval, scrapeInterval)
	if len(ruleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range ruleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	if len(hosts) > 0 {
		b.WriteString("scrape_configs:\n  - job_name: servermon\n    static_configs:\n      - targets:\n")
		for _, h := range hosts {
			fmt.Fprintf(&b, "          - %q\n", h.instance)
		}
	}
	return b.String()
}

// prom is the central Prometheus: its API and its own metrics.
type prom struct {
	url, dir string
	client   *http.Client
}

func newProm(url, dir string) *prom {
	return &prom{url: url, dir: dir, client: &http.Client{Timeout: time.Minute}}
}

// reload writes config over the configuration file and has Prometheus reload it (--web.enable-lifecycle).
func (p *prom) reload(ctx context.Context, config string) error {
	if err := os.WriteFile(filepath.Join(p.dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		return fmt.Errorf("prometheus configuration: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("reloading Prometheus: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("reloading Prometheus: %s: %s", resp.Status, body)
	}
	return nil
}

// sample is one element of an instant vector.
type sample struct {
	labels map[string]string
	value  float64
}

// rules returns the rule groups and their rules' last evaluations, from the rules API.
func (p *prom) rules(ctx context.Context) ([]promv1.RuleGroup, error) {
	c, err := promapi.NewClient(promapi.Config{Address: p.url, Client: p.client})
	if err != nil {
		return nil, err
	}
	r, err := promv1.NewAPI(c).Rules(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("rules API: %w", err)
	}
	return r.Groups, nil
}

// query evaluates expr at t (now when zero) and returns its instant vector, or a scalar as one sample.
func (p *prom) query(ctx context.Context, expr string, t time.Time) ([]sample, error) {
	params := url.Values{"query": {expr}}
	if !t.IsZero() {
		params.Set("time", strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status, Error string
		Data          struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w", expr, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", expr, r.Error)
	}
	if r.Data.ResultType == "scalar" {
		var v [2]any
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		f, err := parseValue(v[1])
		return []sample{{labels: map[string]string{}, value: f}}, err
	}
	var vec []struct {
		Metric map[string]string
		Value  [2]any
	}
	if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
		return nil, fmt.Errorf("query %s: %s result: %w", expr, r.Data.ResultType, err)
	}
	out := make([]sample, len(vec))
	for i, s := range vec {
		f, err := parseValue(s.Value[1])
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		out[i] = sample{labels: s.Metric, value: f}
	}
	return out, nil
}

func parseValue(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", v)
	}
	return strconv.ParseFloat(s, 64)
}

// scalar evaluates expr, which must return one sample, at t.
func (p *prom) scalar(ctx context.Context, expr string, t time.Time) (float64, error) {
	s, err := p.query(ctx, expr, t)
	if err != nil {
		return 0, err
	}
	if len(s) != 1 {
		return 0, fmt.Errorf("query %s: %d samples, want 1", expr, len(s))
	}
	return s[0].value, nil
}

// metrics returns Prometheus' own metrics, as it serves them on /metrics.
func (p *prom) metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the metrics of Prometheus: %w", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(pmodel.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the metrics of Prometheus: %w", err)
	}
	return mfs, nil
}

// gaugeValue is the value of a gauge, counter or untyped metric.
func gaugeValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// label is the value of a metric's label.
func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// single is the value of a metric family with one metric and no labels, or 0 without it.
func single(mfs map[string]*dto.MetricFamily, name string) float64 {
	if mf, ok := mfs[name]; ok && len(mf.Metric) > 0 {
		return gaugeValue(mf.Metric[0])
	}
	return 0
}
