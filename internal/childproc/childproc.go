// Package childproc runs the programs tests and benchmarks start (an exporter, Prometheus, Alertmanager, the test
// binary in another role) as child processes: each in its own process group, so that stopping it stops whatever it
// forked, and killed if the parent dies first; its output in a log file; waited for until it answers HTTP; stopped
// with SIGTERM and, after a grace period, SIGKILL.
package childproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/eventually"
)

// Process is a started child process.
type Process struct {
	Name    string    // as errors name it
	Cmd     *exec.Cmd // the started command
	LogPath string    // its output, if Start was given a log file

	exited  chan struct{}
	waitErr error // Cmd.Wait's, set before exited is closed
}

// Start starts cmd, naming it name in errors. With logPath set its output goes to that file (created, and closed
// when the process has exited); otherwise to cmd.Stdout and cmd.Stderr as the caller set them. The process group
// and the death signal are added to the caller's cmd.SysProcAttr, so that namespaces or credentials set there stay.
func Start(name string, cmd *exec.Cmd, logPath string) (*Process, error) {
	var log *os.File
	if logPath != "" {
		var err error
		if log, err = os.Create(logPath); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		cmd.Stdout, cmd.Stderr = log, log
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pgid, cmd.SysProcAttr.Pdeathsig = true, 0, syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		if log != nil {
			log.Close()
		}
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	p := &Process{Name: name, Cmd: cmd, LogPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		if log != nil {
			log.Close()
		}
		close(p.exited)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Alive returns an error if the process has exited.
func (p *Process) Alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited early: %v", p.Name, p.waitErr)
	default:
		return nil
	}
}

// WaitReady polls url until it answers 200, and returns an error if the process exits or ctx ends first.
func (p *Process) WaitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	err := eventually.Poll(ctx, func() error {
		if p.Alive() != nil {
			return nil // no use waiting
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	if err := p.Alive(); err != nil {
		return err
	}
	if err != nil {
		return fmt.Errorf("%s not ready at %s: %w", p.Name, url, err)
	}
	return nil
}

// ErrKilled is returned by Stop when the process did not exit within the grace period.
var ErrKilled = errors.New("killed: did not exit after SIGTERM")

// Stop sends SIGTERM to the process group, waits up to grace for the process to exit, then kills the group with
// SIGKILL; anything else left in the group is killed too. It returns the exit status (-1 after a signal) and
// ErrKilled if the grace period ran out, or the error of waiting for the process. It may be called again.
func (p *Process) Stop(grace time.Duration) (int, error) {
	pgid := p.Cmd.Process.Pid
	var err error
	select {
	case <-p.exited:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
			err = fmt.Errorf("%s: %w within %s", p.Name, ErrKilled, grace)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // what the process left behind in its group
	var exit *exec.ExitError
	switch {
	case err != nil:
	case errors.As(p.waitErr, &exit):
	case p.waitErr != nil:
		err = fmt.Errorf("%s: %w", p.Name, p.waitErr)
	}
	return p.Cmd.ProcessState.ExitCode(), err
}

// Log returns the process's output so far, from its log file.
func (p *Process) Log() string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.LogPath, err)
	}
	return string(data)
}

// LogTail returns the last n lines of the log file.
func (p *Process) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("(… %d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// LogContains reports whether the log file contains s.
func (p *Process) LogContains(s string) bool {
	data, err := os.ReadFile(p.LogPath)
	return err == nil && bytes.Contains(data, []byte(s))
}

// StartTest starts bin in dir for a test, with its output in dir/<name>.log, logs its command line, and stops it
// when the test ends (a kill after the grace period is logged).
func StartTest(t testing.TB, name, dir, bin string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	p, err := Start(name, cmd, filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started %s (pid %d): %s %s", name, p.Pid(), bin, strings.Join(args, " "))
	t.Cleanup(func() {
		if _, err := p.Stop(10 * time.Second); errors.Is(err, ErrKilled) {
			t.Log(err)
		}
	})
	return p
}
