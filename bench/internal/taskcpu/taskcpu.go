// Package taskcpu reads how much CPU time a process has used, exactly: the sum over its threads of the first field
// of /proc/PID/task/TID/schedstat, the nanoseconds each thread spent on a CPU (utime and stime are rounded to
// ticks). It is the benchmarks' own and does not import the exporter's code, so that bench/floor measures a floor
// independent of it.
package taskcpu

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Process returns the CPU time process pid has used, from /proc.
func Process(pid int) (time.Duration, error) {
	return Sum(filepath.Join("/proc", strconv.Itoa(pid), "task"))
}

// Sum sums the time on CPU of every thread in a /proc/PID/task directory. A thread that exits between the listing
// and the read is skipped.
func Sum(dir string) (time.Duration, error) {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("listing threads: %w", err)
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("thread %s: %w", t.Name(), err)
		}
		first, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte(" "))
		ns, err := strconv.ParseInt(string(first), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("thread %s: schedstat %q: %w", t.Name(), b, err)
		}
		if ns < 0 {
			return 0, fmt.Errorf("thread %s: schedstat %q: negative time", t.Name(), b)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}
