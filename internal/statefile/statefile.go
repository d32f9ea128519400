// Package statefile keeps one blob, the forecaster's state, in a file that survives restarts and crashes: written
// atomically, checksummed, mode 0600, and moved aside rather than trusted or deleted when it does not verify.
//
// The file is the one framing layer of the state: the payload inside it carries no checksum of its own.
package statefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
)

// State file layout, all integers big-endian:
//
//	offset  size  field
//	0       4     magic "SMFC"
//	4       2     format version (stateVersion)
//	6       2     flags, reserved, must be 0
//	8       8     saved-at, Unix nanoseconds (int64)
//	16      8     payload length n (uint64), at most stateMaxPayload
//	24      n     payload, opaque to this file
//	24+n    4     CRC-32C (Castagnoli) of bytes [0, 24+n)
//
// CRC-32C rather than SHA-256: the threat is a torn or bit-rotted file, not
// an adversary, and a CRC detects every single-bit error and every burst of up
// to 32 bits. The length must also match the file size exactly, so truncation
// is caught even before the checksum is compared.
const (
	stateMagic      = "SMFC"
	stateVersion    = 1
	stateHeaderLen  = 24
	stateTrailerLen = 4
	// stateMaxPayload bounds what Load allocates for a length field read from
	// disk; the forecast state is a few MiB even for thousands of series.
	stateMaxPayload = 256 << 20
	// stateMaxSkew is how far in the future a saved-at may be before the file
	// is distrusted. Generous because clocks are stepped by NTP after boot.
	stateMaxSkew = 5 * time.Minute
	// stateStaleTempAge is how old a leftover temporary file must be before
	// Save removes it; younger ones may belong to a Save still running in
	// another process pointed at the same path by mistake.
	stateStaleTempAge = 10 * time.Minute
)

// ErrCorrupt marks a state file that exists but cannot be trusted. Load
// has moved such a file aside, so the caller can start fresh.
var ErrCorrupt = errors.New("corrupt forecast state file")

// File is the on-disk container of the forecast state.
//
// Save and Load may be called from several goroutines; they are serialised.
type File struct {
	path       string
	clock      clock.Clock
	maxPayload int
	// fsync is (*os.File).Sync, replaceable so tests can fail a write midway.
	fsync func(*os.File) error
	mu    sync.Mutex
}

// DefaultName is the state file's name in the directory systemd gives the service (StateDirectory=).
const DefaultName = "forecast.state"

// DefaultPath returns DefaultName in the service's state directory when systemd sets $STATE_DIRECTORY: a
// directory of the service's own that survives restarts, so safe to keep the state in without being asked. Of
// several directories (a colon-separated list) it takes the first, as systemd lists them in the unit's order.
func DefaultPath() (string, bool) {
	dir, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
	if dir == "" {
		return "", false
	}
	return filepath.Join(dir, DefaultName), true
}

// New returns the state file at path; the clock's wall time stamps saves and
// judges whether a saved-at lies in the future.
func New(path string, c clock.Clock) *File {
	return &File{
		path:       path,
		clock:      c,
		maxPayload: stateMaxPayload,
		fsync:      (*os.File).Sync,
	}
}

