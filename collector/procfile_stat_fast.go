//go:build amd64 || arm64 || riscv64

package collector

import (
	"syscall"
	"unsafe"
)

// atFDCWD is AT_FDCWD: a path relative to the working directory (the syscall package lacks the constant).
const atFDCWD = -100

// statPath stats the NUL-terminated path like syscall.Stat, without syscall.Stat's copy of the path onto the heap,
// so that reading a tree that is not procfs allocates nothing either. On these architectures syscall.Stat_t is the
// kernel's struct stat, which the call fills in directly.
func statPath(path []byte, st *syscall.Stat_t) error {
	dirfd := atFDCWD // a variable: the negative constant does not convert to uintptr
	_, _, errno := syscall.Syscall6(fstatatTrap, uintptr(dirfd), uintptr(unsafe.Pointer(unsafe.SliceData(path))), uintptr(unsafe.Pointer(st)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
