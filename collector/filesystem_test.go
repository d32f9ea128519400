package collector

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// fsTest is a sampler of the filesystem source alone over a fake /proc whose 1/mountinfo the test writes, with a
// fake statfs and the default exclusions.
type fsTest struct {
	*testSampler
	proc   *fakeProc
	statfs *fakeproc.Statfs
	src    *filesystemSource
}

func newFSTest(t *testing.T, mountinfo string, tweak func(*FilesystemConfig)) *fsTest {
	t.Helper()
	p := newFakeProc(t, "t0")
	p.write("1/mountinfo", mountinfo)
	f := fakeproc.NewStatfs()
	cfg := FilesystemConfig{MountPointsExclude: mustCompile(DefaultMountPointsExclude), FSTypesExclude: mustCompile(DefaultFSTypesExclude),
		StatfsTimeout: 50 * time.Millisecond, Statfs: f.Call}
	if tweak != nil {
		tweak(&cfg)
	}
	proc, err := NewProcFS(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	src := NewFilesystem(proc, cfg)
	s := newConfiguredTestSampler(t, []Source{src}, SamplerConfig{Interval: time.Second, Window: time.Minute, Timeout: 500 * time.Millisecond})
	cfgLogger := s.Sampler.logger
	src.(*filesystemSource).logger = cfgLogger // the mounts' faults go to the test's log too
	return &fsTest{testSampler: s, proc: p, statfs: f, src: src.(*filesystemSource)}
}

func (ft *fsTest) sample() map[string]float64 {
	ft.clock.Advance(time.Second)
	ft.Sample()
	return ft.metrics(ft.proc.t)
}

// fsSeries is the series name of a filesystem family for a mount.
func fsSeries(family, device, mountpoint, fstype string) string {
	return family + `{device="` + device + `",mountpoint="` + mountpoint + `",fstype="` + fstype + `"}`
}

const testMountinfo = `1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
2 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
3 1 254:16 / /data ro,relatime shared:20 - xfs /dev/vdb rw
4 1 0:30 /@home /mnt/my\040disk rw - btrfs /dev/vdc rw,space_cache
5 1 254:48 / /srv rw - ext4 /dev/vdd rw
6 5 0:32 / /srv rw - tmpfs tmpfs rw,size=1024k
7 1 254:64 / /mnt/bad\377name rw - ext4 /dev/vde rw
8 1 0:34 / /dev/shm rw - tmpfs tmpfs rw
9 1 254:80 / /ro-sb rw - ext4 /dev/vdf ro
10 1 254:96 / /flag rw - ext4 /dev/vdg rw
11 1 0:37 / /empty rw - tmpfs none rw
12 1 254:112 / /err rw - ext4 /dev/vdh rw
13 1 254:128 / /quote"\134n rw - ext4 /dev/vdi rw
`

// filesystemSeries returns the filesystem families' samples of got.
func filesystemSeries(got map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range got {
		if strings.HasPrefix(k, "servermon_filesystem_") {
			out[k] = v
		}
	}
	return out
}

// expectExactly checks that got holds exactly the series of want, with their values.
func expectExactly(t *testing.T, got, want map[string]float64) {
	t.Helper()
	expectSamples(t, got, want)
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %v", k, v)
		}
	}
}

// mountSeries returns the six series of a mount that statfs answered: size, avail, usage (when used + avail > 0),
// inodes (when files > 0), readonly and device_error.
func mountSeries(device, mountpoint, fstype string, size, avail, usage, inodes float64, hasUsage, hasInodes bool, ro float64) map[string]float64 {
	m := map[string]float64{
		fsSeries("servermon_filesystem_size_bytes", device, mountpoint, fstype):   size,
		fsSeries("servermon_filesystem_avail_bytes", device, mountpoint, fstype):  avail,
		fsSeries("servermon_filesystem_readonly", device, mountpoint, fstype):     ro,
		fsSeries("servermon_filesystem_device_error", device, mountpoint, fstype): 0,
	}
	if hasUsage {
		m[fsSeries("servermon_filesystem_usage_ratio", device, mountpoint, fstype)] = usage
	}
	if hasInodes {
		m[fsSeries("servermon_filesystem_inodes_usage_ratio", device, mountpoint, fstype)] = inodes
	}
	return m
}

