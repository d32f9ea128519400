//go:build !amd64 && !arm64 && !riscv64

package collector

import (
	"errors"
	"syscall"
)

// Statfs is the statfs(2) system call. On these architectures syscall.Statfs picks the kernel's statfs64 and its
// struct, so Statfs leaves the call to it (one small allocation for the path), retrying when a signal interrupts it.
func Statfs(path string, st *syscall.Statfs_t) error {
	for {
		err := syscall.Statfs(path, st)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// statfsLocal is Statfs: these architectures have no raw variant of it here.
func statfsLocal(path string, st *syscall.Statfs_t) error { return Statfs(path, st) }

// statfsAllocates is the allocations of one Statfs call of a short path.
const statfsAllocates = 1
