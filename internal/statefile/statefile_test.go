package statefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
)

var stateT0 = time.Unix(1_700_000_000, 123_456_789)

func fixedClock(t time.Time) *clock.Fake { return clock.NewFake(t) }

// dirNames lists a directory so tests can assert that nothing was left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func mustSave(t *testing.T, f *File, payload []byte) {
	t.Helper()
	if err := f.Save(payload); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "forecast.state")
	f := New(path, fixedClock(stateT0))
	for _, payload := range [][]byte{{}, []byte("x"), []byte("forecast state\x00\xff"), big} {
		mustSave(t, f, payload)
		got, err := f.Load()
		if err != nil {
			t.Fatalf("Load after saving %d bytes: %v", len(payload), err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("Load returned %d bytes, want the %d saved", len(got), len(payload))
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", st.Mode().Perm())
		}
		if st.Size() != int64(len(payload)+stateHeaderLen+stateTrailerLen) {
			t.Errorf("file size %d for a %d byte payload", st.Size(), len(payload))
		}
		if names := dirNames(t, dir); len(names) != 1 {
			t.Errorf("directory holds %v, want only the state file", names)
		}
	}
}

func TestStateRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	f := New("state", fixedClock(stateT0))
	mustSave(t, f, []byte("abc"))
	got, err := f.Load()
	if err != nil || string(got) != "abc" {
		t.Fatalf("Load = %q, %v", got, err)
	}
}

func TestStateEncodingLayout(t *testing.T) {
	b := encodeState([]byte("hi"), stateT0)
	if string(b[:4]) != "SMFC" || binary.BigEndian.Uint16(b[4:]) != 1 || binary.BigEndian.Uint16(b[6:]) != 0 {
		t.Fatalf("bad magic/version/flags in % x", b[:8])
	}
	if ns := int64(binary.BigEndian.Uint64(b[8:])); ns != stateT0.UnixNano() {
		t.Errorf("saved-at %d, want %d", ns, stateT0.UnixNano())
	}
	if n := binary.BigEndian.Uint64(b[16:]); n != 2 || string(b[24:26]) != "hi" {
		t.Errorf("length %d payload %q", n, b[24:26])
	}
	if sum := crc32.Checksum(b[:26], crc32.MakeTable(crc32.Castagnoli)); binary.BigEndian.Uint32(b[26:]) != sum {
		t.Errorf("trailer is not the CRC-32C of the rest")
	}
	payload, savedAt, err := decodeState(b, stateMaxPayload)
	if err != nil || string(payload) != "hi" || !savedAt.Equal(stateT0) {
		t.Fatalf("decodeState = %q, %v, %v", payload, savedAt, err)
	}
}

func TestStateLoadMissing(t *testing.T) {
	f := New(filepath.Join(t.TempDir(), "none"), fixedClock(stateT0))
	_, err := f.Load()
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if errors.Is(err, ErrCorrupt) {
		t.Fatalf("a missing file is reported as corrupt: %v", err)
	}
}

// checkMovedAside asserts that Load reported corruption and moved the file,
// with its content intact, to the name derived from the clock.
func checkMovedAside(t *testing.T, err error, path string, now time.Time, content []byte, wantMsg string) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	aside := fmt.Sprintf("%s.corrupt-%d", path, now.Unix())
	if !strings.Contains(err.Error(), wantMsg) || !strings.Contains(err.Error(), "moved to "+aside) {
		t.Fatalf("error %q should contain %q and name %s", err, wantMsg, aside)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("corrupt file still at %s: %v", path, err)
	}
	got, err := os.ReadFile(aside)
	if err != nil {
		t.Fatalf("moved-aside file: %v", err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("moved-aside file content changed")
	}
	if err := os.Remove(aside); err != nil {
		t.Fatal(err)
	}
}

func TestStateLoadTruncatedAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	now := time.Unix(1_800_000_000, 999_999_999)
	f := New(path, fixedClock(now))
	good := encodeState([]byte("some forecast state"), stateT0)
	for n := 0; n < len(good); n++ {
		if err := os.WriteFile(path, good[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := f.Load()
		want := "length mismatch"
		if n < stateHeaderLen {
			want = "truncated header"
		}
		checkMovedAside(t, err, path, now, good[:n], want)
		if _, _, err := decodeState(good[:n], stateMaxPayload); err == nil {
			t.Fatalf("decodeState accepted %d of %d bytes", n, len(good))
		}
	}
}

func TestStateEveryBitFlipDetected(t *testing.T) {
	good := encodeState([]byte("payload!"), stateT0)
	for i := 0; i < len(good)*8; i++ {
		bad := bytes.Clone(good)
		bad[i/8] ^= 1 << (i % 8)
		if _, _, err := decodeState(bad, stateMaxPayload); err == nil {
			t.Fatalf("flip of bit %d (byte %d) not detected", i%8, i/8)
		}
	}
}

func TestStateLoadReportsWhatIsWrong(t *testing.T) {
	good := encodeState([]byte("payload!"), stateT0)
	flip := func(byteIdx int, mask byte) []byte {
		b := bytes.Clone(good)
		b[byteIdx] ^= mask
		return b
	}
	// resum fixes the checksum so that only the header field is wrong.
	resum := func(b []byte) []byte {
		end := len(b) - stateTrailerLen
		binary.BigEndian.PutUint32(b[end:], crc32.Checksum(b[:end], crc32.MakeTable(crc32.Castagnoli)))
		return b
	}
	huge := bytes.Clone(good)
	binary.BigEndian.PutUint64(huge[16:], 1<<40)
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"magic", flip(0, 0x20), `bad magic "sMFC"`},
		{"version", resum(flip(5, 0x03)), "unsupported format version 2, want 1"},
		{"flags", resum(flip(7, 0x01)), "unsupported flags 0x0001"},
		{"saved-at", flip(10, 0x01), "checksum mismatch"},
		{"length", flip(23, 0x01), "length mismatch: header says 9 payload bytes"},
		{"length beyond limit", huge, "payload length 1099511627776 exceeds the limit"},
		{"payload", flip(stateHeaderLen+3, 0x80), "checksum mismatch"},
		{"checksum", flip(len(good)-1, 0x01), "checksum mismatch"},
		{"trailing garbage", append(bytes.Clone(good), 0), "length mismatch"},
		{"empty", nil, "truncated header: 0 of 24 bytes"},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	f := New(path, fixedClock(stateT0))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := f.Load()
			checkMovedAside(t, err, path, stateT0, tc.content, tc.want)
		})
	}
}

func TestStateFutureTimestamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	f := New(path, fixedClock(stateT0))
	for _, ahead := range []time.Duration{-time.Hour, 0, stateMaxSkew} {
		mustSave(t, New(path, fixedClock(stateT0.Add(ahead))), []byte("ok"))
		if got, err := f.Load(); err != nil || string(got) != "ok" {
			t.Fatalf("saved %v ahead: Load = %q, %v", ahead, got, err)
		}
	}
	mustSave(t, New(path, fixedClock(stateT0.Add(stateMaxSkew+time.Second))), []byte("ok"))
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Load()
	checkMovedAside(t, err, path, stateT0, content, "5m1s in the future")
}

func TestStateMoveAsideNameUsesClock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	now := time.Unix(1_234_567_890, 900_000_000)
	if err := os.WriteFile(path, []byte("garbage that is long enough to hold a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(path, fixedClock(now)).Load()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "state.corrupt-1234567890" {
		t.Fatalf("directory holds %v, want [state.corrupt-1234567890]", names)
	}
}

func TestStateMoveAsideFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := os.WriteFile(path, []byte("bad"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A non-empty directory where the file should go makes the rename fail.
	blocker := fmt.Sprintf("%s.corrupt-%d", path, stateT0.Unix())
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := New(path, fixedClock(stateT0)).Load()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "moving it aside failed") {
		t.Fatalf("err = %v, want ErrCorrupt saying the move failed", err)
	}
	var pathErr *os.LinkError
	if !errors.As(err, &pathErr) {
		t.Errorf("the rename error is not wrapped: %v", err)
	}
}

func TestStateUnreadableLocation(t *testing.T) {
	// chmod does not stop root, a regular file in the path does.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := New(filepath.Join(notDir, "state"), fixedClock(stateT0))
	_, err := f.Load()
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load err = %v, want an I/O error that is neither missing nor corrupt", err)
	}
	if err := f.Save([]byte("x")); err == nil {
		t.Fatal("Save below a regular file succeeded")
	}
}

func TestStatePathIsDirectory(t *testing.T) {
	path := t.TempDir()
	_, err := New(path, fixedClock(stateT0)).Load()
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want a read error, not corruption", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the directory was moved: %v", err)
	}
}

func TestStateSaveIntoMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	prev := New(filepath.Join(dir, "state"), fixedClock(stateT0))
	mustSave(t, prev, []byte("previous"))
	prev.path = filepath.Join(missing, "state")
	if err := prev.Save([]byte("new")); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Save into a missing directory: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Save created the directory: %v", err)
	}
	got, err := New(filepath.Join(dir, "state"), fixedClock(stateT0)).Load()
	if err != nil || string(got) != "previous" {
		t.Fatalf("previous state: %q, %v", got, err)
	}
}

