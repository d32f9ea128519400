package collector

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
)

// fakeProc is a writable copy of a fixture /proc tree.
type fakeProc struct {
	t   *testing.T
	dir string
}

func newFakeProc(t *testing.T, fixture string) *fakeProc {
	t.Helper()
	p := &fakeProc{t: t, dir: t.TempDir()}
	p.load(fixture)
	return p
}

// load replaces the tree's files with those of testdata/proc/<fixture>.
func (p *fakeProc) load(fixture string) {
	p.t.Helper()
	src := filepath.Join("..", "testdata", "proc", fixture)
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(p.dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakeProc) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakeProc) remove(name string) {
	p.t.Helper()
	if err := os.RemoveAll(filepath.Join(p.dir, name)); err != nil {
		p.t.Fatal(err)
	}
}

// allSources returns every source reading dir, per-CPU on and the default disk and filesystem exclusions.
func allSources(t *testing.T, dir string) []Source {
	t.Helper()
	return sourcesNamed(t, dir)
}

// sourcesNamed returns the sources of the named collectors reading dir (all of them when none is named), per-CPU on
// and the default disk and filesystem exclusions.
func sourcesNamed(t *testing.T, dir string, names ...string) []Source {
	t.Helper()
	fs, err := NewProcFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{CPU: CPUConfig{PerCPU: true}, Disk: DiskConfig{Exclude: mustCompile(DefaultDiskExclude)},
		Filesystem: FilesystemConfig{MountPointsExclude: mustCompile(DefaultMountPointsExclude), FSTypesExclude: mustCompile(DefaultFSTypesExclude)}}
	return NewSources(fs, cfg, func(name string) bool { return len(names) == 0 || slices.Contains(names, name) })
}

type testSampler struct {
	*Sampler
	clock *clock.Fake
	logs  *bytes.Buffer
}

func newTestSampler(t *testing.T, sources []Source, interval, window time.Duration) *testSampler {
	t.Helper()
	return newConfiguredTestSampler(t, sources, SamplerConfig{Interval: interval, Window: window, Timeout: interval})
}

// newConfiguredTestSampler is newTestSampler with the rest of cfg as given.
func newConfiguredTestSampler(t *testing.T, sources []Source, cfg SamplerConfig) *testSampler {
	t.Helper()
	fake := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	logs := &bytes.Buffer{}
	if cfg.Clock == nil {
		cfg.Clock = fake
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s, err := NewSampler(cfg, sources)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &testSampler{Sampler: s, clock: fake, logs: logs}
}

// metrics renders the exposition and returns its samples keyed by `name{labels}`.
func (s *testSampler) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	body := s.AppendMetrics(nil)
	return parseSamples(t, body)
}

func parseSamples(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q: %v", line, err)
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("duplicate series %q", line[:i])
		}
		out[line[:i]] = v
	}
	return out
}

func mustCompile(s string) *regexp.Regexp { return regexp.MustCompile(s) }
