package statefile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/syncbuf"

	"github.com/servermon/servermon_exporter/internal/clock"
)

// childEnv, set in the environment of the test binary, makes it run one test function alone in the role given by
// its value (see childCommand), as the child process of another test.
const childEnv = "SERVERMON_STATEFILE_CHILD"

// childCommand returns a command running the test named test in this test binary, as a child in role.
func childCommand(t *testing.T, role, test string) *exec.Cmd {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	return cmd
}

func childRole() string { return os.Getenv(childEnv) }

// stateEnv passes the state file path to a child process.
const stateEnv = "SERVERMON_RELIABILITY_STATE"

// selfCheckingPayload is a payload that proves its own integrity: sequence number, SHA-256 of the body, body. Its
// size varies so that writes take long enough for a kill to land inside them.
func selfCheckingPayload(seq uint64, rng *rand.Rand) []byte {
	body := make([]byte, 64<<10+rng.IntN(2<<20))
	for i := 0; i+8 <= len(body); i += 8 {
		binary.LittleEndian.PutUint64(body[i:], rng.Uint64())
	}
	sum := sha256.Sum256(body)
	b := binary.LittleEndian.AppendUint64(nil, seq)
	b = append(b, sum[:]...)
	return append(b, body...)
}

func checkPayload(b []byte) (uint64, error) {
	if len(b) < 40 {
		return 0, fmt.Errorf("payload of %d bytes", len(b))
	}
	if sum := sha256.Sum256(b[40:]); !bytes.Equal(sum[:], b[8:40]) {
		return 0, errors.New("payload body does not match its hash")
	}
	return binary.LittleEndian.Uint64(b), nil
}

