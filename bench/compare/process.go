package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// exporter is one exporter process started by the benchmark, listening on a loopback port.
type exporter struct {
	name string
	cmd  *exec.Cmd
	url  string
	log  *os.File
}

// freePort returns a loopback port nothing listens on at the moment.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startExporter runs bin with args plus a --web.listen-address on a free loopback port, and waits until its
// /metrics answers (at most 15 s). Its output goes to a log file in logDir.
func startExporter(name, bin, logDir string, args ...string) (*exporter, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	log, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, append(args, "--web.listen-address="+addr)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	e := &exporter{name: name, cmd: cmd, url: "http://" + addr + "/metrics", log: log}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(e.url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		if time.Now().After(deadline) {
			e.stop()
			return nil, fmt.Errorf("%s did not answer on %s within 15 s (see %s)", name, e.url, log.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the exporter (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (e *exporter) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
	e.log.Close()
}

// cpuTime is the CPU time the process has used, summed over its threads from /proc/PID/task/*/schedstat, whose
// first field is the nanoseconds the thread spent on a CPU: exact, unlike the tick-rounded utime and stime.
func (e *exporter) cpuTime() (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", e.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("CPU time of %s: %w", e.name, err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread ended meanwhile
		}
		if err != nil {
			return 0, fmt.Errorf("CPU time of %s: %w", e.name, err)
		}
		fields := bytes.Fields(b)
		if len(fields) == 0 {
			return 0, fmt.Errorf("CPU time of %s: empty schedstat of thread %s", e.name, t.Name())
		}
		ns, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("CPU time of %s: schedstat %q: %w", e.name, b, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// memory is a process's resident memory in bytes: all of it (VmRSS), anonymous (heap, stacks) and file-backed
// (the executable's pages it has touched).
type memory struct{ rss, anon, file float64 }

func (m memory) String() string {
	return fmt.Sprintf("%.1f MiB (%.1f anonymous + %.1f file-backed)", m.rss/(1<<20), m.anon/(1<<20), m.file/(1<<20))
}

// memory reads the process's resident memory from /proc/PID/status.
func (e *exporter) memory() (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.cmd.Process.Pid))
	if err != nil {
		return memory{}, fmt.Errorf("RSS of %s: %w", e.name, err)
	}
	var m memory
	for line := range bytes.Lines(b) {
		key, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *float64
		switch string(key) {
		case "VmRSS":
			dst = &m.rss
		case "RssAnon":
			dst = &m.anon
		case "RssFile":
			dst = &m.file
		default:
			continue
		}
		f := bytes.Fields(v)
		if len(f) == 0 {
			return memory{}, fmt.Errorf("RSS of %s: %q", e.name, line)
		}
		kb, err := strconv.ParseFloat(string(f[0]), 64)
		if err != nil {
			return memory{}, fmt.Errorf("RSS of %s: %w", e.name, err)
		}
		*dst = kb * 1024
	}
	if m.rss == 0 {
		return memory{}, fmt.Errorf("RSS of %s: no VmRSS", e.name)
	}
	return m, nil
}

// waitCtx sleeps d or until ctx ends.
func waitCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
