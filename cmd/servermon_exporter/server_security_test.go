package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/syncbuf"

	"github.com/servermon/servermon_exporter/internal/eventually"
)

// The example web configuration and its credentials (examples/web-config.yml).
const (
	exampleWebConfig = "../../examples/web-config.yml"
	exampleCert      = "../../examples/tls/servermon.crt"
	exampleUser      = "prometheus"
	examplePassword  = "servermon-example"
)

// tlsClient trusts only the example certificate.
func tlsClient(t *testing.T, maxVersion uint16) *http.Client {
	t.Helper()
	certPEM, err := os.ReadFile(exampleCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("example certificate does not parse")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func request(t *testing.T, c *http.Client, url, user, password string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestTLSAndBasicAuthEndToEnd runs the program with the example --web.config.file: TLS with the example pair and
// basic auth. Every path (metrics, the landing page, the forecast page and its API, pprof) needs the right credentials (401 with a Basic challenge otherwise), the handshake presents
// the example certificate and refuses TLS 1.1, and plain HTTP gets no metrics.
func TestTLSAndBasicAuthEndToEnd(t *testing.T) {
	logs := &syncbuf.Buffer{}
	addr, stop := runExporter(t, logs, "--web.config.file="+exampleWebConfig, "--sample.interval=100ms",
		"--sample.window=1s", "--collector.timeout=100ms")
	defer func() {
		if status := stop(); status != 0 {
			t.Errorf("exit status %d\n%s", status, logs)
		}
	}()
	c := tlsClient(t, 0)
	base := "https://" + addr
	type tcase struct {
		path, user, password string
		want                 int
	}
	cases := []tcase{
		{"/metrics", "", "", http.StatusUnauthorized},
		{"/metrics", exampleUser, "wrong", http.StatusUnauthorized},
		{"/metrics", "root", examplePassword, http.StatusUnauthorized},
		{"/", "", "", http.StatusUnauthorized},
		{"/debug/pprof/", "", "", http.StatusUnauthorized},
		{"/metrics", exampleUser, examplePassword, http.StatusOK},
		{"/", exampleUser, examplePassword, http.StatusOK},
	}
	for _, page := range []string{"/forecast", "/api/v1/forecast"} {
		cases = append(cases, tcase{page, "", "", http.StatusUnauthorized}, tcase{page, exampleUser, "wrong", http.StatusUnauthorized},
			tcase{page, "root", examplePassword, http.StatusUnauthorized}, tcase{page, exampleUser, examplePassword, http.StatusOK})
	}
	for _, tc := range cases {
		status, hdr, body := request(t, c, base+tc.path, tc.user, tc.password)
		if status != tc.want {
			t.Errorf("%s as %q/%q: status %d, want %d", tc.path, tc.user, tc.password, status, tc.want)
		}
		switch {
		case status == http.StatusUnauthorized && hdr.Get("WWW-Authenticate") != "Basic":
			t.Errorf("401 without a Basic challenge: %v", hdr)
		case status == http.StatusUnauthorized && strings.Contains(body, "servermon_"):
			t.Errorf("401 response carries metrics")
		case tc.want == http.StatusOK && tc.path == "/metrics" && !strings.Contains(body, "servermon_collector_success"):
			t.Errorf("authorised scrape without metrics:\n%s", body)
		case tc.want == http.StatusOK && tc.path == "/forecast" && !strings.Contains(body, "Where this host is heading"),
			tc.want == http.StatusOK && tc.path == "/api/v1/forecast" && !strings.Contains(body, `"version":1`):
			t.Errorf("authorised %s without its page:\n%s", tc.path, body)
		}
	}

	conn, err := tls.Dial("tcp", addr, c.Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	state := conn.ConnectionState()
	conn.Close()
	certPEM, _ := os.ReadFile(exampleCert)
	block, _ := pem.Decode(certPEM)
	if block == nil || len(state.PeerCertificates) == 0 || !bytes.Equal(block.Bytes, state.PeerCertificates[0].Raw) {
		t.Error("the server does not present the example certificate")
	}
	if state.Version < tls.VersionTLS12 {
		t.Errorf("negotiated TLS version %#x", state.Version)
	}
	if _, err := tlsClient(t, tls.VersionTLS11).Get(base + "/metrics"); err == nil {
		t.Error("TLS 1.1 accepted although min_version is TLS12")
	}
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/metrics"); err == nil {
		t.Error("a client that does not trust the example CA connected")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "servermon_") {
			t.Errorf("plain HTTP to the TLS port got %d:\n%s", resp.StatusCode, b)
		}
	}
}

// TestPprofOffByDefault: without --web.enable-pprof no profiling endpoint answers, including those that would
// reveal the command line or let a client keep the CPU busy; the landing page says profiling is off.
func TestPprofOffByDefault(t *testing.T) {
	e := newTestExporter(t)
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile?seconds=1", "/debug/pprof/symbol",
		"/debug/pprof/trace?seconds=1", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=2", "/debug/vars"} {
		if resp, body := e.get(t, p); resp.StatusCode == http.StatusOK || bytes.Contains(body, []byte("goroutine")) {
			t.Errorf("%s answered %d without --web.enable-pprof", p, resp.StatusCode)
		}
	}
	on := newTestExporter(t, "--web.enable-pprof")
	if resp, _ := on.get(t, "/debug/pprof/cmdline"); resp.StatusCode != http.StatusOK {
		t.Errorf("--web.enable-pprof: cmdline answered %d", resp.StatusCode)
	}
}

// TestNoEndpointLeaksPathsOrEnvironment scrapes every kind of page of the running program, before and after its
// /proc is taken away, and looks in bodies and headers for the procfs path, the state file path, the working
// directory, $HOME and the value of a secret environment variable.
func TestNoEndpointLeaksPathsOrEnvironment(t *testing.T) {
	const secret = "sUpErSeCrEt-9f8e7d6c"
	t.Setenv("SERVERMON_TEST_TOKEN", secret)
	proc := newScenario(t, 1).dir
	state := filepath.Join(t.TempDir(), "state-file-name")
	logs := &syncbuf.Buffer{}
	addr, stop := runExporter(t, logs, "--path.procfs="+proc, "--forecast.state-file="+state, "--sample.interval=50ms",
		"--sample.window=1s", "--collector.timeout=50ms")
	defer stop()
	wd, _ := os.Getwd()
	forbidden := []string{proc, state, filepath.Base(state), secret, wd}
	if home := os.Getenv("HOME"); len(home) > 1 {
		forbidden = append(forbidden, home)
	}
	check := func(phase string) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/"}, {"GET", "/metrics"}, {"HEAD", "/metrics"}, {"POST", "/metrics"}, {"DELETE", "/"},
			{"GET", "/nope"}, {"GET", "/metrics/../etc/passwd"}, {"GET", "/%2e%2e/%2e%2e/etc/passwd"},
			{"GET", "/metrics?debug=1&x=<script>"}, {"GET", "/debug/pprof/cmdline"}, {"GET", "/" + strings.Repeat("a", 8000)},
		} {
			req, _ := http.NewRequest(r.method, "http://"+addr+r.path, nil)
			req.Header.Set("Accept-Encoding", "identity")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s %s: %v", phase, r.method, r.path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var hdr bytes.Buffer
			_ = resp.Header.Write(&hdr)
			for _, f := range forbidden {
				if bytes.Contains(body, []byte(f)) || bytes.Contains(hdr.Bytes(), []byte(f)) {
					t.Errorf("%s: %s %s (%d) reveals %q", phase, r.method, r.path, resp.StatusCode, f)
				}
			}
		}
	}
	collectorsReport := func(what, success string) {
		t.Helper()
		eventually.Must(t, 10*time.Second, what, func() error {
			if body := scrape(t, addr); !strings.Contains(body, `servermon_collector_success{collector="cpu"} `+success) {
				return fmt.Errorf("%s", grep(body, "collector_success"))
			}
			return nil
		})
	}
	collectorsReport("a sample of the fake /proc", "1")
	check("healthy")
	if err := os.RemoveAll(proc); err != nil {
		t.Fatal(err)
	}
	collectorsReport("the collectors to report the missing /proc", "0")
	check("without /proc")
}

