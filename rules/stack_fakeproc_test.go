package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// The stack test's fake /proc, a fakeproc tree. A driver goroutine rewrites it every fakeProcTick: the scenario's
// levels plus noise go to fakeproc's Advance, which sets the gauges (memory) and advances the counters (CPU ticks,
// disk IO, PSI stall time) by rate × elapsed wall time, so the exporter measures the scenario's rates whenever it
// samples, and the load averages decay towards the busy CPUs over compressed periods. Files are replaced by rename,
// so the exporter never reads a half-written one.

// stackMountinfo is the fake machine's mount table: its root filesystem at stackMountpoint, which the exporter
// statfs'es at stackRootfs, and /proc, which its default exclusions drop.
const stackMountinfo = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n" +
	"1 0 254:0 / " + stackMountpoint + " rw,relatime shared:1 - ext4 /dev/" + busyDevice + " rw\n"

// stackRootfs is the exporter's --path.rootfs: the fake machine's root filesystem is statfs'ed there, at /dev, a
// filesystem every Linux machine has and whose space nothing uses while the test runs (devtmpfs holds device
// nodes). The machine's real root would change with whatever else runs on it, and the forecast of a series that
// barely moves is worse than naive, whose alert is a forecast alert: it must not fire during the steady baseline.
const stackRootfs = "/dev"

// fakeProcTick is how often the driver rewrites the files. The exporter derives disk and PSI rates from counter
// differences over its own sample interval; a file up to one tick old makes those rates off by up to
// tick/interval, noise the scenario can live with at 10 ms against 50 ms samples.
const fakeProcTick = 10 * time.Millisecond

// fakeMachine is the fake host: 16 CPUs, 16 GiB of memory, 4 GiB of swap, the scenario's two disks and PSI. Its
// load averages move over 0.1, 0.5 and 1.5 s, the kernel's 1, 5 and 15 minutes compressed.
func fakeMachine() fakeproc.Machine {
	return fakeproc.Machine{CPUs: fakeCPUs, MemTotal: 16 << 20, SwapTotal: 4 << 20,
		Disks:       []fakeproc.Disk{{Major: 254, Minor: 0, Name: busyDevice}, {Major: 254, Minor: 16, Name: idleDevice}},
		Pressure:    []fakeproc.Resource{fakeproc.PressureCPU, fakeproc.PressureIO, fakeproc.PressureMemory},
		LoadPeriods: [3]time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond}}
}

const fakeCPUs = 16

// level is what the scenario asks of the fake machine at one moment.
type level struct {
	cpuBusy  float64            // share of all CPUs busy (user + system)
	memUsed  float64            // 1 − MemAvailable/MemTotal
	swapUsed float64            // 1 − SwapFree/SwapTotal
	diskUtil map[string]float64 // per device, share of time busy
	psiCPU   float64            // share of time some task stalled on CPU
}

// phase names the scenario's phases; the test moves the driver from one to the next.
type phase string

const (
	phaseBaseline phase = "baseline"
	phaseClimb    phase = "climb"
	phaseRecover  phase = "recover"
)

// Scenario shape, in test seconds (compressFactor: 1 s of the test is 10 min of production).
const (
	baseMem       = 0.40
	memClimbRate  = 0.01 // per second: 6 % per hour of production, a steady leak
	memCeiling    = 0.97 // the climb stops there if the alert has not fired yet
	baseCPU       = 0.30
	burstCPU      = 0.97
	cpuBurstStart = 5 * time.Second // after the climb starts
	cpuBurstLen   = 8 * time.Second
	baseDiskUtil  = 0.20
	busyDiskUtil  = 0.97
	diskBusyStart = 10 * time.Second
	diskBusyLen   = 10 * time.Second
	busyDevice    = "vda"
	idleDevice    = "vdb"
)

// levelAt is the scenario: a steady baseline; memory climbing from the climb on with a CPU burst and a disk going
// busy along the way; everything back to the baseline on recovery.
func levelAt(p phase, sincePhase time.Duration) level {
	l := level{cpuBusy: baseCPU, memUsed: baseMem, swapUsed: 0.10, psiCPU: 0.02,
		diskUtil: map[string]float64{busyDevice: baseDiskUtil, idleDevice: 0}}
	if p != phaseClimb {
		return l
	}
	l.memUsed = math.Min(baseMem+memClimbRate*sincePhase.Seconds(), memCeiling)
	if sincePhase >= cpuBurstStart && sincePhase < cpuBurstStart+cpuBurstLen {
		l.cpuBusy, l.psiCPU = burstCPU, 0.6
	}
	if sincePhase >= diskBusyStart && sincePhase < diskBusyStart+diskBusyLen {
		l.diskUtil[busyDevice] = busyDiskUtil
	}
	return l
}

