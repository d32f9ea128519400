package collector

import (
	"fmt"

	"github.com/prometheus/procfs"
	"github.com/prometheus/procfs/blockdevice"
)

// ProcFS is a procfs mount point as the sources read it. Each source keeps its files open and re-reads them in
// place with zero-allocation parsers that accept only the kernel's own spelling of each file; anything else (a
// field they do not know how to read exactly as procfs would, a malformed line) is handed to procfs's parsers, so
// that every input yields procfs's values or procfs's error. The parity and fuzz tests hold the two to that.
type ProcFS struct {
	path string
	fs   procfs.FS
	bd   blockdevice.FS
}

// NewProcFS returns the procfs mounted at mountPoint (normally /proc).
func NewProcFS(mountPoint string) (ProcFS, error) {
	fs, err := procfs.NewFS(mountPoint)
	if err != nil {
		return ProcFS{}, fmt.Errorf("opening procfs at %s: %w", mountPoint, err)
	}
	// Only /proc/diskstats is read through blockdevice; it insists on a sysfs path too, so it gets the procfs one.
	bd, err := blockdevice.NewFS(mountPoint, mountPoint)
	if err != nil {
		return ProcFS{}, fmt.Errorf("opening procfs at %s: %w", mountPoint, err)
	}
	return ProcFS{path: mountPoint, fs: fs, bd: bd}, nil
}

// file returns a reader of the file at name, relative to the mount point; whole tells whether the kernel renders
// it in one piece (see procFile).
func (p ProcFS) file(name string, whole bool) *procFile {
	return &procFile{path: p.path + "/" + name, whole: whole}
}

// mountinfoFile returns a reader of a mountinfo file at name, relative to the mount point (see procFile.mountinfo).
func (p ProcFS) mountinfoFile(name string) *procFile {
	return &procFile{path: p.path + "/" + name, mountinfo: true}
}