// TestServerLimits: newServer sets every limit, and the server enforces them: a header block over MaxHeaderBytes
// gets 431, a client that stops in the middle of its headers is disconnected after ReadHeaderTimeout.
func TestServerLimits(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("a timeout is unset: %+v", srv)
	}
	if srv.ReadHeaderTimeout > 10*time.Second || srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("ReadHeaderTimeout %s, MaxHeaderBytes %d", srv.ReadHeaderTimeout, srv.MaxHeaderBytes)
	}
	// Enforcement is Go's; shorten the header timeout so the test need not wait 5 s for it.
	srv.ReadHeaderTimeout = 300 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	req := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", srv.MaxHeaderBytes+8<<10) + "\r\n\r\n"
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte(req))
	status, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.Contains(status, "431") {
		t.Errorf("oversized headers answered %q, want 431", status)
	}

	c, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a client stalled in its headers was not disconnected within 5 s")
	}
	t.Logf("stalled client disconnected after %s", time.Since(start).Round(10*time.Millisecond))
}

// TestSlowlorisDoesNotBlockScrapes opens 300 connections that send their headers a byte at a time, against the
// running program with a scrape limit of 2, and scrapes meanwhile: every scrape must succeed. Slow clients never
// reach the handler, so they take neither a scrape slot nor the sampler's lock.
func TestSlowlorisDoesNotBlockScrapes(t *testing.T) {
	logs := &syncbuf.Buffer{}
	addr, stop := runExporter(t, logs, "--web.max-requests=2", "--sample.interval=100ms", "--sample.window=1s",
		"--collector.timeout=100ms")
	defer stop()
	const slow = 300
	var conns []net.Conn
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
		wg.Go(func() {
			header := []byte("GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: slowloris\r\nX-a: " + strings.Repeat("b", 200))
			for i := 0; i < len(header); i++ {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write(header[i : i+1]); err != nil {
					return
				}
			}
		})
	}
	defer func() {
		close(done)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("scrape %d during the attack: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("servermon_collector_success")) {
			t.Fatalf("scrape %d during the attack: status %d", i, resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond) // the scrapes spread over the attack: part of the test, not a wait
	}
}