func merge(ms ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestFilesystemValues checks every series of a mount table with the cases df and mountinfo have: reserved
// blocks, read-only mounts (the mount's option, the superblock's; not ST_RDONLY, which a read-only bind in the
// exporter's namespace sets), no inode count, an empty filesystem, a mount over another, excluded mounts, escaped
// and invalid mount points, and a statfs that fails.
func TestFilesystemValues(t *testing.T) {
	ft := newFSTest(t, testMountinfo, nil)
	f := ft.statfs
	// / reserves 400 of its 1000 blocks for root: 500 free, 100 available. df: Use% = 500/(500+100) = 84 %
	// (83.3 rounded up), where 1 − avail/size would say 90 %.
	f.SetBlocks("/", 1000, 500, 100, 1000, 750)
	f.SetBlocks("/data", 2000, 2000, 2000, 10, 10)
	f.SetBlocks("/mnt/my disk", 100, 25, 25, 0, 0)   // btrfs: no inode count
	f.SetBlocks("/srv", 256, 192, 192, 100, 99)      // the tmpfs mounted over the ext4
	f.SetBlocks("/mnt/bad\xffname", 10, 5, 5, 10, 5) // statfs gets the kernel's path, the label a valid one
	f.SetBlocks("/ro-sb", 10, 10, 10, 10, 10)
	f.SetBlocks("/flag", 10, 10, 10, 10, 10)
	f.SetReadOnly("/flag")
	f.SetBlocks("/empty", 0, 0, 0, 0, 0)
	f.Fail("/err", syscall.EACCES)
	f.SetBlocks(`/quote"\n`, 10, 0, 0, 10, 0)
	body := func() []byte { ft.clock.Advance(time.Second); ft.Sample(); return ft.AppendMetrics(nil) }()
	got := parseSamples(t, body)

	expectExactly(t, filesystemSeries(got), merge(
		mountSeries("/dev/vda", "/", "ext4", 4096000, 409600, 500.0/600, 0.25, true, true, 0),
		mountSeries("/dev/vdb", "/data", "xfs", 8192000, 8192000, 0, 0, true, true, 1), // the mount's ro option
		mountSeries("/dev/vdc", "/mnt/my disk", "btrfs", 409600, 102400, 0.75, 0, true, false, 0),
		mountSeries("tmpfs", "/srv", "tmpfs", 1048576, 786432, 0.25, 0.01, true, true, 0),
		mountSeries("/dev/vde", "/mnt/bad\uFFFDname", "ext4", 40960, 20480, 0.5, 0.5, true, true, 0),
		mountSeries("/dev/vdf", "/ro-sb", "ext4", 40960, 40960, 0, 0, true, true, 1), // the superblock's ro
		mountSeries("/dev/vdg", "/flag", "ext4", 40960, 40960, 0, 0, true, true, 0),  // ST_RDONLY alone: the namespace's
		mountSeries("none", "/empty", "tmpfs", 0, 0, 0, 0, false, false, 0),
		mountSeries("/dev/vdi", `/quote\"\\n`, "ext4", 40960, 0, 1, 1, true, true, 0),
		map[string]float64{
			fsSeries("servermon_filesystem_readonly", "/dev/vdh", "/err", "ext4"):     0,
			fsSeries("servermon_filesystem_device_error", "/dev/vdh", "/err", "ext4"): 1,
			"servermon_filesystem_mounts_refused":                                     0,
		}))
	expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="filesystem"}`: 1})
	if n := strings.Count(ft.logs.String(), "filesystem not read"); n != 1 || !strings.Contains(ft.logs.String(), "permission denied") {
		t.Errorf("the failing statfs logged %d times, want once with its error:\n%s", n, ft.logs)
	}

	// The exposition stays valid, the odd mount points included: Prometheus' parser takes it, every label is
	// UTF-8, and the escaped mount point comes back as the kernel's.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	points := map[string]bool{}
	for _, m := range families["servermon_filesystem_size_bytes"].GetMetric() {
		for _, l := range m.GetLabel() {
			if !utf8.ValidString(l.GetValue()) || !model.LabelValue(l.GetValue()).IsValid() {
				t.Errorf("label %s=%q is not valid UTF-8", l.GetName(), l.GetValue())
			}
			if l.GetName() == "mountpoint" {
				points[l.GetValue()] = true
			}
		}
	}
	for _, p := range []string{"/mnt/my disk", "/mnt/bad\uFFFDname", `/quote"\n`} {
		if !points[p] {
			t.Errorf("mount point %q not in the exposition: %v", p, points)
		}
	}

	// A second read logs nothing new, and the failing mount stays reported.
	got = ft.sample()
	expectSamples(t, got, map[string]float64{fsSeries("servermon_filesystem_device_error", "/dev/vdh", "/err", "ext4"): 1})
	if n := strings.Count(ft.logs.String(), "filesystem not read"); n != 1 {
		t.Errorf("the failing statfs logged %d times over two reads, want once:\n%s", n, ft.logs)
	}
	f.SetBlocks("/err", 10, 5, 5, 10, 5)
	f.Fail("/err", nil)
	got = ft.sample()
	expectSamples(t, got, map[string]float64{fsSeries("servermon_filesystem_device_error", "/dev/vdh", "/err", "ext4"): 0,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vdh", "/err", "ext4"): 0.5})
	if !strings.Contains(ft.logs.String(), "filesystem answers again") {
		t.Errorf("recovery not logged:\n%s", ft.logs)
	}
}

// TestFilesystemHungMountBlocksNothing hangs the statfs of one mount, as an NFS mount whose server is gone does:
// the collector still succeeds in every read, within the collector timeout, the other mounts keep reporting fresh
// values, the hung one is reported (device_error 1) and never called again while its statfs is outstanding, and
// it recovers when that statfs returns.
func TestFilesystemHungMountBlocksNothing(t *testing.T) {
	ft := newFSTest(t, "1 0 254:0 / / rw - ext4 /dev/vda rw\n2 1 0:50 / /nfs rw - nfs4 server:/export rw\n", nil)
	f := ft.statfs
	f.SetBlocks("/nfs", 100, 50, 50, 100, 50)
	release := f.Block("/nfs")
	defer release()
	rootUsage := fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4")
	nfsError := fsSeries("servermon_filesystem_device_error", "server:/export", "/nfs", "nfs4")
	nfsUsage := fsSeries("servermon_filesystem_usage_ratio", "server:/export", "/nfs", "nfs4")
	success := `servermon_collector_success{collector="filesystem"}`
	for i := range 4 {
		free := uint64(900 - 100*i) // / fills up while /nfs hangs
		f.SetBlocks("/", 1000, free, free, 10, 5)
		start := time.Now()
		got := ft.sample()
		if d := time.Since(start); d >= 500*time.Millisecond {
			t.Errorf("read %d took %v with a hung mount, the collector timeout is 500ms", i, d)
		}
		expectSamples(t, got, map[string]float64{success: 1, nfsError: 1, rootUsage: 1 - float64(free)/1000})
		expectAbsent(t, got, nfsUsage)
		if calls, _, most := f.Count("/nfs"); calls != 1 || most != 1 {
			t.Fatalf("read %d: %d statfs calls of the hung mount, at most %d at once; want the one outstanding", i, calls, most)
		}
	}
	if n := strings.Count(ft.logs.String(), "filesystem not read"); n != 1 || !strings.Contains(ft.logs.String(), "not called again") {
		t.Errorf("the hung mount logged %d times, want once:\n%s", n, ft.logs)
	}

	release()
	f.WaitIdle(t, "/nfs")
	got := ft.sample()
	expectSamples(t, got, map[string]float64{success: 1, nfsError: 0, nfsUsage: 0.5})
	if calls, _, most := f.Count("/nfs"); calls != 2 || most != 1 {
		t.Errorf("after recovery: %d statfs calls of the mount, at most %d at once; want 2, one at a time", calls, most)
	}
	if !strings.Contains(ft.logs.String(), "filesystem answers again") {
		t.Errorf("recovery not logged:\n%s", ft.logs)
	}
}

// TestFilesystemLocalMountsInline checks which mounts get a goroutine of their own: the network and FUSE ones and
// any type not known to be local, not the disk and memory filesystems, whose statfs is called inline.
func TestFilesystemLocalMountsInline(t *testing.T) {
	ft := newFSTest(t, "1 0 254:0 / / rw - ext4 /dev/vda rw\n2 1 254:1 / /data rw - xfs /dev/vdb rw\n"+
		"3 1 0:40 / /run/user rw - tmpfs tmpfs rw\n4 1 0:50 / /nfs rw - nfs4 server:/export rw\n"+
		"5 1 0:51 / /sshfs rw - fuse.sshfs host:/ rw\n6 1 0:52 / /new rw - newfs none rw\n", nil)
	for _, path := range []string{"/", "/data", "/run/user", "/nfs", "/sshfs", "/new"} {
		ft.statfs.SetBlocks(path, 100, 50, 50, 10, 5)
	}
	ft.sample()
	wantGoroutine := map[string]bool{"/": false, "/data": false, "/run/user": false, "/nfs": true, "/sshfs": true, "/new": true}
	for path, want := range wantGoroutine {
		m := ft.src.mounts[path]
		if m == nil {
			t.Errorf("mount %s not reported", path)
			continue
		}
		if got := m.req != nil; got != want {
			t.Errorf("mount %s (local %v) has a goroutine: %v, want %v", path, m.local, got, want)
		}
		if calls, _, _ := ft.statfs.Count(path); calls != 1 {
			t.Errorf("mount %s: %d statfs calls, want 1", path, calls)
		}
	}
}

// TestFilesystemSlowMountReportsLateAnswers makes one mount's statfs answer after the timeout, but before the next
// read: each read takes the previous call's late answer (values one read old), so the mount is reported rather
// than failing forever.
func TestFilesystemSlowMountReportsLateAnswers(t *testing.T) {
	ft := newFSTest(t, "1 0 0:50 / /slow rw - nfs4 server:/export rw\n", nil)
	f := ft.statfs
	f.SetBlocks("/slow", 100, 80, 80, 0, 0)
	release := f.Block("/slow")
	errSeries := fsSeries("servermon_filesystem_device_error", "server:/export", "/slow", "nfs4")
	usage := fsSeries("servermon_filesystem_usage_ratio", "server:/export", "/slow", "nfs4")
	got := ft.sample() // times out
	expectSamples(t, got, map[string]float64{errSeries: 1})
	release()
	f.WaitIdle(t, "/slow")
	release = f.Block("/slow") // the next call is slow again
	defer func() { release() }()
	f.SetBlocks("/slow", 100, 60, 60, 0, 0) // what the next, slow call would see
	got = ft.sample()
	expectSamples(t, got, map[string]float64{errSeries: 0, usage: 0.2})
	release()
	f.WaitIdle(t, "/slow")
	got = ft.sample()
	expectSamples(t, got, map[string]float64{errSeries: 0, usage: 0.4})
}

// TestFilesystemMountsComeAndGo changes the mount table and the filesystems between reads: a mount that appears is
// reported at the next read, one that goes is removed at once (not left to expire), a resize shows at the next
// read, and a mount point that gets another filesystem is reported under its new labels only.
func TestFilesystemMountsComeAndGo(t *testing.T) {
	ft := newFSTest(t, "1 0 254:0 / / rw - ext4 /dev/vda rw\n2 1 254:16 / /data rw - xfs /dev/vdb rw\n", nil)
	f := ft.statfs
	f.SetBlocks("/", 1000, 500, 500, 10, 5)
	f.SetBlocks("/data", 1000, 900, 900, 10, 5)
	f.SetBlocks("/new", 100, 0, 0, 10, 5)
	got := ft.sample()
	expectSamples(t, got, map[string]float64{
		fsSeries("servermon_filesystem_size_bytes", "/dev/vda", "/", "ext4"):     4096000,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vdb", "/data", "xfs"): 0.1,
	})

	ft.proc.write("1/mountinfo", "1 0 254:0 / / rw - ext4 /dev/vda rw\n3 1 254:32 / /new rw - ext4 /dev/vdc rw\n")
	f.SetBlocks("/", 2000, 1500, 1500, 10, 5) // grown to twice the size, same space used
	got = ft.sample()
	expectSamples(t, got, map[string]float64{
		fsSeries("servermon_filesystem_size_bytes", "/dev/vda", "/", "ext4"):     8192000,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4"):    0.25,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vdc", "/new", "ext4"): 1,
	})
	for k := range got {
		if strings.Contains(k, `mountpoint="/data"`) {
			t.Errorf("%s still reported after /data was unmounted", k)
		}
	}

	// /new gets another filesystem: the old labels go at once.
	ft.proc.write("1/mountinfo", "1 0 254:0 / / rw - ext4 /dev/vda rw\n4 1 254:48 / /new rw - xfs /dev/vdd rw\n")
	got = ft.sample()
	expectSamples(t, got, map[string]float64{fsSeries("servermon_filesystem_usage_ratio", "/dev/vdd", "/new", "xfs"): 1})
	for k := range got {
		if strings.Contains(k, `device="/dev/vdc"`) {
			t.Errorf("%s still reported after /new was remounted from /dev/vdd", k)
		}
	}
	if calls, _, _ := f.Count("/data"); calls != 1 {
		t.Errorf("/data statfs'ed %d times, want once: it was unmounted after the first read", calls)
	}
}

