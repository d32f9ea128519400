//go:build !amd64 && !arm64 && !riscv64

package collector

import "syscall"

// statPath stats the NUL-terminated path. syscall.Stat copies the path onto the heap, and on these architectures
// syscall.Stat_t is not always the kernel's struct stat, so statPath leaves the call to it: one small allocation per
// read of a tree that is not procfs.
func statPath(path []byte, st *syscall.Stat_t) error {
	return syscall.Stat(string(path[:len(path)-1]), st)
}
