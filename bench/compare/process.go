package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/servermon/servermon_exporter/bench/internal/taskcpu"
	"github.com/servermon/servermon_exporter/internal/childproc"
)

// exporter is one exporter process started by the benchmark, listening on a loopback port.
type exporter struct {
	*childproc.Process
	url string
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
	p, err := childproc.Start(name, exec.Command(bin, append(args, "--web.listen-address="+addr)...), filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	e := &exporter{Process: p, url: "http://" + addr + "/metrics"}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx, e.url); err != nil {
		e.stop()
		return nil, fmt.Errorf("%w (see %s)", err, p.LogPath)
	}
	return e, nil
}

// stop ends the exporter (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (e *exporter) stop() { _, _ = e.Stop(10 * time.Second) }

// cpuTime is the CPU time the process has used, summed over its threads from /proc/PID/task/*/schedstat, whose
// first field is the nanoseconds the thread spent on a CPU: exact, unlike the tick-rounded utime and stime.
func (e *exporter) cpuTime() (time.Duration, error) {
	d, err := taskcpu.Process(e.Pid())
	if err != nil {
		return 0, fmt.Errorf("CPU time of %s: %w", e.Name, err)
	}
	return d, nil
}

// memory is a process's resident memory in bytes: all of it (VmRSS), anonymous (heap, stacks) and file-backed
// (the executable's pages it has touched).
type memory struct{ rss, anon, file float64 }

func (m memory) String() string {
	return fmt.Sprintf("%.1f MiB (%.1f anonymous + %.1f file-backed)", m.rss/(1<<20), m.anon/(1<<20), m.file/(1<<20))
}

// memory reads the process's resident memory from /proc/PID/status.
func (e *exporter) memory() (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.Pid()))
	if err != nil {
		return memory{}, fmt.Errorf("RSS of %s: %w", e.Name, err)
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
			return memory{}, fmt.Errorf("RSS of %s: %q", e.Name, line)
		}
		kb, err := strconv.ParseFloat(string(f[0]), 64)
		if err != nil {
			return memory{}, fmt.Errorf("RSS of %s: %w", e.Name, err)
		}
		*dst = kb * 1024
	}
	if m.rss == 0 {
		return memory{}, fmt.Errorf("RSS of %s: no VmRSS", e.Name)
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
