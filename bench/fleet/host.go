package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/servermon/servermon_exporter/internal/childproc"
	"github.com/servermon/servermon_exporter/internal/eventually"
	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// host is one fake host: its scenario, its fake /proc (a fakeproc tree under the fleet's /dev/shm directory), its
// filesystem and its exporter.
type host struct {
	index    int
	kind     kind
	instance string // the exporter's address, Prometheus' instance label
	dir      string // the host's directory: proc/ (the fake /proc) and root/ (its --path.rootfs)

	tree   *fakeproc.Tree
	last   time.Time // the time the tree's counters have been advanced to
	fl     fakeproc.Levels
	disk   [1]fakeproc.DiskLevel
	proc   *childproc.Process
	fill   *fillFile // a filling host's fill file
	blocks int64     // the filesystem's size, 0 without filesystems
	used   int64     // the blocks in use the helper wrote at the start
}

func (h *host) name() string { return hostName(h.index) + " (" + h.kind.String() + ")" }

func (h *host) procDir() string { return filepath.Join(h.dir, "proc") }

// mountDir is where the exporter statfs'es the fake host's filesystem: its tmpfs, in its mount namespace.
func (h *host) mountDir() string { return filepath.Join(h.dir, "root", fsMount) }

// mountinfo is the fake host's mount table: /proc (which the exporter's default exclusions drop) and, with
// filesystems, the filesystem at fsMount.
func mountinfo(filesystems bool) string {
	s := "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	if filesystems {
		s += "30 1 254:16 / " + fsMount + " rw,relatime shared:1 - " + fsType + " " + fsDevice + " rw\n"
	}
	return s
}

// newTree writes the host's fake /proc at now, continuing its history since from: the gauges at their levels, the
// load averages where the history has moved them.
func (h *host) newTree(m model, from, now time.Time, filesystems bool) error {
	mach := fakeproc.Machine{CPUs: cpus, MemTotal: memTotalKB, SwapTotal: swapTotalKB,
		Disks: []fakeproc.Disk{{Major: 254, Minor: 0, Name: diskName}}}
	if h.kind != failing {
		mach.Pressure = []fakeproc.Resource{fakeproc.PressureCPU, fakeproc.PressureIO, fakeproc.PressureMemory}
	}
	var err error
	if h.tree, err = fakeproc.New(h.procDir(), mach); err != nil {
		return err
	}
	h.fl.Disks = h.disk[:]
	h.setLevels(m.levels(h.kind, h.index, now), now)
	h.tree.Advance(0, h.fl)
	h.tree.Load.Load = m.loadAverages(h.kind, h.index, from, now)
	h.last = now
	if err := h.tree.WriteRaw("1/mountinfo", []byte(mountinfo(filesystems))); err != nil {
		return err
	}
	if h.kind == failing {
		// Not the tree's files: they stay garbage, so the pressure collector fails at every read.
		for _, r := range []string{"cpu", "io", "memory"} {
			if err := fakeproc.WriteFile(h.procDir(), "pressure/"+r, []byte("some avg10=garbage\n")); err != nil {
				return err
			}
		}
	}
	if filesystems {
		h.blocks = fsBlocks(h.kind)
		if err := os.MkdirAll(h.mountDir(), 0o755); err != nil {
			return err
		}
	}
	return h.tree.Write()
}

// setLevels turns the scenario's levels into fakeproc's for the second at t.
func (h *host) setLevels(l levels, t time.Time) {
	cpu := l.cpu
	if l.burst > 0 || l.idleCPU > 0 {
		cpu = l.idleCPU
		if t.Sub(t.Truncate(quarter)) < time.Duration(l.burst)*time.Second {
			cpu = burstCPU
		}
	}
	h.fl.CPU = fakeproc.Busy(cpu)
	h.fl.CPU.IOWait = l.iowait
	h.fl.MemUsed, h.fl.SwapUsed, h.fl.Load = l.mem, l.swap, l.load
	h.disk[0] = fakeproc.DiskLevel{ReadIOPS: l.readIOPS, WriteIOPS: l.writeIOPS, ReadBytes: l.readBytes, WriteBytes: l.writeBytes,
		ReadAwait: time.Duration(l.await * float64(time.Millisecond)), WriteAwait: time.Duration(l.await * float64(time.Millisecond)),
		Util: l.diskUtil, Queue: l.queue}
	h.fl.Stall[fakeproc.PressureCPU] = fakeproc.Stall{Some: l.psiCPU}
	h.fl.Stall[fakeproc.PressureIO] = fakeproc.Stall{Some: l.psiIO, Full: l.psiIO / 2}
	h.fl.Stall[fakeproc.PressureMemory] = fakeproc.Stall{Some: l.psiMem}
}

