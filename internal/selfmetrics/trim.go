package selfmetrics

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
// The kernel maps executable pages in runs around each one touched, so after start much of the binary counts in
// the RSS although a sample and a scrape touch a fraction of it.
//
// Only mappings of the executable that are clean copies of the file are dropped, with MADV_DONTNEED: their pages
// stay in the page cache, and those still used fault back in at once. A mapping holding any private page of its
// own (Anonymous in smaps) is left alone: dropping it would bring back the file's bytes in place of what was
// written there. That is the case of the RELRO segment of a position-independent executable, read-only but
// written by the relocations at start, and of every writable mapping.
func trimStartupMemory() error {
	debug.FreeOSMemory()
	var exe syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &exe); err != nil {
		return fmt.Errorf("trimming startup memory: %w", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return fmt.Errorf("trimming startup memory: %w", err)
	}
	clean, err := cleanExecutableMappings(smaps, exe.Ino)
	if err != nil {
		return fmt.Errorf("trimming startup memory: %w", err)
	}
	for _, m := range clean {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), syscall.MADV_DONTNEED); errno != 0 {
			return fmt.Errorf("trimming startup memory: madvise %x-%x: %w", m.start, m.end, errno)
		}
	}
	return nil
}

// mapping is an address range of /proc/self/smaps.
type mapping struct{ start, end uint64 }

// cleanExecutableMappings returns the read-only mappings of the file with inode ino that hold no anonymous (private,
// written) page, from the content of /proc/self/smaps: a header line per mapping (start-end perms offset dev inode
// path) followed by "Key: value kB" lines.
func cleanExecutableMappings(smaps []byte, ino uint64) ([]mapping, error) {
	var out []mapping
	var cur mapping
	// candidate is set within the fields of a read-only mapping of the file, unwritten once its Anonymous field
	// says 0: a kernel that does not say is not trusted.
	candidate, unwritten := false, false
	inode := strconv.FormatUint(ino, 10)
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if key, isField := strings.CutSuffix(f[0], ":"); isField && !strings.Contains(f[0], "-") {
			switch {
			case key == "Anonymous" && candidate:
				unwritten = len(f) >= 2 && f[1] == "0"
			case key == "VmFlags" && candidate && unwritten: // the last field of a mapping
				out = append(out, cur)
				candidate = false
			}
			continue
		}
		// A header line.
		candidate, unwritten = false, false
		if len(f) < 6 || (f[1] != "r-xp" && f[1] != "r--p") || f[4] != inode {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("bad mapping %q", line)
		}
		cur, candidate = mapping{start, end}, true
	}
	return out, sc.Err()
}
