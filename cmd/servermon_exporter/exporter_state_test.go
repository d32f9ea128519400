package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/syncbuf"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/statefile"
)

// stateImage is a state file holding payload, saved at savedAt, as a file of the current format.
func stateImage(t *testing.T, payload []byte, savedAt time.Time) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state")
	if err := statefile.New(path, clock.NewFake(savedAt)).Save(payload); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resum recomputes the CRC-32C that ends a state file image whose header was edited.
func resum(b []byte) []byte {
	end := len(b) - 4
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
	payload, err := src.forecasts.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	savedAt := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)
	good := stateImage(t, payload, savedAt)
	// The payload: magic (4 bytes), version (2), step (8).
	otherStep := bytes.Clone(payload)
	binary.LittleEndian.PutUint64(otherStep[6:], uint64(20*time.Second))
	payloadVersion9 := bytes.Clone(payload)
	payloadVersion9[4] = 9

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
		{name: "other payload version", content: stateImage(t, payloadVersion9, savedAt), logged: "version 9, want", canSave: true},
		{name: "other forecast step", content: stateImage(t, otherStep, savedAt), logged: "forecast step", canSave: true},
		{name: "from the future", content: stateImage(t, payload, savedAt.Add(2*time.Hour)), logged: "in the future", canSave: true},
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
			logs := &syncbuf.Buffer{}
			e := newTestExporterLogging(t, logs, "--forecast.state-file="+path)
			e.loadState()
			e.run(t, 3)
			got := string(e.getOK(t, "/metrics"))
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
			got = string(e.getOK(t, "/metrics"))
			saveErrors := strings.Contains(got, "servermon_forecast_state_save_errors_total 1\n")
			if tc.canSave {
				if saveErrors {
					t.Errorf("save after a bad state file failed:\n%s", logs)
				}
				if _, err := statefile.New(path, e.clock).Load(); err != nil {
					t.Errorf("the new state does not load: %v", err)
				}
			} else if !saveErrors {
				t.Errorf("save into an impossible location not counted:\n%s", grep(got, "save_errors"))
			}
		})
	}
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
	return newTestExporterWith(t, slogText(logs), extra...)
}
