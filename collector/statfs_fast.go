//go:build amd64 || arm64 || riscv64

package collector

import (
	"syscall"
	"unsafe"
)

// statfsPathMax is the longest path statfs copies onto its stack; longer ones (rare: PATH_MAX is 4096) go through
// syscall.Statfs.
const statfsPathMax = 1024

// Statfs is the statfs(2) system call, as syscall.Statfs but without its copy of the path onto the heap, so that
// reading the filesystems allocates nothing. On these architectures syscall.Statfs_t is the kernel's struct statfs,
// which the call fills in directly. It goes through the scheduler (a statfs of a network filesystem may block for
// as long as its server does) and retries when a signal interrupts it.
func Statfs(path string, st *syscall.Statfs_t) error { return statfs(path, st, false) }

// statfsLocal is Statfs without telling the Go scheduler (RawSyscall), for the local filesystems (localFSType),
// whose statfs answers from kernel memory: as for the reads of /proc (procFile.pread), announcing each call would
// wake the runtime's monitor thread every slow sample.
func statfsLocal(path string, st *syscall.Statfs_t) error { return statfs(path, st, true) }

func statfs(path string, st *syscall.Statfs_t, raw bool) error {
	if len(path) >= statfsPathMax {
		return syscall.Statfs(path, st)
	}
	var buf [statfsPathMax]byte
	for i := 0; i < len(path); i++ {
		if path[i] == 0 {
			return syscall.EINVAL // as syscall.Statfs answers a path with a NUL in it
		}
		buf[i] = path[i]
	}
	for {
		var errno syscall.Errno
		if raw {
			_, _, errno = syscall.RawSyscall(syscall.SYS_STATFS, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(st)), 0)
		} else {
			_, _, errno = syscall.Syscall(syscall.SYS_STATFS, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(st)), 0)
		}
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return errno
	}
}

// statfsAllocates is the allocations of one Statfs call of a short path.
const statfsAllocates = 0
