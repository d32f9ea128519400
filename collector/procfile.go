package collector

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

const (
	// procSuperMagic is the f_type of a procfs mount (PROC_SUPER_MAGIC in linux/magic.h).
	procSuperMagic = 0x9fa0
	// maxProcFile bounds the buffer of one file; procfs itself reads at most 1 MiB of most of them.
	maxProcFile = 16 << 20
)

// procFile is one file of /proc kept open and re-read from offset 0 into a buffer that only ever grows, so that a
// read costs the kernel's work and no allocation. The kernel regenerates a seq_file's content on every read at
// offset 0, so the open descriptor sees fresh values each time.
type procFile struct {
	path string
	file *os.File
	fd   int
	// unlinkable is set on anything but a real procfs (test fixtures, a copied tree): there a file can be
	// removed or replaced while we hold it open, and the open descriptor would keep reading the old content.
	unlinkable bool
	buf        []byte
}

// read returns the file's whole content, valid until the next read. It opens the file on first use and reopens it
// when the one held open was removed, or when reading it fails (ESTALE on a network mount, a file recreated).
func (f *procFile) read() ([]byte, error) {
	if f.file != nil && f.unlinkable && f.removed() {
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
	f.file, f.fd, f.unlinkable = file, fd, st.Type != procSuperMagic
	if f.buf == nil {
		f.buf = make([]byte, 4096)
	}
	return nil
}

// removed reports whether the open file has no name any more (removed, or replaced by a rename).
func (f *procFile) removed() bool {
	var st syscall.Stat_t
	return syscall.Fstat(f.fd, &st) != nil || st.Nlink == 0
}

// readAll reads from offset 0 to the end of the file, growing the buffer when the content does not fit. seq_files
// such as diskstats hand out one page per read call, so it loops until the kernel reports the end.
func (f *procFile) readAll() ([]byte, error) {
	n := 0
	for {
		m, err := f.file.ReadAt(f.buf[n:], int64(n))
		n += m
		switch {
		case errors.Is(err, io.EOF):
			return f.buf[:n], nil
		case err != nil:
			return nil, err // *PathError names the file
		case n == len(f.buf):
			if len(f.buf) >= maxProcFile {
				return nil, fmt.Errorf("reading %s: larger than %d bytes", f.path, maxProcFile)
			}
			f.buf = append(f.buf, make([]byte, len(f.buf))...)
		}
	}
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