// fakeProc drives the fake /proc tree.
type fakeProc struct {
	tree   *fakeproc.Tree
	rng    *rand.Rand
	last   time.Time
	levels fakeproc.Levels
	disks  [2]fakeproc.DiskLevel // the levels of busyDevice and idleDevice, the tree's Disks in that order

	mu       sync.Mutex // guards the fields below, shared with the test
	ph       phase
	phaseAt  time.Time
	writeErr error
	stalls   []stall
}

// stall is a time the driver did not get to rewrite the files for longer than stallGap: the exporter then saw
// counters stand still and catch up, distorting the rates it derives from wall time (disk IO, PSI; not the CPU
// shares, which are ratios of counters of one file, nor the memory and load gauges).
type stall struct {
	at  time.Time
	gap time.Duration
}

// stallGap is the longest gap between two rewrites that cannot make an exporter sample miss a counter update.
const stallGap = sampleEvery

func newFakeProc(dir string, seed uint64) (*fakeProc, error) {
	tree, err := fakeproc.New(dir, fakeMachine())
	if err != nil {
		return nil, err
	}
	tree.Load.Load = [3]float64{fakeCPUs * baseCPU, fakeCPUs * baseCPU, fakeCPUs * baseCPU}
	f := &fakeProc{tree: tree, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), ph: phaseBaseline}
	f.levels.Disks = f.disks[:]
	return f, nil
}

// setPhase moves the scenario to p now.
func (f *fakeProc) setPhase(p phase, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ph, f.phaseAt = p, now
}

func (f *fakeProc) phase() (phase, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ph, f.phaseAt
}

// step advances the counters to now and rewrites the files.
func (f *fakeProc) step(now time.Time) error {
	ph, at := f.phase()
	l := levelAt(ph, now.Sub(at))
	var dt time.Duration
	if !f.last.IsZero() {
		if dt = now.Sub(f.last); dt > stallGap {
			f.mu.Lock()
			f.stalls = append(f.stalls, stall{at: now, gap: dt})
			f.mu.Unlock()
		}
	}
	f.last = now
	noise := func(sd float64) float64 { return f.rng.NormFloat64() * sd }
	clamp01 := func(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

	busy := clamp01(l.cpuBusy + noise(0.03))
	iowait := 0.01
	f.levels.CPU = fakeproc.Busy(busy)
	f.levels.CPU.IOWait = iowait
	f.levels.Load = fakeCPUs * busy
	for i, name := range [2]string{busyDevice, idleDevice} {
		u := clamp01(l.diskUtil[name] + noise(0.02)*math.Min(l.diskUtil[name], 1))
		iops := 400 * u // r+w per second; 2.5 ms each at most one in flight
		f.disks[i] = fakeproc.DiskLevel{ReadIOPS: iops * 0.6, WriteIOPS: iops * 0.4,
			ReadBytes: iops * 0.6 * 32768, WriteBytes: iops * 0.4 * 65536, // 32 KiB reads, 64 KiB writes
			ReadAwait: 2500 * time.Microsecond, WriteAwait: 2500 * time.Microsecond,
			Util: u, Queue: u * (1 + 3*u)} // the queue grows with utilisation
	}
	f.levels.Stall[fakeproc.PressureCPU] = fakeproc.Stall{Some: clamp01(l.psiCPU + noise(0.005))}
	f.levels.Stall[fakeproc.PressureIO] = fakeproc.Stall{Some: 0.01, Full: 0.005}
	f.levels.Stall[fakeproc.PressureMemory] = fakeproc.Stall{Some: clamp01((l.memUsed - 0.8) / 2)}
	f.levels.MemUsed, f.levels.SwapUsed = clamp01(l.memUsed+noise(0.005)), l.swapUsed
	f.tree.Advance(dt, f.levels)
	return f.tree.Write()
}

// start writes the first files and then runs the driver until stop is closed; it returns once the first files
// exist. The returned channel is closed when the driver has stopped, with f.writeErr set if a write failed.
func (f *fakeProc) start(stop <-chan struct{}) (<-chan struct{}, error) {
	// The mount table does not change.
	if err := f.tree.WriteRaw("1/mountinfo", []byte(stackMountinfo)); err != nil {
		return nil, fmt.Errorf("fake proc: %w", err)
	}
	now := time.Now()
	f.setPhase(phaseBaseline, now)
	if err := f.step(now); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(fakeProcTick)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				if err := f.step(now); err != nil {
					f.mu.Lock()
					f.writeErr = err
					f.mu.Unlock()
					return
				}
			}
		}
	}()
	return done, nil
}

// stallsSince returns how many stalls the driver had since t, and the longest.
func (f *fakeProc) stallsSince(t time.Time) (n int, longest time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.stalls {
		if s.at.After(t) {
			n++
			longest = max(longest, s.gap)
		}
	}
	return n, longest
}

// err returns the driver's write error, if it stopped on one.
func (f *fakeProc) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writeErr
}
