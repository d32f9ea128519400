package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// node_exporter's default exclusions (collector/filesystem_linux.go): kernel and runtime pseudo-filesystems, and
// the mount points of /dev, /proc, /sys and of container runtimes' layers.
const (
	DefaultMountPointsExclude = `^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`
	DefaultFSTypesExclude     = `^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$`
)

// DefaultMaxMounts is the default of --collector.filesystem.max-mounts: far more than a server's real
// filesystems, few enough that a node with a mount per container volume stays within a few hundred series.
const DefaultMaxMounts = 64

// DefaultStatfsTimeout is the statfs timeout of a FilesystemConfig that sets none: half the default
// --collector.timeout.
const DefaultStatfsTimeout = 250 * time.Millisecond

// mountinfoRecheck is the most reads in a row that trust poll's word that mountinfo has not changed: a mount poll
// did not flag is seen at most this many reads late (a minute at the default --sample.slow-interval), for one read
// of mountinfo a minute.
const mountinfoRecheck = 11

var filesystemLabels = []string{"device", "mountpoint", "fstype"}

// The per-mount forecast targets, two series a mount.
var (
	filesystemGroup        = &SeriesGroup{Name: "filesystem", DefaultMax: 64, Per: "2 per mount"}
	filesystemUsageTarget  = &Target{Name: "filesystem_usage_ratio", Title: "Filesystem usage", Max: 1, ThresholdFlag: "filesystem", ThresholdDefault: 0.95, Group: filesystemGroup, Fill: true}
	filesystemInodesTarget = &Target{Name: "filesystem_inodes_usage_ratio", Title: "Filesystem inode usage", Max: 1, ThresholdFlag: "filesystem", ThresholdDefault: 0.95, Group: filesystemGroup, Fill: true}
)

// The filesystem families show each mount's latest statfs, as df does: space is a level, not a rate, and the
// kernel's numbers need no averaging.
var (
	fsSizeFamily = &Family{Name: "servermon_filesystem_size_bytes", LabelNames: filesystemLabels, Slow: true, Latest: true,
		Help: "Size of the filesystem in bytes (df's 1B-blocks: f_blocks × f_frsize)."}
	fsAvailFamily = &Family{Name: "servermon_filesystem_avail_bytes", LabelNames: filesystemLabels, Slow: true, Latest: true,
		Help: "Space available to unprivileged users in bytes (df's Avail: f_bavail × f_frsize); the blocks reserved for root are not in it."}
	fsUsageFamily = &Family{Name: "servermon_filesystem_usage_ratio", LabelNames: filesystemLabels, Slow: true, Latest: true, Max: 1,
		Target: filesystemUsageTarget,
		Help:   "Share of the space unprivileged users can have that is used, df's Use% as a ratio: used / (used + avail), used = size − free; absent where used + avail is 0."}
	fsInodesFamily = &Family{Name: "servermon_filesystem_inodes_usage_ratio", LabelNames: filesystemLabels, Slow: true, Latest: true, Max: 1,
		Target: filesystemInodesTarget,
		Help:   "Share of the inodes in use, df -i's IUse% as a ratio: (files − free files) / files; absent where the filesystem has no inode count (btrfs, many network filesystems)."}
	fsReadonlyFamily = &Family{Name: "servermon_filesystem_readonly", LabelNames: filesystemLabels, Slow: true, Latest: true,
		Help: "Whether the filesystem is mounted read-only (1) or not (0), as mountinfo says: the ro mount or superblock option, or emergency_ro."}
	fsDeviceErrorFamily = &Family{Name: "servermon_filesystem_device_error", LabelNames: filesystemLabels, Slow: true, Latest: true,
		Help: "Whether the latest read has no statfs of the mount (1): the call failed, or a hung one (a network filesystem whose server is gone) has not answered within the timeout and is not called again until it does. The mount's other gauges then keep their last read until it leaves the window."}
	fsRefusedFamily = &Family{Name: "servermon_filesystem_mounts_refused", Slow: true, Latest: true,
		Help: "Mounts not reported because --collector.filesystem.max-mounts are reported already."}
)

