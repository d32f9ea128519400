package collector

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

const (
	// procSuperMagic is the f_type of a procfs mount (PROC_SUPER_MAGIC in linux/magic.h).
	procSuperMagic = 0x9fa0
	// maxProcFile bounds the buffer of one file; procfs itself reads at most 1 MiB of most of them.
	maxProcFile = 16 << 20
)

// seqRecordSlack bounds the length of one record (line) of the paged files we read, such as a diskstats line of
// 20 counters and a device name.
const seqRecordSlack = 1024

// pageSize is the size of a seq_file's kernel buffer, and so the most one read of a paged file returns.
var pageSize = os.Getpagesize()

// procFile is one file of /proc kept open and re-read from offset 0 into a buffer that only ever grows, so that a
// read costs the kernel's work and no allocation. The kernel regenerates a seq_file's content on every read at
// offset 0, so the open descriptor sees fresh values each time.
type procFile struct {
	path string
	// whole is set for files the kernel renders in one piece (single_open: stat, meminfo, loadavg, pressure):
	// a read that does not fill the buffer then holds all of it, and the read that would return 0 is saved.
	// diskstats is rendered a page at a time and read until the end.
	whole bool
	// mountinfo is set for a seq_file whose records can be longer than seqRecordSlack (a mountinfo line of an
	// overlay mount lists every lower directory) and whose rendering may sleep (it takes the namespace's mount
	// lock, which a mount or unmount holds): it is read until a read returns 0, through the scheduler.
	mountinfo bool
	file      *os.File
	fd        int
	// onProcfs is set on a real procfs mount. Elsewhere (test fixtures, a copied tree) a file can be removed,
	// renamed away or replaced while we hold it open, and the open descriptor would keep reading the old content.
	onProcfs bool
	buf      []byte
	// Off procfs: cpath is path NUL-terminated, for a stat that allocates nothing, and dev and ino identify the
	// open file.
	cpath    []byte
	dev, ino uint64
}

// read returns the file's whole content, valid until the next read. It opens the file on first use and reopens it
// when the path no longer names the one held open, or when reading it fails (ESTALE on a network mount, a file
// recreated).
func (f *procFile) read() ([]byte, error) {
	if f.file != nil && !f.onProcfs && f.replaced() {
		f.Close()
	}
	if f.file == nil {
		if err := f.open(); err != nil {
			return nil, err
		}
		return f.readAll()
	}
	b, err := f.readAll()
	if err == nil {
		return b, nil
	}
	f.Close()
	if err := f.open(); err != nil {
		return nil, err
	}
	return f.readAll()
}

func (f *procFile) open() error {
	file, err := os.Open(f.path)
	if err != nil {
		return err // *PathError: errors.Is(err, fs.ErrNotExist) holds for a missing file
	}
	fd := int(file.Fd())
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(fd, &st); err != nil {
		file.Close()
		return fmt.Errorf("statfs %s: %w", f.path, err)
	}
	onProcfs := st.Type == procSuperMagic
	if !onProcfs {
		var id syscall.Stat_t
		if err := syscall.Fstat(fd, &id); err != nil {
			file.Close()
			return fmt.Errorf("stat %s: %w", f.path, err)
		}
		f.dev, f.ino = uint64(id.Dev), uint64(id.Ino) // not uint64 on every architecture
		if f.cpath == nil {
			f.cpath = append([]byte(f.path), 0)
		}
	}
	f.file, f.fd, f.onProcfs = file, fd, onProcfs
	if f.buf == nil {
		f.buf = make([]byte, 4096)
	}
	return nil
}

// replaced reports whether the path no longer names the open file: it was removed, renamed away, or another file
// was renamed over it. The kernel cannot reuse the inode number of a file we hold open, so equal device and inode
// numbers are the same file.
func (f *procFile) replaced() bool {
	var st syscall.Stat_t
	if err := statPath(f.cpath, &st); err != nil {
		return true // gone, or unreadable: the reopen reports why
	}
	return uint64(st.Dev) != f.dev || uint64(st.Ino) != f.ino
}

// readAll reads from offset 0 to the end of the file, growing the buffer when the content does not fit.
func (f *procFile) readAll() ([]byte, error) {
	n := 0
	for {
		m, err := f.pread(f.buf[n:], int64(n))
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		room := len(f.buf) - n
		n += m
		switch {
		case m == 0:
			return f.buf[:n], nil
		case n < len(f.buf) && (f.whole || !f.onProcfs): // a short read of a regular file is its end too
			return f.buf[:n], nil
		case f.onProcfs && !f.mountinfo && m+seqRecordSlack <= min(room, pageSize):
			// A seq_file read copies records until the next would not fit in the caller's buffer or in the
			// kernel's page-sized one. With room for any record left in both, the records ran out: this is the
			// end, and the read that would return 0 is saved.
			return f.buf[:n], nil
		case n == len(f.buf):
			if len(f.buf) >= maxProcFile {
				return nil, fmt.Errorf("reading %s: larger than %d bytes", f.path, maxProcFile)
			}
			f.buf = append(f.buf, make([]byte, len(f.buf))...)
		}
	}
}

// pread reads at off. On a real procfs it makes the system call without telling the Go scheduler (RawSyscall):
// these files are rendered from kernel memory without blocking, and announcing each call would wake the runtime's
// monitor thread, whose polling then costs more than the reads (docs/benchmarks.md). Anywhere else a read may block
// (a network filesystem), and so may a read of mountinfo (see procFile.mountinfo), so those go through the
// scheduler as usual.
func (f *procFile) pread(b []byte, off int64) (int, error) {
	if !f.onProcfs || f.mountinfo {
		for {
			n, err := syscall.Pread(f.fd, b, off)
			if !errors.Is(err, syscall.EINTR) {
				return n, err
			}
		}
	}
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(f.fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(off), 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, errno
	}
}

// pollFd is the kernel's struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// pollPri is POLLPRI, with which poll flags a change of a mount table file.
const pollPri = 0x2

// unchanged reports whether a mountinfo file held open on procfs is as it was at its last read, without rendering
// it, which costs the kernel tens of microseconds: poll flags a change of the mount namespace (mount, unmount,
// remount) as POLLPRI|POLLERR, once per open file and change (proc(5)). A file not open, not a mountinfo, not on
// procfs (a fake tree, where poll says nothing), or whose poll fails is to be read. The poll has a zero timeout and
// never sleeps, so it is made without telling the scheduler, as pread is.
func (f *procFile) unchanged() bool {
	if !f.mountinfo || f.file == nil || !f.onProcfs {
		return false
	}
	fds := [1]pollFd{{fd: int32(f.fd), events: pollPri}}
	var zero syscall.Timespec
	n, _, errno := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
	return errno == 0 && n == 0
}

// Close closes the file; the next read opens it again.
func (f *procFile) Close() error {
	if f.file == nil {
		return nil
	}
	err := f.file.Close()
	f.file = nil
	return err
}
