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
	"github.com/servermon/servermon_exporter/internal/fakeproc"
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
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		return fakeproc.WriteFile(p.dir, rel, b)
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// write replaces the file name with content, atomically.
func (p *fakeProc) write(name, content string) {
	p.t.Helper()
	if err := fakeproc.WriteFile(p.dir, name, []byte(content)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakeProc) remove(name string) {
	p.t.Helper()
	if err := fakeproc.Remove(p.dir, name); err != nil {
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

// staticProc writes the benchmarks' tree of fakeproc.NewStatic into dir: cpus CPUs, disks NVMe disks with two
// partitions each, eight loop devices.
func staticProc(tb testing.TB, dir string, cpus, disks int) {
	tb.Helper()
	if _, err := fakeproc.NewStatic(dir, cpus, disks); err != nil {
		tb.Fatal(err)
	}
	writeProcFile(tb, dir, "1/mountinfo", []byte(synthMountinfo))
}

// synthMountinfo is a server's mount table in the kernel's spelling: the pseudo-filesystems the default exclusions
// drop, and six mounts at directories Linux machines have, so that their statfs is real.
const synthMountinfo = `21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
22 26 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
23 26 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=12316968k,nr_inodes=3079242,mode=755,inode64
24 23 0:22 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
25 26 0:23 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=2468404k,mode=755,inode64
26 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
27 21 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
28 26 259:3 / /usr rw,relatime shared:30 - ext4 /dev/nvme0n1p3 rw
29 26 259:4 / /var rw,relatime shared:31 - xfs /dev/nvme1n1p1 rw,attr2,inode64,logbufs=8,logbsize=32k,noquota
30 26 0:35 / /tmp rw,nosuid,nodev shared:32 - tmpfs tmpfs rw,size=12342016k,inode64
31 26 259:5 / /etc ro,relatime shared:33 - ext4 /dev/nvme2n1p1 rw
`

// writeProcFile writes content as the file name under dir, atomically.
func writeProcFile(tb testing.TB, dir, name string, content []byte) {
	tb.Helper()
	if err := fakeproc.WriteFile(dir, name, content); err != nil {
		tb.Fatal(err)
	}
}
