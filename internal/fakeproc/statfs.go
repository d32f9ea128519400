package fakeproc

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/servermon/servermon_exporter/internal/eventually"
)

// Statfs answers statfs(2) for the mounts of a fake host, in place of the system call
// (collector.FilesystemConfig.Statfs): from a table of mount points, with the errors and hangs a test sets, and
// counting the calls. A mount point not in the table does not exist (ENOENT). It is safe for concurrent use: the
// collector calls it from a goroutine per network mount.
type Statfs struct {
	mu     sync.Mutex
	fs     map[string]syscall.Statfs_t
	errs   map[string]error
	hang   map[string]chan struct{}
	calls  map[string]int
	inside map[string]int // calls in progress
	most   map[string]int // most calls ever in progress at once
}

// NewStatfs returns a Statfs that knows no mount point.
func NewStatfs() *Statfs {
	return &Statfs{fs: map[string]syscall.Statfs_t{}, errs: map[string]error{}, hang: map[string]chan struct{}{},
		calls: map[string]int{}, inside: map[string]int{}, most: map[string]int{}}
}

// Call is the system call: it fills st with path's filesystem, after waiting for a Block of path to be released.
func (f *Statfs) Call(path string, st *syscall.Statfs_t) error {
	f.mu.Lock()
	f.calls[path]++
	f.inside[path]++
	f.most[path] = max(f.most[path], f.inside[path])
	hang := f.hang[path]
	f.mu.Unlock()
	if hang != nil {
		<-hang
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inside[path]--
	if err := f.errs[path]; err != nil {
		return err
	}
	v, ok := f.fs[path]
	if !ok {
		return syscall.ENOENT
	}
	*st = v
	return nil
}

// Set makes path's filesystem st.
func (f *Statfs) Set(path string, st syscall.Statfs_t) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fs[path] = st
}

// SetBlocks makes path a filesystem of 4 KiB blocks with these counts, as statfs reports them: free blocks
// include those reserved for root, available ones do not.
func (f *Statfs) SetBlocks(path string, blocks, free, avail, files, filesFree uint64) {
	f.Set(path, syscall.Statfs_t{Bsize: 4096, Frsize: 4096, Blocks: blocks, Bfree: free, Bavail: avail, Files: files, Ffree: filesFree})
}

// SetReadOnly sets ST_RDONLY in path's statfs flags, as a read-only bind in the caller's mount namespace does.
func (f *Statfs) SetReadOnly(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.fs[path]
	st.Flags |= 1 // ST_RDONLY
	f.fs[path] = st
}

// Fail makes every statfs of path return err (nil: answer again).
func (f *Statfs) Fail(path string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[path] = err
}

// Block makes statfs of path hang, as on a network mount whose server is gone, until release is called; the calls
// waiting then return.
func (f *Statfs) Block(path string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	f.hang[path] = ch
	return sync.OnceFunc(func() {
		f.mu.Lock()
		delete(f.hang, path)
		f.mu.Unlock()
		close(ch)
	})
}

// Count returns how many statfs calls of path there were, how many are in progress, and the most ever in progress
// at once.
func (f *Statfs) Count(path string) (calls, inside, most int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path], f.inside[path], f.most[path]
}

// WaitIdle waits until no statfs of path is in progress, failing the test after 10 s.
func (f *Statfs) WaitIdle(tb eventually.TB, path string) {
	tb.Helper()
	eventually.Must(tb, 10*time.Second, "statfs of "+path+" returns", func() error {
		if _, inside, _ := f.Count(path); inside > 0 {
			return fmt.Errorf("%d calls in progress", inside)
		}
		return nil
	})
}