// encodeState lays out payload in the format described above.
func encodeState(payload []byte, savedAt time.Time) []byte {
	b := make([]byte, stateHeaderLen, stateHeaderLen+len(payload)+stateTrailerLen)
	copy(b, stateMagic)
	binary.BigEndian.PutUint16(b[4:], stateVersion)
	binary.BigEndian.PutUint16(b[6:], 0)
	binary.BigEndian.PutUint64(b[8:], uint64(savedAt.UnixNano()))
	binary.BigEndian.PutUint64(b[16:], uint64(len(payload)))
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// stateHeader is the fixed-size head of a state file.
type stateHeader struct {
	savedAt time.Time
	length  uint64
}

// parseStateHeader validates the first stateHeaderLen bytes, before anything
// sized by the length field is allocated.
func parseStateHeader(h []byte, maxPayload int) (stateHeader, error) {
	if len(h) < stateHeaderLen {
		return stateHeader{}, fmt.Errorf("truncated header: %d of %d bytes", len(h), stateHeaderLen)
	}
	if !bytes.Equal(h[:4], []byte(stateMagic)) {
		return stateHeader{}, fmt.Errorf("bad magic %q, want %q", h[:4], stateMagic)
	}
	if v := binary.BigEndian.Uint16(h[4:]); v != stateVersion {
		return stateHeader{}, fmt.Errorf("unsupported format version %d, want %d", v, stateVersion)
	}
	if fl := binary.BigEndian.Uint16(h[6:]); fl != 0 {
		return stateHeader{}, fmt.Errorf("unsupported flags %#04x", fl)
	}
	hdr := stateHeader{
		savedAt: time.Unix(0, int64(binary.BigEndian.Uint64(h[8:]))),
		length:  binary.BigEndian.Uint64(h[16:]),
	}
	if hdr.length > uint64(maxPayload) {
		return stateHeader{}, fmt.Errorf("payload length %d exceeds the limit of %d bytes", hdr.length, maxPayload)
	}
	return hdr, nil
}

// decodeState checks a whole state file image and returns its payload (a
// sub-slice of b) and saved-at time.
func decodeState(b []byte, maxPayload int) ([]byte, time.Time, error) {
	hdr, err := parseStateHeader(b, maxPayload)
	if err != nil {
		return nil, time.Time{}, err
	}
	// length <= maxPayload, so this cannot overflow.
	want := uint64(stateHeaderLen) + hdr.length + stateTrailerLen
	if uint64(len(b)) != want {
		return nil, time.Time{}, fmt.Errorf("length mismatch: header says %d payload bytes, so %d bytes in all, file has %d",
			hdr.length, want, len(b))
	}
	end := len(b) - stateTrailerLen
	got, sum := binary.BigEndian.Uint32(b[end:]), crc32.Checksum(b[:end], crc32.MakeTable(crc32.Castagnoli))
	if got != sum {
		return nil, time.Time{}, fmt.Errorf("checksum mismatch: stored %#08x, computed %#08x", got, sum)
	}
	return b[stateHeaderLen:end], hdr.savedAt, nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// CheckWritable reports, before any Save, whether Save can write the file: its directory exists and takes a new
// file, and the path is not something other than a regular file.
func (f *File) CheckWritable() error {
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(f.path); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("state file %s is not a regular file", f.path)
	}
	tmp, err := os.CreateTemp(dir, stateTempPrefix(base)+"check-*")
	if err != nil {
		return fmt.Errorf("state file %s cannot be written: %w", f.path, err)
	}
	name := tmp.Name()
	return errors.Join(tmp.Close(), os.Remove(name))
}

// Save writes payload atomically: temp file in the same directory (mode 0600),
// write, fsync, rename over path, fsync dir. A crash at any point leaves
// either the previous good file or the new one, never a torn file at path.
//
// The directory is not created: a missing one is a configuration error. Temp
// files left behind by a crash are removed once older than stateStaleTempAge;
// failing to remove them does not fail the Save.
func (f *File) Save(payload []byte) error {
	if len(payload) > f.maxPayload {
		return fmt.Errorf("save forecast state: payload of %d bytes exceeds the limit of %d", len(payload), f.maxPayload)
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	f.removeStaleTemps(dir, base)

	tmp, err := os.CreateTemp(dir, stateTempPrefix(base)+"*")
	if err != nil {
		return fmt.Errorf("save forecast state: %w", err)
	}
	tmpName := tmp.Name()
	// Until the rename, any failure must leave no trace but the previous file.
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(tmpName)
		return fmt.Errorf("save forecast state to %s: %w", f.path, err)
	}
	if _, err := tmp.Write(encodeState(payload, f.clock.Now().Wall)); err != nil {
		return fail(err)
	}
	if err := f.fsync(tmp); err != nil {
		return fail(fmt.Errorf("fsync %s: %w", tmpName, err))
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("save forecast state to %s: close %s: %w", f.path, tmpName, err)
	}
	if err := os.Rename(tmpName, f.path); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("save forecast state: %w", err)
	}
	// Without this the rename itself may be lost on power failure, bringing
	// back the previous state after we told the caller the new one is safe.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save forecast state: open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := f.fsync(d); err != nil {
		return fmt.Errorf("save forecast state: fsync directory %s: %w", dir, err)
	}
	return nil
}

// stateTempPrefix names temp files after the state file, hidden, so that an
// operator knows where they come from and globs on the real name skip them.
func stateTempPrefix(base string) string { return "." + base + ".tmp-" }

func (f *File) removeStaleTemps(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := stateTempPrefix(base)
	cutoff := f.clock.Now().Wall.Add(-stateStaleTempAge)
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Load returns the payload if the file exists and is valid.
// errors.Is(err, fs.ErrNotExist) when there is no file (not a fault). On any
// other problem with the content (bad magic, unsupported version or flags,
// length mismatch, checksum mismatch, truncated, saved-at more than
// stateMaxSkew in the future) it renames the file aside to
// `<path>.corrupt-<unix seconds>` (replacing an older one of the same second)
// and returns an error wrapping ErrCorrupt saying what was wrong and where
// it was moved. Errors opening or reading the file (permissions, I/O) are
// returned as they are and leave the file in place.
func (f *File) Load() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	file, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("load forecast state: %w", err)
	}
	defer file.Close()

	head := make([]byte, stateHeaderLen)
	n, err := io.ReadFull(file, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("load forecast state from %s: %w", f.path, err)
	}
	hdr, err := parseStateHeader(head[:n], f.maxPayload)
	if err != nil {
		return nil, f.moveAside(err)
	}
	want := int64(stateHeaderLen) + int64(hdr.length) + stateTrailerLen
	// A torn length field must not make us allocate up to maxPayload for a
	// file that is much shorter.
	if st, err := file.Stat(); err == nil && st.Mode().IsRegular() && st.Size() != want {
		return nil, f.moveAside(fmt.Errorf("length mismatch: header says %d payload bytes, so %d bytes in all, file has %d",
			hdr.length, want, st.Size()))
	}
	// Read one byte more than expected to tell a too-long file from a good one
	// even if the file changed since Stat.
	buf := make([]byte, want+1)
	copy(buf, head)
	m, err := io.ReadFull(file, buf[stateHeaderLen:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("load forecast state from %s: %w", f.path, err)
	}
	payload, savedAt, err := decodeState(buf[:stateHeaderLen+m], f.maxPayload)
	if err != nil {
		return nil, f.moveAside(err)
	}
	if now := f.clock.Now().Wall; savedAt.After(now.Add(stateMaxSkew)) {
		return nil, f.moveAside(fmt.Errorf("saved at %s, %s in the future", savedAt.UTC().Format(time.RFC3339), savedAt.Sub(now).Round(time.Second)))
	}
	return payload, nil
}

// moveAside keeps a bad file for inspection instead of deleting it, and out of
// the way so the next Save and the next start are not blocked by it.
func (f *File) moveAside(problem error) error {
	aside := fmt.Sprintf("%s.corrupt-%d", f.path, f.clock.Now().Wall.Unix())
	if err := os.Rename(f.path, aside); err != nil {
		return fmt.Errorf("%w %s: %v; moving it aside failed: %w", ErrCorrupt, f.path, problem, err)
	}
	return fmt.Errorf("%w %s: %v; moved to %s", ErrCorrupt, f.path, problem, aside)
}