// FilesystemConfig configures the filesystem collector.
type FilesystemConfig struct {
	// RootFS is where the host's root filesystem is mounted when the exporter runs in a container
	// (--path.rootfs); "" or "/" on the host. Mount points are statfs'd under it, and a mount point under it is
	// reported without it, as node_exporter does.
	RootFS string
	// MountPointsInclude, when set, keeps only mount points that match; MountPointsExclude drops those that
	// match (applied after the include). FSTypesInclude and FSTypesExclude do the same for filesystem types.
	MountPointsInclude, MountPointsExclude *regexp.Regexp
	FSTypesInclude, FSTypesExclude         *regexp.Regexp
	// MaxMounts caps the mounts reported; the rest are counted in servermon_filesystem_mounts_refused. 0 means
	// no limit.
	MaxMounts int
	// StatfsTimeout bounds the wait for the mounts' statfs in one read; DefaultStatfsTimeout when 0. It must
	// leave the rest of the collector timeout for reading mountinfo.
	StatfsTimeout time.Duration
	// Statfs is the statfs system call; Statfs (this package's) when nil. Tests replace it.
	Statfs func(path string, st *syscall.Statfs_t) error
	// Logger receives one line per mount fault and one when it is over; nil discards them.
	Logger *slog.Logger
}

// Wants reports whether the filters keep a mount of fstype at mountpoint.
func (c *FilesystemConfig) Wants(mountpoint, fstype string) bool {
	return matches(c.MountPointsInclude, c.MountPointsExclude, mountpoint) && matches(c.FSTypesInclude, c.FSTypesExclude, fstype)
}

// matches applies an include and an exclude filter, either of which may be nil.
func matches(include, exclude *regexp.Regexp, s string) bool {
	return (include == nil || include.MatchString(s)) && (exclude == nil || !exclude.MatchString(s))
}

// fsOutcome is what a read learnt of a mount.
type fsOutcome int

const (
	fsOK    fsOutcome = iota // values from a statfs that answered, in this read or after the previous one's timeout
	fsError                  // the statfs failed
	fsStale                  // a statfs is outstanding past its timeout
)

// fsValues are the gauges' values of one statfs.
type fsValues struct {
	size, avail, usage, inodes float64
	hasUsage, hasInodes        bool
	// usable (used + avail) and files are what the usage and inode ratios are shares of: their capacities.
	usable, files float64
}

// statfsValues computes df's numbers from a statfs answer (coreutils df.c, gnulib fsusage.c): sizes in units of
// f_frsize (f_bsize where the filesystem leaves it 0), used = blocks − free, Use% = used / (used + avail), IUse% =
// (files − free files) / files. The read-only flag is mountinfo's (mountReadOnly), not ST_RDONLY: statfs answers
// for the mount the path reaches in the exporter's own mount namespace, which a container's read-only bind of the
// host's root (-v /:/host:ro) or systemd's ProtectSystem= makes read-only whatever the host's is.
func statfsValues(st *syscall.Statfs_t) fsValues {
	unit := uint64(st.Frsize) // not uint64 on every architecture
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	blocks, free, avail := uint64(st.Blocks), uint64(st.Bfree), uint64(st.Bavail)
	v := fsValues{size: float64(blocks * unit), avail: float64(avail * unit)}
	used := 0.0
	if blocks > free {
		used = float64((blocks - free) * unit)
	}
	if v.usable = used + v.avail; v.usable > 0 {
		v.usage, v.hasUsage = used/v.usable, true
	}
	if files := uint64(st.Files); files > 0 {
		v.inodes, v.hasInodes, v.files = float64(files-min(uint64(st.Ffree), files))/float64(files), true, float64(files)
	}
	return v
}

