package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// trimStartupMemory hands back to the kernel what starting the exporter left resident and the running exporter
// does not use: heap freed after loading the forecast state, and the pages of the executable's code and read-only
// data that only ran or were read at start (package initialisation, flag parsing, TLS and landing page set-up).
// The kernel maps executable pages in 64 KiB runs around each one touched, so after start about 11 MiB of a 22 MB
// binary counts in the RSS although a sample and a scrape touch a fraction of it. The read-only mappings are
// dropped with MADV_DONTNEED: the pages stay in the page cache, and those still used fault back in at once (minor
// faults, once). Writable mappings are left alone.
func trimStartupMemory() error {
	debug.FreeOSMemory()
	var exe syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &exe); err != nil {
		return fmt.Errorf("trimming startup memory: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return fmt.Errorf("trimming startup memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || (f[1] != "r-xp" && f[1] != "r--p") || f[4] != strconv.FormatUint(exe.Ino, 10) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			return fmt.Errorf("trimming startup memory: bad mapping %q", sc.Text())
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno != 0 {
			return fmt.Errorf("trimming startup memory: madvise %s: %w", f[0], errno)
		}
	}
	return nil
}
