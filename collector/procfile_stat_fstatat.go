//go:build arm64 || riscv64

package collector

import "syscall"

// fstatatTrap is the system call number of fstatat.
const fstatatTrap = syscall.SYS_FSTATAT