// fsMount is one reported mount. Its statfs runs in a goroutine of its own, which takes requests on req and
// answers on done, filling buf in between; at most one is outstanding, so a hung one never piles up more.
type fsMount struct {
	labels [3]string // device, mountpoint, fstype
	path   string    // what statfs is called on: the mount point under the rootfs
	optRO  bool      // mountinfo's options say read-only
	seen   uint64    // the latest mountinfo parse that listed it

	req  chan struct{} // nil while no goroutine serves the mount (before the first read, after Close)
	done chan error
	buf  syscall.Statfs_t

	// local is set for a filesystem type whose statfs answers from the kernel's own counters (localFSType): it is
	// called inline. The others may wait on a server, so each has a goroutine, and a read waits for it at most
	// StatfsTimeout.
	local   bool
	busy    bool // a statfs is outstanding past its timeout
	pending bool // a statfs was requested in this read
	outcome fsOutcome
	values  fsValues
	err     error
	lastErr string // the fault logged last, "" when none is
	gauges  *fsGauges
}

type fsGauges struct {
	size, avail, readonly, deviceError *Gauge
	usage, inodes                      *Gauge // nil while absent
}

func (g *fsGauges) remove(st *Store) {
	for _, x := range [...]*Gauge{g.size, g.avail, g.readonly, g.deviceError, g.usage, g.inodes} {
		st.Remove(x)
	}
}

// localFSType reports whether statfs of a filesystem of type t answers from in-memory counters, without I/O or a
// server: the disk filesystems, memory filesystems, and ZFS, which keep their free-space counters in the kernel.
// A goroutine and a timer per mount and read would wake threads of the Go runtime every slow sample, which costs
// more CPU than the statfs calls (docs/benchmarks.md); network and FUSE filesystems (nfs, cifs, ceph, 9p, fuse.*,
// and any type not listed) keep them, so that a hung server holds up nothing.
func localFSType(t string) bool {
	switch t {
	case "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "bcachefs", "nilfs2",
		"vfat", "msdos", "exfat", "ntfs", "ntfs3", "hfs", "hfsplus", "udf",
		"tmpfs", "ramfs", "devtmpfs", "hugetlbfs":
		return true
	}
	return false
}

// statfsWorker serves a mount's statfs requests until req is closed. One stuck in a hung statfs ends when it
// returns.
func statfsWorker(statfs func(string, *syscall.Statfs_t) error, path string, buf *syscall.Statfs_t, req <-chan struct{}, done chan<- error) {
	for range req {
		done <- statfs(path, buf) // never blocks: done has room for the one answer outstanding
	}
}

// request starts a statfs of the mount, and its goroutine first if it has none.
func (m *fsMount) request(statfs func(string, *syscall.Statfs_t) error) {
	if m.req == nil {
		m.req = make(chan struct{}, 1)
		go statfsWorker(statfs, m.path, &m.buf, m.req, m.done)
	}
	m.req <- struct{}{} // never blocks: the goroutine is idle
	m.pending = true
}

// answer records the answer of a statfs.
func (m *fsMount) answer(err error) {
	m.busy, m.pending, m.err = false, false, err
	if err != nil {
		m.outcome = fsError
		return
	}
	m.outcome, m.values = fsOK, statfsValues(&m.buf)
}

// stop ends the mount's goroutine once it is idle.
func (m *fsMount) stop() {
	if m.req != nil {
		close(m.req)
		m.req = nil
	}
}

type filesystemSource struct {
	proc   ProcFS
	cfg    FilesystemConfig
	statfs func(string, *syscall.Statfs_t) error
	// statfsLocal is statfs for the local mounts, called inline: statfsLocal (this package's) unless
	// FilesystemConfig.Statfs replaces both.
	statfsLocal func(string, *syscall.Statfs_t) error
	logger      *slog.Logger

	// pid1 and self are 1/mountinfo, the host's mounts when the exporter shares the host's PID namespace, and
	// self/mountinfo, the exporter's own, read when pid 1's is hidden (hidepid) or unreadable.
	pid1, self *procFile
	useSelf    bool
	loggedSelf bool // the fallback to self/mountinfo was logged
	// info is the mountinfo content the mounts were built from; parsed is set once they were. polled counts the
	// reads since the last that read mountinfo, poll having said it had not changed.
	info   []byte
	parsed bool
	polled int
	gen    uint64

	mounts  map[string]*fsMount // by mountpoint label
	active  []*fsMount          // the reported ones, in mountinfo order
	retired []*fsGauges         // gauges of mounts gone, for Update to remove
	refused int
	logged  bool // the refusal was logged
	timer   *time.Timer
	// staleMsg is the fault logged for a mount whose statfs has not answered in time.
	staleMsg string

	refusedGauge *Gauge
}