func TestStateFailedSaveKeepsPrevious(t *testing.T) {
	boom := errors.New("disk full")
	tests := []struct {
		name  string
		setup func(f *File)
	}{
		{"fsync of the temp file fails", func(f *File) {
			f.fsync = func(*os.File) error { return boom }
		}},
		{"payload over the limit", func(f *File) { f.maxPayload = 2 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := New(filepath.Join(dir, "state"), fixedClock(stateT0))
			mustSave(t, f, []byte("previous"))
			tc.setup(f)
			if err := f.Save([]byte("next one")); err == nil {
				t.Fatal("Save succeeded")
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("directory holds %v, want only the state file", names)
			}
			f.maxPayload, f.fsync = stateMaxPayload, (*os.File).Sync
			if got, err := f.Load(); err != nil || string(got) != "previous" {
				t.Fatalf("Load = %q, %v, want the previous state", got, err)
			}
		})
	}
}

func TestStateFailedRenameRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := os.MkdirAll(filepath.Join(path, "occupied"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := New(path, fixedClock(stateT0)).Save([]byte("x")); err == nil {
		t.Fatal("Save over a non-empty directory succeeded")
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "state" {
		t.Fatalf("directory holds %v, want only the blocking directory", names)
	}
}

func TestStateFsyncsDirectory(t *testing.T) {
	dir := t.TempDir()
	var synced []string
	f := New(filepath.Join(dir, "state"), fixedClock(stateT0))
	f.fsync = func(file *os.File) error {
		synced = append(synced, file.Name())
		return file.Sync()
	}
	mustSave(t, f, []byte("x"))
	if len(synced) != 2 || !strings.HasPrefix(filepath.Base(synced[0]), ".state.tmp-") || synced[1] != dir+string(filepath.Separator) {
		t.Fatalf("fsynced %q, want the temp file then the directory", synced)
	}
	f.fsync = func(file *os.File) error {
		if st, err := file.Stat(); err == nil && st.IsDir() {
			return errors.New("EIO")
		}
		return nil
	}
	if err := f.Save([]byte("y")); err == nil || !strings.Contains(err.Error(), "fsync directory") {
		t.Fatalf("err = %v, want the directory fsync failure", err)
	}
}

func TestStateCrashMidWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	now := time.Now()
	f := New(path, fixedClock(now))
	mustSave(t, f, []byte("good"))

	// What a crash between write and rename leaves: a torn temp file.
	torn := encodeState([]byte("newer state"), now)[:20]
	stale := filepath.Join(dir, stateTempPrefix("state")+"123456")
	fresh := filepath.Join(dir, stateTempPrefix("state")+"789")
	unrelated := filepath.Join(dir, ".other.tmp-1")
	for _, p := range []string{stale, fresh, unrelated} {
		if err := os.WriteFile(p, torn, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := now.Add(-stateStaleTempAge - time.Second)
	for _, p := range []string{stale, unrelated} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	if got, err := f.Load(); err != nil || string(got) != "good" {
		t.Fatalf("Load after crash = %q, %v, want the previous good state", got, err)
	}
	mustSave(t, f, []byte("next"))
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file not removed: %v", err)
	}
	for _, p := range []string{fresh, unrelated} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s should be left alone: %v", filepath.Base(p), err)
		}
	}
	if got, err := f.Load(); err != nil || string(got) != "next" {
		t.Fatalf("Load = %q, %v", got, err)
	}
}

func TestStateConcurrentUse(t *testing.T) {
	f := New(filepath.Join(t.TempDir(), "state"), clock.NewSystem())
	mustSave(t, f, []byte("0"))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				if err := f.Save([]byte(fmt.Sprint(i, j))); err != nil {
					errs <- err
				}
				if _, err := f.Load(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzStateDecode(f *testing.F) {
	f.Add(encodeState(nil, stateT0))
	f.Add(encodeState([]byte("forecast"), stateT0))
	f.Add([]byte("SMFC\x00\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, savedAt, err := decodeState(data, 1<<20)
		if err != nil {
			if payload != nil {
				t.Fatalf("payload returned with error %v", err)
			}
			return
		}
		// Only an exact encoding is accepted: re-encoding gives the input back.
		if again := encodeState(payload, savedAt); !bytes.Equal(again, data) {
			t.Fatalf("accepted input is not the canonical encoding of its payload")
		}
	})
}

func BenchmarkStateDecode(b *testing.B) {
	enc := encodeState(make([]byte, 1<<20), stateT0)
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, _, err := decodeState(enc, stateMaxPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	if err := New(filepath.Join(dir, "state"), fixedClock(stateT0)).CheckWritable(); err != nil {
		t.Errorf("writable directory: %v", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("the check left %v behind", names)
	}
	if err := New(filepath.Join(dir, "missing", "state"), fixedClock(stateT0)).CheckWritable(); err == nil {
		t.Error("a missing directory passed the check")
	}
	if err := New(dir, fixedClock(stateT0)).CheckWritable(); err == nil {
		t.Error("a directory as the state path passed the check")
	}
	// No one, root included, creates files in /proc.
	if err := New("/proc/servermon-state", fixedClock(stateT0)).CheckWritable(); err == nil {
		t.Error("a directory that takes no files passed the check")
	}
}