func TestFilesystemMaxMounts(t *testing.T) {
	table := func(points ...string) string {
		var b strings.Builder
		for i, p := range points {
			b.WriteString(itoa(i+1) + " 0 254:" + itoa(i) + " / " + p + " rw - ext4 /dev/vd" + p[1:] + " rw\n")
		}
		return b.String()
	}
	ft := newFSTest(t, table("/a", "/b", "/c", "/d", "/e"), func(c *FilesystemConfig) { c.MaxMounts = 3 })
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e"} {
		ft.statfs.SetBlocks(p, 10, 5, 5, 10, 5)
	}
	reported := func(got map[string]float64) []string {
		var ps []string
		for _, p := range []string{"/a", "/b", "/c", "/d", "/e"} {
			if _, ok := got[fsSeries("servermon_filesystem_size_bytes", "/dev/vd"+p[1:], p, "ext4")]; ok {
				ps = append(ps, p)
			}
		}
		return ps
	}
	got := ft.sample()
	if ps := reported(got); strings.Join(ps, " ") != "/a /b /c" {
		t.Errorf("reported %v, want the first three", ps)
	}
	expectSamples(t, got, map[string]float64{"servermon_filesystem_mounts_refused": 2})
	// /b goes: the first refused one takes its place; those reported keep theirs even if listed later.
	ft.proc.write("1/mountinfo", table("/e", "/d", "/c", "/a"))
	got = ft.sample()
	if ps := reported(got); strings.Join(ps, " ") != "/a /c /e" {
		t.Errorf("reported %v, want /a and /c kept and /e, listed first, added", ps)
	}
	expectSamples(t, got, map[string]float64{"servermon_filesystem_mounts_refused": 1})
	if n := strings.Count(ft.logs.String(), "not reporting every filesystem"); n != 1 {
		t.Errorf("refusal logged %d times, want once:\n%s", n, ft.logs)
	}
	if calls, _, _ := ft.statfs.Count("/d"); calls != 0 {
		t.Errorf("refused mount /d statfs'ed %d times", calls)
	}
}

