package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/servermon/servermon_exporter/bench/internal/taskcpu"
)

// measure runs copies children of variant v side by side and returns each one's CPU in µs per second of wall time
// over the window [warmup, warmup+duration] after their start:
//
//	µs/s = (cpu(end) − cpu(start)) / 1000 / elapsed seconds
//
// Every child is killed and waited for before it returns, on every path.
func measure(ctx context.Context, exe string, v variant, c config) ([]float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	exited := make(chan error, c.copies) // room for all: a child's waiter never blocks
	var waiters sync.WaitGroup
	defer func() {
		cancel() // exec.CommandContext kills the children
		waiters.Wait()
	}()
	pids := make([]int, 0, c.copies)
	for i := range c.copies {
		cmd := exec.CommandContext(ctx, exe, "-child", v.name, "-procfs", c.procfs)
		cmd.Stderr = os.Stderr
		// Should this process die without cleaning up, the kernel kills the children too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting copy %d of %s: %w", i+1, v.name, err)
		}
		pids = append(pids, cmd.Process.Pid)
		waiters.Go(func() {
			err := cmd.Wait()
			if err == nil {
				err = errors.New("exit status 0")
			}
			exited <- fmt.Errorf("copy %d of %s exited early: %w", i+1, v.name, err)
		})
	}
	if err := pause(ctx, c.warmup, exited); err != nil {
		return nil, err
	}
	before, err := cpuOfAll(pids)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := pause(ctx, c.duration, exited); err != nil {
		return nil, err
	}
	after, err := cpuOfAll(pids)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start).Seconds()
	out := make([]float64, len(pids))
	for i := range pids {
		out[i] = float64(after[i]-before[i]) / 1e3 / elapsed
	}
	return out, nil
}

// pause waits for d, and fails early when ctx ends or a child exits.
func pause(ctx context.Context, d time.Duration, exited <-chan error) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("measurement stopped: %w", ctx.Err())
	case err := <-exited:
		return err
	}
}

func cpuOfAll(pids []int) ([]time.Duration, error) {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		d, err := taskcpu.Process(pid)
		if err != nil {
			return nil, fmt.Errorf("CPU of child %d: %w", pid, err)
		}
		out[i] = d
	}
	return out, nil
}

// median returns the middle value (the mean of the two middle ones for an even count), NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
