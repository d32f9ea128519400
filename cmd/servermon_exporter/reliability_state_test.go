package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
		var stderr syncBuffer
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
		payload, err := newStateFile(path, time.Now).Load()
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
	f := newStateFile(path, time.Now)
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

// resum recomputes the CRC of a state file image whose header was edited.
func resum(b []byte) []byte {
	end := len(b) - stateTrailerLen
	binary.BigEndian.PutUint32(b[end:], crc32.Checksum(b[:end], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestStateFaultsAtStartup starts the exporter on every kind of bad state file. Each must leave the exporter
// serving with fresh forecasts, the fault logged and counted in servermon_forecast_state_load_errors_total, and
// the next save working.
func TestStateFaultsAtStartup(t *testing.T) {
	// A genuine state of this configuration, to derive the faulty ones from, saved an hour before the exporters
	// under test start (newTestExporter's clock).
	src := newTestExporter(t)
	src.run(t, 80)
	payload, err := src.forecasts.marshalState()
	if err != nil {
		t.Fatal(err)
	}
	savedAt := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)
	good := encodeState(payload, savedAt)
	otherStep := bytes.Clone(payload)
	binary.LittleEndian.PutUint64(otherStep[len(payloadMagic)+2:], uint64(20*time.Second))
	payloadVersion2 := bytes.Clone(payload)
	payloadVersion2[4] = 2

	tests := []struct {
		name    string
		content []byte
		setup   func(t *testing.T, path string) // instead of content
		logged  string
		canSave bool
	}{
		{name: "truncated", content: good[:len(good)/2], logged: "length mismatch", canSave: true},
		{name: "bit flipped", content: func() []byte { b := bytes.Clone(good); b[len(b)/2] ^= 4; return b }(), logged: "checksum mismatch", canSave: true},
		{name: "zero length", content: []byte{}, logged: "truncated header", canSave: true},
		{name: "other file format version", content: resum(func() []byte { b := bytes.Clone(good); b[5] = 9; return b }()), logged: "unsupported format version 9", canSave: true},
		{name: "other payload version", content: encodeState(payloadVersion2, savedAt), logged: "version 2, want 1", canSave: true},
		{name: "other forecast step", content: encodeState(otherStep, savedAt), logged: "forecast step", canSave: true},
		{name: "other forecast series version", content: encodeState(withSeriesVersion(t, payload, 7), savedAt), logged: "version 7, want 1", canSave: true},
		{name: "from the future", content: encodeState(payload, savedAt.Add(2*time.Hour)), logged: "in the future", canSave: true},
		{name: "not a state file", content: []byte("# HELP this is a metrics page, not a state file\n"), logged: "bad magic", canSave: true},
		{name: "path is a directory", setup: func(t *testing.T, path string) {
			if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, logged: "is a directory"},
		{name: "directory unreadable", setup: nil, logged: "not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state")
			switch {
			case tc.name == "directory unreadable":
				// chmod does not stop root; a regular file where the directory should be stops everyone.
				if err := os.WriteFile(filepath.Join(dir, "notadir"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(dir, "notadir", "state")
			case tc.setup != nil:
				tc.setup(t, path)
			default:
				if err := os.WriteFile(path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			logs := &syncBuffer{}
			e := newTestExporterLogging(t, logs, "--forecast.state-file="+path)
			e.loadState()
			e.run(t, 3)
			resp, body := e.get(t, "/metrics")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := string(body)
			if !strings.Contains(got, "servermon_forecast_state_load_errors_total 1\n") {
				t.Errorf("load error not counted:\n%s", grep(got, "state_load"))
			}
			if !strings.Contains(got, `servermon_collector_success{collector="cpu"} 1`) {
				t.Errorf("collectors hurt by the state fault:\n%s", grep(got, "collector_success"))
			}
			if h, _ := metricValue(got, `servermon_forecast_history_seconds{target="cpu_usage_ratio"}`); h > 60 {
				t.Errorf("%v s of history survived a bad state file", h)
			}
			if !strings.Contains(logs.String(), "starting fresh") || !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("log does not say what is wrong (%q):\n%s", tc.logged, logs)
			}
			e.saveState()
			e.run(t, 1) // bodies are rendered once per sample
			_, body = e.get(t, "/metrics")
			saveErrors := strings.Contains(string(body), "servermon_forecast_state_save_errors_total 1\n")
			if tc.canSave {
				if saveErrors {
					t.Errorf("save after a bad state file failed:\n%s", logs)
				}
				if _, err := newStateFile(path, e.clock.Now).Load(); err != nil {
					t.Errorf("the new state does not load: %v", err)
				}
			} else if !saveErrors {
				t.Errorf("save into an impossible location not counted:\n%s", grep(string(body), "save_errors"))
			}
		})
	}
}

// TestStateDiskFull saves the state on a file system that runs out of space: a 1 MiB tmpfs mounted in a private
// mount namespace of a child process (its mounts vanish with it, and a user namespace makes this work without
// root). Where namespaces are not allowed it falls back to an fsync that fails with ENOSPC, which is also where a
// full disk shows up with delayed allocation. Either way the save fails with ENOSPC, is logged and counted, leaves
// the previous state and no temporary file, and the next save after space is freed works.
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
		diskFull(t, dir, func(e *exporter) (restore func()) {
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
	diskFull(t, mnt, func(e *exporter) func() {
		e.state.fsync = func(*os.File) error { return &os.PathError{Op: "fsync", Path: "state", Err: syscall.ENOSPC} }
		return func() { e.state.fsync = (*os.File).Sync }
	})
}

// diskFull runs the disk-full scenario in dir; fill makes the next save fail and returns what frees space again.
func diskFull(t *testing.T, dir string, fill func(*exporter) (restore func())) {
	path := filepath.Join(dir, "state")
	logs := &syncBuffer{}
	e := newTestExporterLogging(t, logs, "--forecast.state-file="+path)
	e.run(t, 10)
	e.saveState()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("first save: %v\n%s", err, logs)
	}
	restore := fill(e.exporter)
	e.run(t, 10)
	e.saveState()
	e.run(t, 1) // bodies are rendered once per sample
	if !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("ENOSPC not logged:\n%s", logs)
	}
	_, body := e.get(t, "/metrics")
	if !strings.Contains(string(body), "servermon_forecast_state_save_errors_total 1\n") {
		t.Errorf("failed save not counted:\n%s", grep(string(body), "save_errors"))
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
	e.saveState()
	e.run(t, 1)
	_, body = e.get(t, "/metrics")
	if !strings.Contains(string(body), "servermon_forecast_state_save_errors_total 1\n") {
		t.Errorf("save after freeing space failed:\n%s", logs)
	}
	if b, err := os.ReadFile(path); err != nil || bytes.Equal(b, before) {
		t.Errorf("state not updated once space was freed (%v)", err)
	}
	if _, err := newStateFile(path, e.clock.Now).Load(); err != nil {
		t.Errorf("state after the disk-full episode: %v", err)
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
	f := newStateFile(path, time.Now)
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

// withSeriesVersion returns payload with the format version of its first forecast series set to v, and that
// series' checksum (CRC-32 IEEE over all but its last 4 bytes) fixed, so only the version is wrong.
func withSeriesVersion(t *testing.T, payload []byte, v uint16) []byte {
	t.Helper()
	p := bytes.Clone(payload)
	r := stateReader{b: p[len(payloadMagic)+2+8+4:]}
	r.field() // name
	r.field() // device
	series := r.field()
	if r.err != nil || len(series) < 10 {
		t.Fatalf("payload without a series: %v", r.err)
	}
	binary.LittleEndian.PutUint16(series[4:], v)
	binary.LittleEndian.PutUint32(series[len(series)-4:], crc32.ChecksumIEEE(series[:len(series)-4]))
	return p
}

// metricValue returns the value of one series (`name{labels}`) in an exposition.
func metricValue(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func slogText(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// newTestExporterLogging is newTestExporter with its log going to logs.
func newTestExporterLogging(t *testing.T, logs io.Writer, extra ...string) *testExporter {
	t.Helper()
	e := newTestExporter(t, extra...)
	logger := slogText(logs)
	e.logger = logger
	e.forecasts.logger = logger
	return e
}

// TestStateWithAnOddDeviceNameStillLoads: the disk collector takes device names as the kernel spells them, but the
// state decoder accepts only printable ASCII ones. A single odd name (non-ASCII, a quote) must cost that device's
// history, not make every later start discard the whole state.
func TestStateWithAnOddDeviceNameStillLoads(t *testing.T) {
	src := fuzzForecaster(t)
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, tg := range [][2]string{{"cpu_usage_ratio", ""}, {"disk_utilization_ratio", "s\u00e9"}, {"disk_utilization_ratio", `a"b`}, {"disk_utilization_ratio", "vda"}} {
		x, err := src.target(tg[0], tg[1])
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			x.series.Push(start.Add(time.Duration(i)*10*time.Minute), 0.5)
		}
	}
	payload, err := src.marshalState()
	if err != nil {
		t.Fatal(err)
	}
	dst := fuzzForecaster(t)
	if err := dst.unmarshalState(payload); err != nil {
		t.Fatalf("state with odd device names rejected whole: %v", err)
	}
	if n := dst.seriesCount(); n != 2 {
		t.Errorf("%d series restored, want cpu and vda", n)
	}
}
