package collector

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// wakeTimer is a one-shot timer that wakes one thread when it fires, for the sampler's once-a-second loop.
//
// A Go timer wakes two: the thread waiting in the network poller, and the runtime's monitor thread (sysmon), which
// sleeps until the next timer and then polls a few more times before it sleeps again. On a small VM each wakeup
// costs tens of microseconds of CPU, more than a sample's reads. A timerfd waited on through the network poller
// wakes only the poller's thread; it is armed and read with raw system calls, which do not rouse sysmon either
// (measured: docs/benchmarks.md).
type wakeTimer struct {
	file *os.File
	fd   uintptr
	// C receives a value when the timer fires (at most one pending).
	C      chan time.Time
	exited chan struct{}
}

// clockMonotonic is CLOCK_MONOTONIC, the clock of Go's monotonic readings (the syscall package lacks the constant).
const clockMonotonic = 1

// itimerspec is the kernel's struct itimerspec.
type itimerspec struct {
	interval, value syscall.Timespec
}

func newWakeTimer() (*wakeTimer, error) {
	fd, _, errno := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic,
		uintptr(syscall.O_NONBLOCK|syscall.O_CLOEXEC), 0) // TFD_NONBLOCK and TFD_CLOEXEC are these flags
	if errno != 0 {
		return nil, fmt.Errorf("timerfd_create: %w", errno)
	}
	file := os.NewFile(fd, "timerfd")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	w := &wakeTimer{file: file, fd: fd, C: make(chan time.Time, 1), exited: make(chan struct{})}
	go w.loop(rc)
	return w, nil
}

// loop turns every expiry into a value on C, until the file is closed.
func (w *wakeTimer) loop(rc syscall.RawConn) {
	defer close(w.exited)
	var expirations uint64
	read := func(fd uintptr) bool {
		_, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&expirations)), unsafe.Sizeof(expirations))
		return errno != syscall.EAGAIN // not expired yet: wait in the poller
	}
	for {
		if err := rc.Read(read); err != nil {
			return // closed
		}
		select {
		case w.C <- time.Time{}:
		default: // one pending wakeup is as good as two
		}
	}
}

// arm sets the timer to fire once after d (at least a nanosecond: zero would disarm it), replacing any earlier
// setting.
func (w *wakeTimer) arm(d time.Duration) error {
	spec := itimerspec{value: syscall.NsecToTimespec(int64(max(d, 1)))}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, w.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("timerfd_settime: %w", errno)
	}
	return nil
}

// Close stops the timer and waits for its goroutine to end.
func (w *wakeTimer) Close() error {
	err := w.file.Close()
	<-w.exited
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
