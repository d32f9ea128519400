// Package ticktimer is a periodic timer that wakes one thread per tick, for once-a-second loops: the sampler's, and
// bench/floor's model of the cheapest possible sampler.
package ticktimer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Timer is a periodic timer that wakes one thread per tick.
//
// A Go timer wakes two: the thread waiting in the network poller, and the runtime's monitor thread (sysmon), which
// sleeps until the next timer and then polls a few more times before it sleeps again; on a small VM a wakeup costs
// more CPU than a sample's reads (docs/benchmarks.md). A periodic timerfd waited on through the network poller
// wakes only the poller's thread, is set once, and is read with a raw system call, which does not rouse sysmon
// either. The kernel keeps the cadence: a late reader finds the missed ticks counted in one read, so ticks it is
// too late for are skipped, as with a time.Ticker.
type Timer struct {
	file *os.File
	rc   syscall.RawConn
}

// clockMonotonic is CLOCK_MONOTONIC, the clock of Go's monotonic readings (the syscall package lacks the constant).
const clockMonotonic = 1

// itimerspec is the kernel's struct itimerspec.
type itimerspec struct {
	interval, value syscall.Timespec
}

// New returns a timer ticking every interval, the first tick one interval from now.
func New(interval time.Duration) (*Timer, error) {
	fd, _, errno := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic,
		uintptr(syscall.O_NONBLOCK|syscall.O_CLOEXEC), 0) // TFD_NONBLOCK and TFD_CLOEXEC are these flags
	if errno != 0 {
		return nil, fmt.Errorf("timerfd_create: %w", errno)
	}
	file := os.NewFile(fd, "timerfd")
	spec := itimerspec{interval: syscall.NsecToTimespec(int64(interval)), value: syscall.NsecToTimespec(int64(interval))}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); errno != 0 {
		file.Close()
		return nil, fmt.Errorf("timerfd_settime: %w", errno)
	}
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	return &Timer{file: file, rc: rc}, nil
}

// Wait blocks until the next tick, or until the timer is closed, which it reports as os.ErrClosed.
func (t *Timer) Wait() error {
	var expirations uint64
	var readErr error
	err := t.rc.Read(func(fd uintptr) bool {
		_, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&expirations)), unsafe.Sizeof(expirations))
		if errno == syscall.EAGAIN {
			return false // not expired yet: wait in the poller
		}
		if errno != 0 {
			readErr = fmt.Errorf("reading timerfd: %w", errno)
		}
		return true
	})
	if errors.Is(err, os.ErrClosed) {
		return os.ErrClosed
	}
	if err != nil {
		return fmt.Errorf("waiting for timerfd: %w", err)
	}
	return readErr
}

// Close stops the timer; a Wait in progress returns.
func (t *Timer) Close() error {
	if err := t.file.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