// TestStateKill9DuringWrite kills a process that saves the state file in a loop with SIGKILL, again and again at
// random moments, and loads the file after every kill. The file must always load, and hold the last save the child
// reported as done or the one after it: never a torn or older file.
func TestStateKill9DuringWrite(t *testing.T) {
	if childRole() == "saver" {
		saveForever(t)
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	rng := rand.New(rand.NewPCG(6, 9))
	var last uint64
	tornTemps := 0
	for round := range 12 {
		cmd := childCommand(t, "saver", "TestStateKill9DuringWrite")
		cmd.Env = append(cmd.Env, stateEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncbuf.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		saved := make(chan uint64, 1000)
		go func() {
			defer close(saved)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "saved "); ok {
					v, _ := strconv.ParseUint(n, 10, 64)
					saved <- v
				}
			}
		}()
		// Wait for one save of this child, then kill it at a random moment of the following ones.
		var reported uint64
		select {
		case reported = <-saved:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("round %d: child saved nothing:\n%s", round, stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		for v := range saved {
			reported = v
		}
		if names := dirNames(t, dir); len(names) > 1 {
			tornTemps++
		}
		payload, err := New(path, clock.NewSystem()).Load()
		if err != nil {
			t.Fatalf("round %d: state unreadable after kill -9: %v", round, err)
		}
		seq, err := checkPayload(payload)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if seq < reported || seq > reported+1 {
			t.Fatalf("round %d: loaded save %d, the child had reported %d as done", round, seq, reported)
		}
		if seq < last {
			t.Fatalf("round %d: loaded save %d after %d: went back in time", round, seq, last)
		}
		last = seq
	}
	t.Logf("last save %d; %d of 12 kills left a temporary file behind (a kill inside a write)", last, tornTemps)
	for _, name := range dirNames(t, dir) {
		if strings.Contains(name, "corrupt") {
			t.Errorf("a load found a corrupt file: %s", name)
		}
	}
}

// saveForever is the child of TestStateKill9DuringWrite: it continues the sequence found in the file and saves until
// killed, printing each save once it is done.
func saveForever(t *testing.T) {
	path := os.Getenv(stateEnv)
	f := New(path, clock.NewSystem())
	var seq uint64
	if b, err := f.Load(); err == nil {
		if s, err := checkPayload(b); err == nil {
			seq = s + 1
		}
	}
	rng := rand.New(rand.NewPCG(seq, 1))
	for ; ; seq++ {
		if err := f.Save(selfCheckingPayload(seq, rng)); err != nil {
			t.Fatalf("save %d: %v", seq, err)
		}
		fmt.Printf("saved %d\n", seq)
	}
}

// TestStateDiskFull saves on a file system that runs out of space: a 1 MiB tmpfs mounted in a private mount
// namespace of a child process (its mounts vanish with it, and a user namespace makes this work without root).
// Where namespaces are not allowed it falls back to an fsync that fails with ENOSPC, which is also where a full
// disk shows up with delayed allocation. Either way the save fails with ENOSPC, leaves the previous file and no
// temporary file, and the next save after space is freed works.
func TestStateDiskFull(t *testing.T) {
	if childRole() == "diskfull" {
		dir := os.Getenv(stateEnv)
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			t.Fatalf("making mounts private: %v", err)
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
			t.Fatalf("mounting tmpfs: %v", err)
		}
		defer syscall.Unmount(dir, 0)
		diskFull(t, dir, func(*File) (restore func()) {
			filler := filepath.Join(dir, "filler")
			fill, err := os.Create(filler)
			if err != nil {
				t.Fatal(err)
			}
			// Write until the file system is full, so that nothing but what is freed later fits.
			chunk := make([]byte, 4096)
			for {
				if _, err := fill.Write(chunk); err != nil {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("filling: %v", err)
					}
					break
				}
			}
			_ = fill.Close()
			return func() {
				if err := os.Remove(filler); err != nil {
					t.Fatal(err)
				}
			}
		})
		return
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := childCommand(t, "diskfull", "TestStateDiskFull")
	cmd.Env = append(cmd.Env, stateEnv+"="+mnt)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Logf("real ENOSPC on a full tmpfs:\n%s", out)
		return
	case errors.As(err, &exit):
		t.Fatalf("disk full on tmpfs: %v\n%s", err, out)
	}
	t.Logf("no mount namespace here (%v): simulating ENOSPC in fsync", err)
	diskFull(t, mnt, func(f *File) func() {
		f.fsync = func(*os.File) error { return &os.PathError{Op: "fsync", Path: "state", Err: syscall.ENOSPC} }
		return func() { f.fsync = (*os.File).Sync }
	})
}

// diskFull runs the disk-full scenario in dir; fill makes the next save fail and returns what frees space again.
func diskFull(t *testing.T, dir string, fill func(*File) (restore func())) {
	path := filepath.Join(dir, "state")
	f := New(path, clock.NewSystem())
	payload := bytes.Repeat([]byte("forecast state "), 4096)
	mustSave(t, f, payload[:len(payload)/2])
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	restore := fill(f)
	if err := f.Save(payload); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("save on a full disk: %v, want ENOSPC", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(after, before) {
		t.Errorf("the previous state was touched by the failed save (%v)", err)
	}
	for _, name := range dirNames(t, dir) {
		if strings.HasPrefix(name, ".state.tmp-") {
			t.Errorf("temporary file %s left on the full disk", name)
		}
	}
	restore()
	mustSave(t, f, payload)
	if got, err := f.Load(); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("state after the disk-full episode: %d bytes, %v", len(got), err)
	}
}

// TestStateFilePermissionsAndSymlinks: the state file is 0600 even when it replaces a file that was readable by
// everyone, and a symlink planted at its path is replaced, never followed, so it cannot make the exporter write
// elsewhere.
func TestStateFilePermissionsAndSymlinks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := New(path, clock.NewSystem())
	mustSave(t, f, []byte("new"))
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	mustSave(t, f, []byte("state"))
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Errorf("the symlink's target was written: %q, %v", b, err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("state path after save: %v (%v), want a regular 0600 file", fi.Mode(), err)
	}
}
