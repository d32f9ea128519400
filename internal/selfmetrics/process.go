package selfmetrics

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/servermon/servermon_exporter/internal/exposition"
)

// userHZ is the tick rate of /proc/<pid>/stat's times, as procfs (and so client_golang) assumes it.
const userHZ = 100

// processMetrics renders the process_ families of client_golang's process collector, with the same names, help,
// types and values, for a fraction of the cost: that collector parses the whole of /proc/stat on every gather (for
// the boot time, which does not change), /proc/self/limits with regular expressions (getrlimit says the same) and
// /proc/self/stat through Sscanf. Here the start time is worked out once, and the files that change are kept open
// and re-read in place.
//
// process_network_receive_bytes_total and process_network_transmit_bytes_total are left out: they are the totals of
// the whole network namespace (/proc/self/net/netstat), not of the process, so on a host exporter they repeat the
// host's interface counters, and rendering that file was a third of a refresh's kernel time.
type processMetrics struct {
	stat, fdDir *os.File
	buf         []byte
	startTime   float64
	pageSize    float64
}

// procSelf is where the process's own files are: /proc, whatever --path.procfs says, as for client_golang.
const procSelf = "/proc"

// newProcessMetrics opens the process's files.
func newProcessMetrics() (*processMetrics, error) {
	const procPath = procSelf
	p := &processMetrics{buf: make([]byte, 8192), pageSize: float64(os.Getpagesize())}
	var err error
	if p.stat, err = os.Open(procPath + "/self/stat"); err != nil {
		return nil, fmt.Errorf("process metrics: %w", err)
	}
	if p.fdDir, err = os.Open(procPath + "/self/fd"); err != nil {
		p.stat.Close()
		return nil, fmt.Errorf("process metrics: %w", err)
	}
	bootTime, err := readBootTime(procPath + "/stat")
	if err == nil {
		var st procStat
		if st, err = p.readStat(); err == nil {
			p.startTime = bootTime + st.startTicks/userHZ
		}
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("process metrics: %w", err)
	}
	return p, nil
}

// procStat holds the fields of /proc/self/stat the process families use.
type procStat struct {
	cpuTicks, startTicks, vsize, rssPages float64
}

// readStat reads /proc/self/stat: utime (field 14), stime (15), starttime (22), vsize (23) and rss (24). The
// command name in field 2 may hold spaces and parentheses, so fields are counted after its last ')'.
func (p *processMetrics) readStat() (procStat, error) {
	b, err := p.read(p.stat)
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("/proc/self/stat: no command name")
	}
	fields := bytes.Fields(b[i+1:]) // fields[0] is field 3, state
	if len(fields) < 22 {
		return procStat{}, fmt.Errorf("/proc/self/stat: %d fields", len(fields)+2)
	}
	var v [5]float64
	for j, field := range [5]int{14, 15, 22, 23, 24} {
		n, err := strconv.ParseUint(string(fields[field-3]), 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/self/stat field %d: %w", field, err)
		}
		v[j] = float64(n)
	}
	return procStat{cpuTicks: v[0] + v[1], startTicks: v[2], vsize: v[3], rssPages: v[4]}, nil
}

// read reads a whole file of /proc/self from offset 0 into p.buf, growing it if needed. The system calls are raw,
// as the collector's reads of /proc are (collector.procFile): they do not block, and an announced call would wake
// the runtime's monitor thread every refresh.
func (p *processMetrics) read(f *os.File) ([]byte, error) {
	for {
		n, err := rawSyscall(syscall.SYS_PREAD64, f.Fd(), uintptr(unsafe.Pointer(unsafe.SliceData(p.buf))), uintptr(len(p.buf)), 0)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
		}
		if int(n) < len(p.buf) {
			return p.buf[:n], nil // these files are rendered in one piece: a short read is all of it
		}
		if len(p.buf) >= 1<<20 {
			return nil, fmt.Errorf("%s: larger than 1 MiB", f.Name())
		}
		p.buf = make([]byte, 2*len(p.buf))
	}
}

// openFDs counts the entries of /proc/self/fd, as procfs does: "." and ".." left out, the descriptor reading the
// directory counted (procfs opens one for the purpose; this one stays open).
func (p *processMetrics) openFDs() (int, error) {
	fd := p.fdDir.Fd()
	if _, err := rawSyscall(syscall.SYS_LSEEK, fd, 0, 0, 0); err != nil { // SEEK_SET: list from the start
		return 0, fmt.Errorf("listing /proc/self/fd: %w", err)
	}
	count := 0
	for {
		n, err := rawSyscall(syscall.SYS_GETDENTS64, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p.buf))), uintptr(len(p.buf)), 0)
		if err != nil {
			return 0, fmt.Errorf("listing /proc/self/fd: %w", err)
		}
		if n == 0 {
			return count, nil
		}
		// struct linux_dirent64: ino 8 bytes, off 8, reclen 2, type 1, then the name, NUL-terminated.
		for b := p.buf[:n]; len(b) >= 20; {
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 20 || reclen > len(b) {
				return 0, errors.New("listing /proc/self/fd: malformed directory entry")
			}
			if name := b[19:]; name[0] != '.' {
				count++
			}
			b = b[reclen:]
		}
	}
}

// rawSyscall makes a system call of up to four arguments without telling the scheduler, retrying on EINTR.
func rawSyscall(trap, a1, a2, a3, a4 uintptr) (uintptr, error) {
	for {
		r, _, errno := syscall.RawSyscall6(trap, a1, a2, a3, a4, 0, 0)
		switch errno {
		case 0:
			return r, nil
		case syscall.EINTR:
			continue
		}
		return 0, errno
	}
}

// readBootTime reads btime, the boot time in seconds since the epoch, from /proc/stat.
func readBootTime(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s btime: %w", path, err)
			}
			return float64(n), nil
		}
	}
	return 0, fmt.Errorf("%s: no btime", path)
}

// appendMetrics appends the process families in name order, leaving out those whose reading failed; it returns
// the first failure.
func (p *processMetrics) appendMetrics(b []byte) ([]byte, error) {
	var errs []error
	st, err := p.readStat()
	errs = append(errs, err)
	fds, err := p.openFDs()
	errs = append(errs, err)
	var files, as syscall.Rlimit
	errs = append(errs, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &files), syscall.Getrlimit(syscall.RLIMIT_AS, &as))

	type family struct {
		name, help, typ string
		v               float64
		ok              bool
	}
	statOK := errs[0] == nil
	for _, f := range []family{
		{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", st.cpuTicks / userHZ, statOK},
		{"process_max_fds", "Maximum number of open file descriptors.", "gauge", float64(files.Cur), errs[2] == nil},
		{"process_open_fds", "Number of open file descriptors.", "gauge", float64(fds), errs[1] == nil},
		{"process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", st.rssPages * p.pageSize, statOK},
		{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", p.startTime, true},
		{"process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", st.vsize, statOK},
		{"process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", "gauge", float64(as.Cur), errs[3] == nil},
	} {
		if f.ok {
			b = exposition.AppendHeader(b, f.name, f.help, f.typ)
			b = exposition.AppendSample(b, f.name, "", f.v)
		}
	}
	return b, errors.Join(errs...)
}

// Close closes the process's files.
func (p *processMetrics) Close() error {
	return errors.Join(p.stat.Close(), p.fdDir.Close())
}
