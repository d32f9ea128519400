package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Filesystems. statfs cannot be faked through /proc, so every exporter runs in a private mount namespace of its own
// (a user namespace too, so that this works without root), where a small tmpfs is mounted at the fake host's mount
// point under its --path.rootfs: the harness re-executes itself as a helper inside the new namespaces, the helper
// mounts the tmpfs, writes its initial content and executes the exporter in its place. The harness then fills the
// tmpfs of a filling host through /proc/<pid>/root. A mount lives exactly as long as its exporter: nothing is
// mounted in the harness's own namespace, so no mount can be left behind, even when the harness is killed
// (childproc's death signal kills the exporters, and their namespaces go with them).
//
// Where the kernel refuses the namespaces (a sysctl, a seccomp profile), the hosts have no filesystem and the
// filling hosts run the disk IO scenario instead; the report says so.

// helperEnv carries the helper's tmpfs in the environment: "dir blocks usedBlocks"; the helper removes it before it
// executes the exporter.
const helperEnv = "SERVERMON_FLEET_TMPFS"

// probeArg as the helper's command makes it report the tmpfs's statfs instead of executing a program.
const probeArg = "-fleet-probe"

// runHelper is the helper's whole life when the environment asks for it: it never returns then. main and TestMain
// call it first.
func runHelper() {
	spec, ok := os.LookupEnv(helperEnv)
	if !ok {
		return
	}
	if err := helper(spec, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fleet helper:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// helper mounts the tmpfs described by spec and executes argv in its place (or, for probeArg, prints the tmpfs's
// statfs).
func helper(spec string, argv []string) error {
	var dir string
	var blocks, used int64
	if _, err := fmt.Sscanf(spec, "%s %d %d", &dir, &blocks, &used); err != nil {
		return fmt.Errorf("%s=%q: %w", helperEnv, spec, err)
	}
	if len(argv) == 0 {
		return errors.New("no command")
	}
	// Mounts made here must not propagate back to the parent's namespace (systemd makes / shared).
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	opts := fmt.Sprintf("size=%d,nr_inodes=%d,mode=0755", blocks*fsBlockSize, fsInodes)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting a tmpfs (%s) at %s: %w", opts, dir, err)
	}
	if err := initialContent(dir, used); err != nil {
		return err
	}
	if argv[0] == probeArg {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return fmt.Errorf("statfs %s: %w", dir, err)
		}
		fmt.Printf("%d %d %d %d\n", st.Blocks, st.Bfree, st.Files, st.Ffree)
		return nil
	}
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, helperEnv+"=") {
			env = append(env, e)
		}
	}
	if err := syscall.Exec(argv[0], argv, env); err != nil {
		return fmt.Errorf("executing %s: %w", argv[0], err)
	}
	return nil
}

// initialContent writes the tmpfs's files: the fill file holding used blocks, and empty files up to fsInodesUsed
// inodes in use with the root directory and the fill file.
func initialContent(dir string, used int64) error {
	f, err := os.OpenFile(filepath.Join(dir, "fill"), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if used > 0 {
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, used*fsBlockSize); err != nil {
			return fmt.Errorf("allocating %d blocks: %w", used, err)
		}
	}
	for i := range fsInodesUsed - 2 {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), nil, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// namespaceAttr is what runs a child in a user and mount namespace of its own, as root there.
func namespaceAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
}

// helperEnvFor is the helper's environment entry for a tmpfs of blocks at dir with used blocks in use.
func helperEnvFor(dir string, blocks, used int64) string {
	return fmt.Sprintf("%s=%s %d %d", helperEnv, dir, blocks, used)
}

// fillFile is a filling host's fill file, opened through /proc/<pid>/root, and the blocks it holds.
type fillFile struct {
	f      *os.File
	blocks int64
}

// openFill opens the fill file of the tmpfs at dir in process pid's mount namespace, and checks that it is the
// tmpfs of blocks with used blocks in use (not the directory underneath, in the harness's namespace).
func openFill(pid int, dir string, blocks, used int64) (*fillFile, error) {
	path := filepath.Join("/proc", strconv.Itoa(pid), "root", dir, "fill")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("fill file: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("statfs %s: %w", path, err)
	}
	if int64(st.Blocks) != blocks || int64(st.Blocks-st.Bfree) != used {
		f.Close()
		return nil, fmt.Errorf("%s: %d blocks, %d used; want the tmpfs of %d, %d used", path, st.Blocks, st.Blocks-st.Bfree, blocks, used)
	}
	return &fillFile{f: f, blocks: used}, nil
}

// grow allocates blocks up to used.
func (f *fillFile) grow(used int64) error {
	if used <= f.blocks {
		return nil
	}
	if err := syscall.Fallocate(int(f.f.Fd()), 0, 0, used*fsBlockSize); err != nil {
		return fmt.Errorf("filling to %d blocks: %w", used, err)
	}
	f.blocks = used
	return nil
}

// probeNamespaces runs the helper once in the namespaces, in probe mode, with a tmpfs at a directory under dir: it
// tells whether namespaces and tmpfs mounts work here, and checks that the tmpfs holds what the history says it
// holds (blocks and inodes in use).
func probeNamespaces(self, dir string) error {
	mnt := filepath.Join(dir, "probe")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return err
	}
	defer os.Remove(mnt)
	const used = 400
	cmd := exec.Command(self, probeArg)
	cmd.Env = []string{helperEnvFor(mnt, fsBlocksStatic, used)}
	cmd.SysProcAttr = namespaceAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("a tmpfs in a private mount namespace: %w: %s", err, bytes.TrimSpace(out))
	}
	var blocks, bfree, files, ffree int64
	if _, err := fmt.Sscanf(string(out), "%d %d %d %d", &blocks, &bfree, &files, &ffree); err != nil {
		return fmt.Errorf("probe's statfs %q: %w", out, err)
	}
	if blocks != fsBlocksStatic || blocks-bfree != used || files != fsInodes || files-ffree != fsInodesUsed {
		return fmt.Errorf("the probe's tmpfs has %d blocks with %d used and %d inodes with %d used; want %d, %d, %d, %d",
			blocks, blocks-bfree, files, files-ffree, fsBlocksStatic, used, fsInodes, fsInodesUsed)
	}
	return nil
}
