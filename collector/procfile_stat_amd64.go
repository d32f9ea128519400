package collector

import "syscall"

// fstatatTrap is the system call number of fstatat, which amd64 names newfstatat.
const fstatatTrap = syscall.SYS_NEWFSTATAT
