package childproc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/eventually"
)

func start(t *testing.T, script string) *Process {
	t.Helper()
	p, err := Start("sh", exec.Command("sh", "-c", script), filepath.Join(t.TempDir(), "sh.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = p.Stop(time.Second) })
	return p
}

func TestStopEndsTheWholeGroup(t *testing.T) {
	p := start(t, "sleep 60 & echo $!; wait")
	var child int
	eventually.Must(t, 10*time.Second, "the grandchild's pid in the log", func() error {
		var err error
		child, err = strconv.Atoi(strings.TrimSpace(p.Log()))
		return err
	})
	if err := p.Alive(); err != nil {
		t.Fatal(err)
	}
	if status, err := p.Stop(5 * time.Second); err != nil || status != -1 {
		t.Errorf("Stop: status %d, %v; want -1 (SIGTERM), nil", status, err)
	}
	if p.Alive() == nil {
		t.Error("alive after Stop")
	}
	eventually.Must(t, 10*time.Second, "the grandchild to be gone", func() error {
		if err := syscall.Kill(child, 0); !errors.Is(err, syscall.ESRCH) {
			return errors.New("still there")
		}
		return nil
	})
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	p := start(t, `trap "" TERM; echo ready; while :; do sleep 0.01; done`)
	eventually.Must(t, 10*time.Second, "the trap to be set", func() error {
		if !p.LogContains("ready") {
			return errors.New("not yet")
		}
		return nil
	})
	if _, err := p.Stop(100 * time.Millisecond); !errors.Is(err, ErrKilled) {
		t.Errorf("Stop: %v, want ErrKilled", err)
	}
}

func TestExitStatusAndLog(t *testing.T) {
	p := start(t, "echo one; echo two; echo three; exit 3")
	<-p.Exited()
	if err := p.Alive(); err == nil || !strings.Contains(err.Error(), "exited early") {
		t.Errorf("Alive: %v", err)
	}
	if status, err := p.Stop(time.Second); status != 3 || err != nil {
		t.Errorf("Stop: status %d, %v; want 3, nil", status, err)
	}
	if got := p.LogTail(2); got != "(… 1 earlier lines)\ntwo\nthree" {
		t.Errorf("LogTail(2) = %q", got)
	}
	if !p.LogContains("two") || p.LogContains("four") {
		t.Error("LogContains is wrong")
	}
}

func TestWaitReady(t *testing.T) {
	ready := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready {
			ready = true
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := start(t, "sleep 60").WaitReady(ctx, srv.URL); err != nil {
		t.Errorf("WaitReady on a server that answers 200 after a 503: %v", err)
	}
	if err := start(t, "exit 1").WaitReady(ctx, "http://127.0.0.1:1/"); err == nil || !strings.Contains(err.Error(), "exited early") {
		t.Errorf("WaitReady on a process that exits: %v", err)
	}
}

// TestKeepsTheCallersSysProcAttr: Start adds its process group and death signal to what the caller set, here a user
// namespace (as bench/fleet gives each exporter), instead of replacing it.
func TestKeepsTheCallersSysProcAttr(t *testing.T) {
	own, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("readlink", "/proc/self/ns/user")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	p, err := Start("readlink", cmd, filepath.Join(t.TempDir(), "readlink.log"))
	if err != nil {
		// The kernel may refuse user namespaces (a sysctl, a seccomp profile): what Start set is still checked.
		t.Logf("no user namespace here: %v", err)
	} else {
		<-p.Exited()
		if got := strings.TrimSpace(p.Log()); got == own || !strings.HasPrefix(got, "user:[") {
			t.Errorf("the child's user namespace is %q, the test's %q: Cloneflags were dropped", got, own)
		}
	}
	if a := cmd.SysProcAttr; a.Cloneflags != syscall.CLONE_NEWUSER || len(a.UidMappings) != 1 || !a.Setpgid || a.Pdeathsig != syscall.SIGKILL {
		t.Errorf("SysProcAttr after Start: %+v", a)
	}
}
