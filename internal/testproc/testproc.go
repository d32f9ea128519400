// Package testproc runs the real programs that tests drive (Prometheus, Alertmanager, node_exporter, the exporter
// itself) as child processes on loopback, and stops them when the test ends. It is for tests only: the stack test
// of the rules and the backfill's tests against a real Prometheus share it.
package testproc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Proc is a process a test started, in its own process group so that everything it forks dies with it, with its
// output in a log file.
type Proc struct {
	// Name names the process in messages; LogPath is the file its output goes to.
	Name, LogPath string
	cmd           *exec.Cmd
	exited        chan struct{}
	waitErr       error // set before exited is closed
}

// Start starts bin in dir with its output going to dir/<name>.log, and registers a cleanup that stops it: SIGTERM
// to the process group, SIGKILL after a grace period. Pdeathsig kills it if the test binary dies first.
func Start(t testing.TB, name, dir, bin string, args ...string) *Proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s (%s): %v", name, bin, err)
	}
	p := &Proc{Name: name, cmd: cmd, LogPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Logf("started %s (pid %d): %s %s", name, cmd.Process.Pid, bin, strings.Join(args, " "))
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// Stop ends the process group, politely first.
func (p *Proc) Stop(t testing.TB) {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Logf("%s did not stop within 10s of SIGTERM; killing it", p.Name)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	// Anything the process left behind in its group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// Alive returns an error if the process has exited.
func (p *Proc) Alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited early: %v", p.Name, p.waitErr)
	default:
		return nil
	}
}

// LogTail returns the last n lines of the process's output.
func (p *Proc) LogTail(n int) string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.LogPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("(… %d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// LogContains reports whether the process's output contains s.
func (p *Proc) LogContains(s string) bool {
	data, err := os.ReadFile(p.LogPath)
	return err == nil && bytes.Contains(data, []byte(s))
}

// WaitReady polls url until it answers 200, the process exits or ctx ends.
func (p *Proc) WaitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		if err := p.Alive(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("%s ready check: %w", p.Name, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w (last: %v)", p.Name, url, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// RequireTool finds one of the names of a program a test needs, failing (never skipping) with the way to install
// it: .ci/deps installs every one the tests use.
func RequireTool(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v found in PATH: the tests need Debian's prometheus, prometheus-alertmanager and "+
		"prometheus-node-exporter; run .ci/deps (or make deps)", names)
	return ""
}

// Prometheus starts Debian's prometheus with config (YAML, written to dir/prometheus.yml) and its storage in
// dataDir, on a free loopback port, and waits until it is ready. It returns the process and its base URL.
func Prometheus(ctx context.Context, t testing.TB, dir, dataDir, config string, args ...string) (*Proc, string) {
	t.Helper()
	bin := RequireTool(t, "prometheus")
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	p := Start(t, "prometheus", dir, bin, append([]string{"--config.file=" + path, "--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + addr}, args...)...)
	url := "http://" + addr
	if err := p.WaitReady(ctx, url+"/-/ready"); err != nil {
		t.Fatalf("%v\n%s", err, p.LogTail(30))
	}
	return p, url
}