// TestFilesystemReadsSelfWhenPid1Hidden: with pid 1's mountinfo hidden (hidepid), the exporter's own is read,
// where a mount's own ro option is the sandbox's (systemd's ProtectSystem=strict makes every mount read-only) and
// only the superblock's counts.
func TestFilesystemReadsSelfWhenPid1Hidden(t *testing.T) {
	ft := newFSTest(t, "", nil)
	ft.proc.remove("1")
	if err := os.Mkdir(filepath.Join(ft.proc.dir, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	ft.proc.write("self/mountinfo", "1 0 254:0 / / ro,relatime - ext4 /dev/vda rw\n2 1 254:16 / /iso ro - ext4 /dev/vdb ro\n")
	ft.statfs.SetBlocks("/", 10, 5, 5, 10, 5)
	ft.statfs.SetBlocks("/iso", 10, 0, 0, 10, 0)
	got := ft.sample()
	got = merge(got, ft.sample())
	expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="filesystem"}`: 1,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4"): 0.5,
		fsSeries("servermon_filesystem_readonly", "/dev/vda", "/", "ext4"):    0,
		fsSeries("servermon_filesystem_readonly", "/dev/vdb", "/iso", "ext4"): 1})
	if n := strings.Count(ft.logs.String(), "pid 1's mount table is hidden"); n != 1 {
		t.Errorf("the fallback logged %d times, want once:\n%s", n, ft.logs)
	}
}

// TestFilesystemRootfs runs as in a container with the host's root at /host (--path.rootfs=/host): the mounts
// under it are reported as the host names them and statfs'ed under /host, at path boundaries only.
func TestFilesystemRootfs(t *testing.T) {
	ft := newFSTest(t, "1 0 254:0 / /host rw - ext4 /dev/vda rw\n2 1 254:16 / /host/home rw - xfs /dev/vdb rw\n"+
		"3 1 254:32 / /hostile rw - ext4 /dev/vdc rw\n", func(c *FilesystemConfig) { c.RootFS = "/host/" })
	for _, p := range []string{"/host", "/host/home", "/host/hostile"} {
		ft.statfs.SetBlocks(p, 10, 5, 5, 10, 5)
	}
	got := ft.sample()
	expectSamples(t, got, map[string]float64{
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4"):        0.5,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vdb", "/home", "xfs"):     0.5,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vdc", "/hostile", "ext4"): 0.5,
	})
}

// TestFilesystemMalformedMountinfo: a mountinfo procfs cannot parse fails the collector's read (logged once), its
// mounts keep their last read meanwhile, and a good one brings them back.
func TestFilesystemMalformedMountinfo(t *testing.T) {
	ft := newFSTest(t, "1 0 254:0 / / rw - ext4 /dev/vda rw\n", nil)
	ft.statfs.SetBlocks("/", 10, 5, 5, 10, 5)
	ft.sample()
	for _, garbage := range []string{"1 0 254:0 / / rw ext4 /dev/vda rw\n", "x y z\n", "\x00\xff", strings.Repeat("1 ", 1<<16)} {
		ft.proc.write("1/mountinfo", garbage)
		got := ft.sample()
		expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="filesystem"}`: 0,
			fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4"): 0.5})
	}
	ft.proc.write("1/mountinfo", "1 0 254:0 / / rw - ext4 /dev/vda rw\n")
	ft.statfs.SetBlocks("/", 10, 1, 1, 10, 5)
	got := ft.sample()
	expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="filesystem"}`: 1,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4"): 0.9})
}

// TestFilesystemCloseWithHungMount closes the sampler while a statfs hangs: Close does not wait for it, the
// sampler samples again afterwards, and the hung mount's goroutine ends once its statfs returns (goleak checks
// the package's goroutines when the tests end).
func TestFilesystemCloseWithHungMount(t *testing.T) {
	ft := newFSTest(t, "1 0 254:0 / / rw - ext4 /dev/vda rw\n2 1 0:50 / /nfs rw - nfs4 server:/export rw\n", nil)
	ft.statfs.SetBlocks("/", 10, 5, 5, 10, 5)
	ft.statfs.SetBlocks("/nfs", 10, 5, 5, 10, 5)
	release := ft.statfs.Block("/nfs")
	defer release()
	ft.Start()
	ft.sample()
	closed := make(chan struct{})
	go func() { ft.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for the hung statfs")
	}
	got := ft.sample() // without readers now
	expectSamples(t, got, map[string]float64{fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4"): 0.5,
		fsSeries("servermon_filesystem_device_error", "server:/export", "/nfs", "nfs4"): 1})
	release()
	ft.statfs.WaitIdle(t, "/nfs")
	got = ft.sample()
	expectSamples(t, got, map[string]float64{fsSeries("servermon_filesystem_device_error", "server:/export", "/nfs", "nfs4"): 0})
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		"/":                    "/",
		`/mnt/my\040disk`:      "/mnt/my disk",
		`/a\011b\012c\134d`:    "/a\tb\nc\\d",
		`/bad\377`:             "/bad\xff",
		`/not\400octal`:        `/not\400octal`, // beyond a byte
		`/short\04`:            `/short\04`,
		`/trailing\`:           `/trailing\`,
		`\040\040`:             "  ",
		`/x\0999`:              `/x\0999`,
		`/mixed\040and\134040`: `/mixed and\040`, // an escaped backslash is not decoded twice
		"/utf8/\u00e9t\u00e9":  "/utf8/\u00e9t\u00e9",
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStripRootfs(t *testing.T) {
	for _, c := range []struct{ rootfs, point, label, path string }{
		{"/", "/home", "/home", "/home"},
		{"", "/home", "/home", "/home"},
		{"/host", "/host", "/", "/host"},
		{"/host", "/host/home", "/home", "/host/home"},
		{"/host", "/hostile", "/hostile", "/host/hostile"},
		{"/host", "/etc/hosts", "/etc/hosts", "/host/etc/hosts"},
	} {
		label := stripRootfs(c.rootfs, c.point)
		if path := rootfsPath(c.rootfs, label); label != c.label || path != c.path {
			t.Errorf("rootfs %q, mount point %q: label %q, statfs path %q; want %q, %q", c.rootfs, c.point, label, path, c.label, c.path)
		}
	}
}

// TestStatfs checks the system call, through the scheduler and raw, against the syscall package's, and that it
// allocates nothing where it has its own path copy.
func TestStatfs(t *testing.T) {
	var want syscall.Statfs_t
	if err := syscall.Statfs("/proc", &want); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func(string, *syscall.Statfs_t) error{"Statfs": Statfs, "statfsLocal": statfsLocal} {
		var got syscall.Statfs_t
		if err := call("/proc", &got); err != nil {
			t.Fatal(err)
		}
		if got.Type != want.Type || got.Type != procSuperMagic || got.Bsize != want.Bsize {
			t.Errorf("%s(/proc) = type %#x bsize %d, syscall.Statfs %#x %d", name, got.Type, got.Bsize, want.Type, want.Bsize)
		}
		for path, wantErr := range map[string]error{"/no/such/dir": syscall.ENOENT, "/proc\x00x": syscall.EINVAL,
			"/" + strings.Repeat("x/", statfsPathMax): syscall.ENOENT} {
			if err := call(path, &got); !errors.Is(err, wantErr) {
				t.Errorf("%s(%.20q…) = %v, want %v", name, path, err, wantErr)
			}
		}
		if n := testing.AllocsPerRun(100, func() { _ = call("/proc", &got) }); n != 0 && statfsAllocates == 0 {
			t.Errorf("%s allocates %v times a call", name, n)
		}
	}
}

// TestMountinfoFileReadsToTheEnd reads the real mountinfo as the collector does and compares it with a plain
// read: nothing cut off at a record the page-sized shortcut of other /proc files would have taken for the end.
func TestMountinfoFileReadsToTheEnd(t *testing.T) {
	proc, err := NewProcFS("/proc")
	if err != nil {
		t.Fatal(err)
	}
	f := proc.mountinfoFile("self/mountinfo")
	defer f.Close()
	for range 2 { // opened, then re-read in place
		got, err := f.read()
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		if !f.onProcfs || !bytes.Equal(got, want) {
			t.Errorf("on procfs %v: read %d bytes, a plain read %d", f.onProcfs, len(got), len(want))
		}
	}
}

// TestMountinfoPollSeesMountChanges checks what procFile.unchanged relies on, in a copy of the test binary run in
// a mount namespace of its own: poll on an open mountinfo flags a mount, a remount and an unmount, each once, and
// nothing else. It needs CAP_SYS_ADMIN (root in a VM or CI runner) and is skipped without it. Now and then poll
// misses a change (about one run in twenty of the package here; the collector reads mountinfo in full every
// mountinfoRecheck reads for that), so the child may try three times: the test fails when poll never works.
func TestMountinfoPollSeesMountChanges(t *testing.T) {
	if os.Getenv("SERVERMON_MOUNTINFO_POLL_CHILD") == "1" {
		checkMountinfoPoll(t)
		return
	}
	var out []byte
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMountinfoPollSeesMountChanges$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "SERVERMON_MOUNTINFO_POLL_CHILD=1")
		// os/exec makes the new namespace's mounts private, so nothing the child mounts reaches the host. (A
		// namespace unshared by one thread of this process would miss changes far more often.)
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		var err error
		out, err = cmd.CombinedOutput()
		switch {
		case errors.Is(err, syscall.EPERM):
			t.Skipf("no mount namespace of our own (needs CAP_SYS_ADMIN): %v", err)
		case err == nil && bytes.Contains(out, []byte("--- PASS: TestMountinfoPollSeesMountChanges")):
			return
		}
		t.Logf("poll missed a change:\n%s", out)
	}
	t.Fatalf("poll on mountinfo missed changes in three tries:\n%s", out)
}

func checkMountinfoPoll(t *testing.T) {
	dir := t.TempDir()
	f := &procFile{path: "/proc/self/mountinfo", mountinfo: true}
	t.Cleanup(func() { f.Close() })
	if _, err := f.read(); err != nil {
		t.Fatal(err)
	}
	if !f.unchanged() {
		t.Fatal("poll reports a change right after the read")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mounting a tmpfs: %v", err)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			_ = syscall.Unmount(dir, 0)
		}
	})
	if f.unchanged() {
		t.Error("poll does not report the mount")
	}
	if !f.unchanged() {
		t.Error("poll reports the mount twice")
	}
	after, err := f.read()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(after, []byte(dir)) {
		t.Errorf("mountinfo does not show the tmpfs at %s:\n%s", dir, after)
	}
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remounting read-only: %v", err)
	}
	if f.unchanged() {
		t.Error("poll does not report the remount")
	}
	if err := syscall.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	if f.unchanged() {
		t.Error("poll does not report the unmount")
	}
}

// TestFilesystemWithoutMountinfo: with neither pid 1's nor the exporter's own mountinfo (a --path.procfs that is
// no procfs), the collector fails, logged once over many reads, and works as soon as pid 1's is there.
func TestFilesystemWithoutMountinfo(t *testing.T) {
	ft := newFSTest(t, "", nil)
	ft.proc.remove("1")
	ft.statfs.SetBlocks("/", 10, 5, 5, 10, 5)
	var got map[string]float64
	for range 5 {
		got = ft.sample()
	}
	expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="filesystem"}`: 0})
	if n := strings.Count(ft.logs.String(), "level="); n != 1 || !strings.Contains(ft.logs.String(), "collector failed") {
		t.Errorf("%d log lines over 5 failed reads, want the one failure:\n%s", n, ft.logs)
	}
	if err := os.Mkdir(filepath.Join(ft.proc.dir, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	ft.proc.write("1/mountinfo", "1 0 254:0 / / rw - ext4 /dev/vda rw\n")
	got = ft.sample()
	expectSamples(t, got, map[string]float64{`servermon_collector_success{collector="filesystem"}`: 1,
		fsSeries("servermon_filesystem_usage_ratio", "/dev/vda", "/", "ext4"): 0.5})
}
