package rules

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v3"

	"github.com/servermon/servermon_exporter/internal/statefile"
)

const examplesDir = "../examples"

func TestExamplePrometheusConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	// promtool also checks the rule files the config names.
	out, err := run(t, examplesDir, promtool, "check", "config", "prometheus.yml")
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
		Alerting struct {
			Alertmanagers []any `yaml:"alertmanagers"`
		} `yaml:"alerting"`
	}
	data, err := os.ReadFile(filepath.Join(examplesDir, "prometheus.yml"))
	if err != nil {
		t.Fatalf("read prometheus.yml: %v", err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("parse prometheus.yml: %v", err)
	}
	for _, f := range []string{"../rules/" + alertsFile, "../rules/" + recordsFile} {
		if !slices.Contains(cfg.RuleFiles, f) {
			t.Errorf("rule_files %v lacks %s", cfg.RuleFiles, f)
		}
	}
	if !slices.ContainsFunc(cfg.ScrapeConfigs, func(s struct {
		JobName string `yaml:"job_name"`
	}) bool {
		return s.JobName == "servermon"
	}) {
		t.Error(`no scrape job "servermon", which ServermonExporterDown/Absent select`)
	}
	if len(cfg.Alerting.Alertmanagers) == 0 {
		t.Error("no alertmanager configured")
	}
}

func TestExampleAlertmanagerConfig(t *testing.T) {
	amtool := requireTool(t, "amtool", "prometheus-alertmanager")
	out, err := run(t, examplesDir, amtool, "check-config", "alertmanager.yml")
	if err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	for severity, want := range map[string]string{"critical": "pager", "warning": "team", "info": "tickets"} {
		out, err := run(t, examplesDir, amtool, "config", "routes", "test",
			"--config.file=alertmanager.yml", "alertname=ServermonMemoryExhaustionForecast", "severity="+severity)
		if err != nil {
			t.Fatalf("amtool config routes test: %v\n%s", err, out)
		}
		if got := lastLine(out); got != want {
			t.Errorf("severity=%s routes to %q, want %q", severity, got, want)
		}
	}
}

// lastLine returns the last non-empty line; amtool prints warnings first.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func TestExampleWebConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	out, err := run(t, examplesDir, promtool, "check", "web-config", "web-config.yml")
	if err != nil {
		t.Fatalf("promtool check web-config: %v\n%s", err, out)
	}

	// Serve through exporter-toolkit, as the exporter does, and check that
	// TLS and the documented password work and that others are refused.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	configFile := filepath.Join(examplesDir, "web-config.yml")
	served := make(chan error, 1)
	go func() {
		served <- web.Serve(lis, srv, &web.FlagConfig{WebConfigFile: &configFile}, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(readFile(t, filepath.Join(examplesDir, "tls", "servermon.crt"))) {
		t.Fatal("no certificate in examples/tls/servermon.crt")
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	url := "https://" + lis.Addr().String() + "/metrics"
	for _, c := range []struct {
		user, password string
		want           int
	}{
		{"prometheus", "servermon-example", http.StatusOK},
		{"prometheus", "wrong", http.StatusUnauthorized},
		{"", "", http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		if c.user != "" {
			req.SetBasicAuth(c.user, c.password)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s as %q: %v", url, c.user, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET as %q/%q: status %d, want %d", c.user, c.password, resp.StatusCode, c.want)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return data
}

func TestExampleCertificate(t *testing.T) {
	dir := filepath.Join(examplesDir, "tls")
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "servermon.crt"), filepath.Join(dir, "servermon.key")); err != nil {
		t.Fatalf("certificate and key do not form a pair: %v", err)
	}
	block, _ := pem.Decode(readFile(t, filepath.Join(dir, "servermon.crt")))
	if block == nil {
		t.Fatal("servermon.crt is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life < 3650*24*time.Hour {
		t.Errorf("certificate valid for %v, want 10 years", life)
	}
	if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		t.Errorf("certificate not valid now (%v to %v): regenerate it (examples/tls/README.md)", cert.NotBefore, cert.NotAfter)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := cert.VerifyHostname(host); err != nil {
			t.Errorf("certificate does not cover %s: %v", host, err)
		}
	}
}

func TestExampleSystemdUnit(t *testing.T) {
	unit := string(readFile(t, filepath.Join(examplesDir, "servermon_exporter.service")))
	settings := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = append(settings[k], v)
		}
	}
	for key, want := range map[string]string{
		"DynamicUser":      "yes",
		"StateDirectory":   "servermon_exporter",
		"NoNewPrivileges":  "yes",
		"ProtectSystem":    "strict",
		"ProtectHome":      "yes",
		"PrivateTmp":       "yes",
		"ProtectProc":      "invisible",
		"RestrictSUIDSGID": "yes",
	} {
		if !slices.Contains(settings[key], want) {
			t.Errorf("%s=%s missing (have %q)", key, want, settings[key])
		}
	}
	// The exporter keeps its state in $STATE_DIRECTORY, which StateDirectory= sets, unless told otherwise.
	if execStart := strings.Join(settings["ExecStart"], " "); strings.Contains(execStart, "--forecast.state-file") {
		t.Errorf("ExecStart %q moves the state out of the StateDirectory default", execStart)
	}
	t.Setenv("STATE_DIRECTORY", "/var/lib/"+settings["StateDirectory"][0])
	if path, ok := statefile.DefaultPath(); !ok || filepath.Dir(path) != "/var/lib/servermon_exporter" {
		t.Errorf("state file %q (%v) under the unit's StateDirectory", path, ok)
	}
	if len(settings["ProcSubset"]) > 0 {
		t.Error("ProcSubset= hides /proc/stat and friends from the exporter")
	}

	// systemd-analyze rejects a missing binary, so point ExecStart at one
	// that exists; it exits 0 on unknown keys but reports them.
	analyze := requireTool(t, "systemd-analyze", "systemd")
	tmp := filepath.Join(t.TempDir(), "servermon_exporter.service")
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatalf("find true: %v", err)
	}
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(unit, "/usr/local/bin/servermon_exporter", truePath)), 0o644); err != nil {
		t.Fatalf("write unit: %v", err)
	}
	out, err := run(t, ".", analyze, "verify", tmp)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestInstallGuidePrometheusConfig checks the complete prometheus.yml that docs/install.md has the reader write:
// with the rule paths pointed at this checkout, promtool accepts it (rule files included), and it has the servermon
// job and both rule files.
func TestInstallGuidePrometheusConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	guide := string(readFile(t, filepath.Join("..", "docs", "install.md")))
	const start = "cat > /etc/prometheus/prometheus.yml <<'EOF'\n"
	i := strings.Index(guide, start)
	if i < 0 {
		t.Fatalf("docs/install.md has no %q", strings.TrimSpace(start))
	}
	body, _, ok := strings.Cut(guide[i+len(start):], "\nEOF\n")
	if !ok {
		t.Fatal("docs/install.md: the prometheus.yml here-document does not end")
	}
	for _, f := range []string{alertsFile, recordsFile} {
		if !strings.Contains(body, "\n  - /etc/prometheus/rules/"+f+"\n") {
			t.Errorf("the guide's prometheus.yml does not load /etc/prometheus/rules/%s", f)
		}
	}
	if !strings.Contains(body, "job_name: servermon\n") {
		t.Error(`the guide's prometheus.yml has no scrape job "servermon"`)
	}
	rulesDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(body, "/etc/prometheus/rules/", rulesDir+"/")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ".", promtool, "check", "config", path); err != nil {
		t.Fatalf("promtool check config on the guide's prometheus.yml: %v\n%s", err, out)
	}
}