// step advances the host to now, each quarter's levels (each second's, on a bursty host) over the part of the
// elapsed time in it, writes its fake /proc, and fills its filesystem to the scenario's usage.
func (h *host) step(m model, now time.Time) error {
	piece := quarter
	if h.kind == bursty {
		piece = time.Second
	}
	for h.last.Before(now) {
		next := h.last.Truncate(piece).Add(piece)
		if next.After(now) {
			next = now
		}
		h.setLevels(m.levels(h.kind, h.index, h.last), h.last)
		h.tree.Advance(next.Sub(h.last), h.fl)
		h.last = next
	}
	if err := h.tree.Write(); err != nil {
		return fmt.Errorf("%s: %w", h.name(), err)
	}
	if h.fill != nil {
		if err := h.fill.grow(m.fsUsedBlocks(h.kind, now)); err != nil {
			return fmt.Errorf("%s: %w", h.name(), err)
		}
	}
	return nil
}

// exporterConfig is what every exporter is started with.
type exporterConfig struct {
	bin, self string // the exporter, and this program (the namespace helper)
	promURL   string
	logDir    string
	namespace bool          // a private mount namespace with the host's tmpfs
	history   time.Duration // --forecast.history: what the daily-cycle hosts' history needs, at least the default 8d
}

// start starts the host's exporter.
func (h *host) start(m model, c exporterConfig, now time.Time) error {
	args := []string{c.bin,
		"--web.listen-address=" + h.instance,
		"--path.procfs=" + h.procDir(),
		"--path.rootfs=" + filepath.Join(h.dir, "root"),
		"--forecast.backfill.url=" + c.promURL,
		`--forecast.backfill.selector=instance="` + h.instance + `"`,
		"--forecast.history=" + c.history.String(),
		"--log.level=warn",
	}
	// A clean environment: no STATE_DIRECTORY (every exporter would share a state file there), one P as the
	// exporters default to.
	env := []string{"GOMAXPROCS=1"}
	var cmd *exec.Cmd
	if c.namespace {
		h.used = m.fsUsedBlocks(h.kind, now)
		cmd = exec.Command(c.self, args...)
		cmd.SysProcAttr = namespaceAttr()
		env = append(env, helperEnvFor(h.mountDir(), h.blocks, h.used))
	} else {
		cmd = exec.Command(c.bin, args[1:]...)
	}
	cmd.Env = env
	cmd.Dir = h.dir
	p, err := childproc.Start(h.name(), cmd, filepath.Join(c.logDir, hostName(h.index)+".log"))
	if err != nil {
		return err
	}
	h.proc = p
	return nil
}

// ready waits until the exporter serves /metrics and has loaded its history (servermon_forecast_backfill_success
// 1), and opens a filling host's fill file, which it returns: the driver's lock guards h.fill.
func (h *host) ready(ctx context.Context) (*fillFile, error) {
	url := "http://" + h.instance + "/metrics"
	if err := h.proc.WaitReady(ctx, url); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, h.proc.LogTail(10))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	err := eventually.Poll(ctx, func() error {
		if err := h.proc.Alive(); err != nil {
			return nil
		}
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if !strings.Contains(string(body), "\nservermon_forecast_backfill_success 1\n") {
			return errors.New("backfill not done")
		}
		return nil
	})
	if err := h.proc.Alive(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, h.proc.LogTail(10))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: backfill: %w\n%s", h.name(), err, h.proc.LogTail(10))
	}
	if h.kind != fill || h.blocks == 0 {
		return nil, nil
	}
	// The exporter is the helper, executed: its pid's root is in the namespace with the tmpfs.
	f, err := openFill(h.proc.Pid(), h.mountDir(), h.blocks, h.used)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.name(), err)
	}
	return f, nil
}

// stop stops the exporter and closes the fill file.
func (h *host) stop() error {
	var errs []error
	if h.fill != nil {
		errs = append(errs, h.fill.f.Close())
	}
	if h.proc != nil {
		if _, err := h.proc.Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if h.tree != nil {
		errs = append(errs, h.tree.Close())
	}
	return errors.Join(errs...)
}
