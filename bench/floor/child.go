package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/servermon/servermon_exporter/internal/ticktimer"
)

// variant is one way of sampling: the files read at every tick, the files read in addition at every 5th tick, and
// whether the child sleeps with time.Sleep and reads with syscall.Pread (the naive Go way) instead of waiting on a
// timerfd and reading with raw system calls.
type variant struct {
	name         string
	every, fifth []string
	naive        bool
}

// variants returns the variants in the order they run.
func variants() []variant {
	hot := []string{"stat", "meminfo", "diskstats"}
	cold := []string{"loadavg", "pressure/cpu", "pressure/io", "pressure/memory"}
	all := append(append([]string(nil), hot...), cold...)
	return []variant{
		{name: "wake"},
		{name: "wake+3", every: hot, fifth: cold},
		{name: "wake+7", every: all},
		{name: "sleep+7", every: all, naive: true},
	}
}

// lookupVariant returns the variant called name.
func lookupVariant(name string) (variant, error) {
	var names []string
	for _, v := range variants() {
		if v.name == name {
			return v, nil
		}
		names = append(names, v.name)
	}
	return variant{}, fmt.Errorf("unknown variant %q (known: %s)", name, strings.Join(names, ", "))
}

// files returns the files, relative to procfs, that the variant reads at tick n (counted from 0).
func (v variant) files(n int) []string {
	out := append([]string(nil), v.every...)
	if n%5 == 0 {
		out = append(out, v.fifth...)
	}
	return out
}

// openAll opens the files under procfs as plain descriptors, kept out of the network poller (some, like the
// pressure files, are pollable) and never switched between blocking modes by os.File.Fd. Missing pressure files are
// skipped: kernels without PSI have none.
func openAll(procfs string, names []string) ([]int, error) {
	var out []int
	for _, name := range names {
		fd, err := syscall.Open(filepath.Join(procfs, name), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(name, "pressure/") {
			continue
		}
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("opening %s: %w", name, err)
		}
		out = append(out, fd)
	}
	return out, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// runChild samples like variant name until it is killed; it returns only on an error.
func runChild(name, procfs string) error {
	v, err := lookupVariant(name)
	if err != nil {
		return err
	}
	runtime.GOMAXPROCS(1)
	every, err := openAll(procfs, v.every)
	if err != nil {
		return err
	}
	defer closeAll(every)
	fifth, err := openAll(procfs, v.fifth)
	if err != nil {
		return err
	}
	defer closeAll(fifth)
	buf := make([]byte, 64<<10)
	read, wait := naivePread, sleepToSecond
	if !v.naive {
		read = rawPread
		tick, err := ticktimer.New(time.Second)
		if err != nil {
			return err
		}
		defer tick.Close()
		wait = tick.Wait
	}
	for n := 0; ; n++ {
		if err := wait(); err != nil {
			return err
		}
		if err := readAll(every, buf, read); err != nil {
			return err
		}
		if n%5 == 0 {
			if err := readAll(fifth, buf, read); err != nil {
				return err
			}
		}
	}
}

func readAll(fds []int, buf []byte, read func(int, []byte) error) error {
	for _, fd := range fds {
		if err := read(fd, buf); err != nil {
			return fmt.Errorf("reading fd %d: %w", fd, err)
		}
	}
	return nil
}

// rawPread reads from offset 0 without telling the scheduler: a syscall.Syscall would wake sysmon on every call.
func rawPread(fd int, buf []byte) error {
	for {
		_, _, errno := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)), 0, 0, 0)
		if errno != syscall.EINTR {
			if errno != 0 {
				return errno
			}
			return nil
		}
	}
}

func naivePread(fd int, buf []byte) error {
	_, err := syscall.Pread(fd, buf, 0)
	return err
}

// sleepToSecond sleeps until the next whole second of wall time.
func sleepToSecond() error {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
	return nil
}