// NewFilesystem returns the source of the mounted filesystems: mountinfo, through procfs, and a statfs of each
// mount, inline for local filesystems and in a goroutine per mount, which Close ends, for the others.
func NewFilesystem(proc ProcFS, cfg FilesystemConfig) Source {
	s := &filesystemSource{proc: proc, cfg: cfg, statfs: cfg.Statfs, logger: cfg.Logger, mounts: map[string]*fsMount{},
		pid1: proc.mountinfoFile("1/mountinfo"), self: proc.mountinfoFile("self/mountinfo")}
	if s.statfs == nil {
		s.statfs, s.statfsLocal = Statfs, statfsLocal
	} else {
		s.statfsLocal = s.statfs
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.cfg.RootFS != "" {
		s.cfg.RootFS = filepath.Clean(s.cfg.RootFS)
	}
	if s.cfg.StatfsTimeout <= 0 {
		s.cfg.StatfsTimeout = DefaultStatfsTimeout
	}
	s.staleMsg = fmt.Sprintf("statfs has not answered within %s; not called again until it does", s.cfg.StatfsTimeout)
	return s
}

func (s *filesystemSource) Name() string { return "filesystem" }

// Slow makes the filesystem source a SlowSource: space changes slowly, and a statfs of every mount each second
// would cost more than the rest of a sample.
func (s *filesystemSource) Slow() {}

// Read re-reads mountinfo, rebuilds the mounts when it changed, and statfs'es every mount that has no statfs
// outstanding, waiting at most StatfsTimeout for the answers. It fails only when mountinfo cannot be read: a
// mount's fault is that mount's (servermon_filesystem_device_error).
func (s *filesystemSource) Read(time.Duration) error {
	if err := s.refreshMounts(); err != nil {
		s.parsed = false // read and parse again next time, whatever poll says
		return err
	}
	s.statAll()
	return nil
}

// refreshMounts rebuilds the mounts when mountinfo changed: on procfs when poll says so, elsewhere (a fake tree)
// when its content differs from the last parsed. Poll misses a change now and then (seen in the tests, with mounts
// made while others were made elsewhere on the machine), so every mountinfoRecheck-th read is a full one anyway.
func (s *filesystemSource) refreshMounts() error {
	current := s.pid1
	if s.useSelf {
		current = s.self
	}
	if s.parsed && s.polled < mountinfoRecheck && current.unchanged() {
		s.polled++
		return nil
	}
	s.polled = 0
	data, err := s.readMountinfo()
	if err != nil {
		return err
	}
	if s.parsed && bytes.Equal(data, s.info) {
		return nil
	}
	s.parsed = false
	if err := s.rebuild(); err != nil {
		return err
	}
	// The bytes read, not those procfs parsed: should they differ (the table changed in between), the next read
	// sees a change and parses again.
	s.info, s.parsed = append(s.info[:0], data...), true
	return nil
}

// readMountinfo returns 1/mountinfo's content, or self/mountinfo's once 1/mountinfo turned out unreadable (for as
// long as self/mountinfo can be read: a fallback is not tried on every read, which would cost a failed open).
func (s *filesystemSource) readMountinfo() ([]byte, error) {
	if !s.useSelf {
		data, err := s.pid1.read()
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("reading 1/mountinfo: %w", err)
		}
		s.useSelf = true
	}
	data, err := s.self.read()
	if err != nil {
		s.useSelf = false // neither is readable (a broken --path.procfs): try pid 1's again next time
		return nil, fmt.Errorf("reading self/mountinfo: %w", err)
	}
	if !s.loggedSelf {
		s.loggedSelf = true
		s.logger.Warn("pid 1's mount table is hidden (hidepid, systemd's ProtectProc=invisible): reporting the mounts of the exporter's own mount namespace, as a sandbox or container shows them")
	}
	return data, nil
}

