package rules

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

// stackProc is a process the stack test started, in its own process group so that everything it forks dies with
// it, with its output in a log file.
type stackProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// startProc starts bin in dir with its output going to dir/<name>.log, and registers a cleanup that stops it:
// SIGTERM to the process group, SIGKILL after a grace period. Pdeathsig kills it if the test binary dies first.
func startProc(t *testing.T, name, dir, bin string, args ...string) *stackProc {
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
	p := &stackProc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Logf("started %s (pid %d): %s %s", name, cmd.Process.Pid, bin, strings.Join(args, " "))
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process group, politely first.
func (p *stackProc) stop(t *testing.T) {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Logf("%s did not stop within 10s of SIGTERM; killing it", p.name)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	// Anything the process left behind in its group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// alive returns an error if the process has exited.
func (p *stackProc) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited early: %v", p.name, p.waitErr)
	default:
		return nil
	}
}

// logTail returns the last n lines of the process's output.
func (p *stackProc) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("(… %d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// logContains reports whether the process's output contains s.
func (p *stackProc) logContains(s string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && bytes.Contains(data, []byte(s))
}

// waitReady polls url until it answers 200, the process exits or ctx ends.
func (p *stackProc) waitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		if err := p.alive(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("%s ready check: %w", p.name, err)
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
			return fmt.Errorf("%s not ready at %s: %w (last: %v)", p.name, url, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// requireStackTool finds one of the names of a tool the stack test needs, failing (never skipping) with the way to
// install it.
func requireStackTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("none of %v found in PATH: the stack test needs Debian's prometheus and prometheus-alertmanager; "+
		"run .ci/deps (or make deps)", names)
	return ""
}

// buildExporter compiles the exporter into dir, with the race detector when this test binary has it.
func buildExporter(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "servermon_exporter")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "../cmd/servermon_exporter")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built the exporter (race detector %v) in %v", raceEnabled, time.Since(start).Round(time.Millisecond))
	return bin
}
