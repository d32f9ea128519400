package collector

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

func TestTmpDbg(t *testing.T) {
	runtime.LockOSThread()
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		t.Skip(err)
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("DBGDIR")
	if dir == "" {
		dir = t.TempDir()
	}
	f := &procFile{path: "/proc/thread-self/mountinfo", mountinfo: true}
	f.read()
	poll := func(fd int) (uintptr, int16, syscall.Errno) {
		fds := [1]pollFd{{fd: int32(fd), events: pollPri}}
		var zero syscall.Timespec
		n, _, errno := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		return n, fds[0].revents, errno
	}
	t.Log(poll(f.fd))
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k")
	t.Log("mount", dir, err)
	t.Log(poll(f.fd))
	syscall.Unmount(dir, 0)
	t.Log(poll(f.fd))
}

func TestTmpPre(t *testing.T) { _ = t.TempDir() }