// mountEntry is a mount as mountinfo lists it, prepared for reporting.
type mountEntry struct {
	labels [3]string
	path   string
	ro     bool
	wanted bool // passes the filters
}

// rebuild parses mountinfo through procfs and brings the mounts up to date. Each mount point is reported once,
// as the last mountinfo line of it says: a mount over another hides it, and statfs of the path sees the top one.
// The same filesystem at several mount points (bind mounts) is reported at each, as node_exporter does. Mounts
// already reported keep their places under MaxMounts; new ones take the free places in mountinfo order.
func (s *filesystemSource) rebuild() error {
	var infos []*procfs.MountInfo
	var err error
	if s.useSelf {
		infos, err = s.proc.fs.GetMounts()
	} else {
		infos, err = s.proc.fs.GetProcMounts(1)
	}
	if err != nil {
		return fmt.Errorf("parsing mountinfo: %w", err)
	}
	var entries []mountEntry
	at := map[string]int{} // index in entries, by mountpoint label
	for _, mi := range infos {
		point := stripRootfs(s.cfg.RootFS, unescapeMountinfo(mi.MountPoint))
		e := mountEntry{
			labels: [3]string{filesystemLabel(unescapeMountinfo(mi.Source)), filesystemLabel(point), filesystemLabel(unescapeMountinfo(mi.FSType))},
			path:   rootfsPath(s.cfg.RootFS, point),
			ro:     mountReadOnly(mi, s.useSelf),
		}
		// Mount points that differ only in invalid UTF-8 share a label: the later one wins, as for a mount over
		// another.
		if i, ok := at[e.labels[1]]; ok {
			entries[i] = e
			continue
		}
		at[e.labels[1]] = len(entries)
		entries = append(entries, e)
	}
	s.gen++
	kept := 0
	for i := range entries {
		e := &entries[i]
		if e.wanted = s.cfg.Wants(e.labels[1], e.labels[2]); !e.wanted {
			continue
		}
		if m := s.mounts[e.labels[1]]; m != nil && m.labels == e.labels && m.path == e.path {
			m.seen, m.optRO = s.gen, e.ro
			kept++
		}
	}
	for point, m := range s.mounts {
		if m.seen != s.gen {
			m.stop()
			if m.gauges != nil {
				s.retired = append(s.retired, m.gauges)
			}
			delete(s.mounts, point)
		}
	}
	s.active, s.refused = s.active[:0], 0
	for _, e := range entries {
		if !e.wanted {
			continue
		}
		m := s.mounts[e.labels[1]]
		if m == nil {
			if s.cfg.MaxMounts > 0 && kept >= s.cfg.MaxMounts {
				s.refused++
				continue
			}
			m = &fsMount{labels: e.labels, path: e.path, optRO: e.ro, seen: s.gen, done: make(chan error, 1), local: localFSType(e.labels[2])}
			s.mounts[e.labels[1]] = m
			kept++
		}
		s.active = append(s.active, m)
	}
	if s.refused > 0 && !s.logged {
		s.logger.Warn("not reporting every filesystem", "refused", s.refused, "limit", s.cfg.MaxMounts, "flag", "--collector.filesystem.max-mounts")
	}
	s.logged = s.refused > 0
	return nil
}

// statAll statfs'es every mount with none outstanding and waits for the answers until StatfsTimeout. A mount whose
// statfs has not answered by then is not called again until it has: the read that finds its late answer takes it
// (values at most one read old), and starts a new statfs, whose answer replaces it if it comes in time.
func (s *filesystemSource) statAll() {
	started := false
	for _, m := range s.active {
		m.outcome = fsStale // until an answer says otherwise
		if m.local {
			m.answer(s.statfsLocal(m.path, &m.buf))
			continue
		}
		if m.busy {
			select {
			case err := <-m.done:
				m.answer(err)
			default:
				continue
			}
		}
		m.request(s.statfs)
		started = true
	}
	if started {
		if s.timer == nil {
			s.timer = time.NewTimer(s.cfg.StatfsTimeout)
		} else {
			s.timer.Reset(s.cfg.StatfsTimeout)
		}
		s.await(s.timer.C)
		s.timer.Stop() // since Go 1.23 no stale expiry is left to drain
	}
	for _, m := range s.active {
		s.logOutcome(m)
	}
}

// await takes the answers of the statfs calls requested, until timeout; those that have not answered by then are
// busy from now on.
func (s *filesystemSource) await(timeout <-chan time.Time) {
	expired := false
	for _, m := range s.active {
		if !m.pending {
			continue
		}
		if !expired {
			select {
			case err := <-m.done:
				m.answer(err)
				continue
			case <-timeout:
				expired = true
			}
		}
		select {
		case err := <-m.done:
			m.answer(err)
		default:
			m.pending, m.busy = false, true
		}
	}
}

// logOutcome logs a mount's fault once per distinct message, and once when it is over.
func (s *filesystemSource) logOutcome(m *fsMount) {
	var msg string
	switch m.outcome {
	case fsOK:
		if m.lastErr != "" {
			m.lastErr = ""
			s.logger.Info("filesystem answers again", "mountpoint", m.labels[1])
		}
		return
	case fsError:
		msg = m.err.Error()
	case fsStale:
		msg = s.staleMsg
	}
	if msg != m.lastErr {
		m.lastErr = msg
		s.logger.Warn("filesystem not read", "mountpoint", m.labels[1], "path", m.path, "err", msg)
	}
}

// Update reports every mount of the latest read, and removes the gauges of those gone.
func (s *filesystemSource) Update(st *Store) {
	for i, g := range s.retired {
		g.remove(st)
		s.retired[i] = nil
	}
	s.retired = s.retired[:0]
	for _, m := range s.active {
		g := m.gauges
		if g == nil {
			// All six, so that the families are exposed in this order (that of their first gauges); usage and
			// inodes go again where the filesystem has none, or until it has answered at all, so that the
			// forecaster does not start series for them.
			l := m.labels[:]
			g = &fsGauges{size: st.Gauge(fsSizeFamily, l...), avail: st.Gauge(fsAvailFamily, l...),
				usage: st.Gauge(fsUsageFamily, l...), inodes: st.Gauge(fsInodesFamily, l...),
				readonly: st.Gauge(fsReadonlyFamily, l...), deviceError: st.Gauge(fsDeviceErrorFamily, l...)}
			if m.outcome != fsOK {
				st.Remove(g.usage)
				st.Remove(g.inodes)
				g.usage, g.inodes = nil, nil
			}
			m.gauges = g
		}
		if m.outcome == fsOK {
			v := &m.values
			st.Set(g.size, v.size)
			st.Set(g.avail, v.avail)
			g.usage = setPresent(st, g.usage, fsUsageFamily, m.labels[:], v.usage, v.hasUsage, v.usable)
			g.inodes = setPresent(st, g.inodes, fsInodesFamily, m.labels[:], v.inodes, v.hasInodes, v.files)
		}
		st.Set(g.readonly, boolValue(m.optRO))
		st.Set(g.deviceError, boolValue(m.outcome != fsOK))
	}
	if s.refusedGauge == nil {
		s.refusedGauge = st.Gauge(fsRefusedFamily)
	}
	st.Set(s.refusedGauge, float64(s.refused))
}

// setPresent sets the gauge of family f to the ratio v of capacity when present, creating it if need be, and
// removes it otherwise. It returns the gauge, nil when removed.
func setPresent(st *Store, g *Gauge, f *Family, labels []string, v float64, present bool, capacity float64) *Gauge {
	if !present {
		st.Remove(g)
		return nil
	}
	if g == nil {
		g = st.Gauge(f, labels...)
	}
	st.Set(g, v)
	g.capacity = capacity
	return g
}

// Close ends the mounts' goroutines (one stuck in a hung statfs when it returns) and closes mountinfo. A later
// read starts them again.
func (s *filesystemSource) Close() error {
	for _, m := range s.mounts {
		m.stop()
	}
	return errors.Join(s.pid1.Close(), s.self.Close())
}
