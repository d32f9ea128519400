package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The stack test's fake /proc. A driver goroutine rewrites it every fakeProcTick: gauges (memory, load) are set to
// the scenario's level plus noise, counters (CPU ticks, disk IO, PSI stall time) advance by rate × elapsed wall
// time, so the exporter measures the scenario's rates whenever it samples. Files are replaced by rename, so the
// exporter never reads a half-written one.

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

// Fake machine shape.
const (
	fakeCPUs      = 16       // USER_HZ ticks advance by 100 × fakeCPUs per second
	fakeMemTotal  = 16 << 20 // kB
	fakeSwapTotal = 4 << 20  // kB
	userHZ        = 100
)

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

// diskCounters are the cumulative /proc/diskstats fields of one device the exporter reads.
type diskCounters struct {
	reads, readSectors, readMs, writes, writeSectors, writeMs, ioMs, weightedMs float64
}

// fakeProc owns the fake /proc directory and its counters.
type fakeProc struct {
	dir  string
	rng  *rand.Rand
	last time.Time

	cpu      [8]float64 // user nice system idle iowait irq softirq steal, in ticks
	disks    map[string]*diskCounters
	psi      map[string]*[2]float64 // resource → some, full totals in µs
	load     [3]float64
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

func newFakeProc(dir string, seed uint64) *fakeProc {
	f := &fakeProc{dir: dir, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), ph: phaseBaseline,
		disks: map[string]*diskCounters{busyDevice: {}, idleDevice: {}},
		psi:   map[string]*[2]float64{"cpu": {}, "io": {}, "memory": {}},
		load:  [3]float64{fakeCPUs * baseCPU, fakeCPUs * baseCPU, fakeCPUs * baseCPU}}
	f.cpu = [8]float64{1e6, 0, 3e5, 5e6, 1e4, 0, 0, 0}
	return f
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
	dt := 0.0
	if !f.last.IsZero() {
		dt = now.Sub(f.last).Seconds()
		if gap := now.Sub(f.last); gap > stallGap {
			f.mu.Lock()
			f.stalls = append(f.stalls, stall{at: now, gap: gap})
			f.mu.Unlock()
		}
	}
	f.last = now
	noise := func(sd float64) float64 { return f.rng.NormFloat64() * sd }
	clamp01 := func(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

	ticks := dt * userHZ * fakeCPUs
	busy := clamp01(l.cpuBusy + noise(0.03))
	iowait := 0.01
	f.cpu[0] += ticks * busy * 0.7
	f.cpu[2] += ticks * busy * 0.3
	f.cpu[4] += ticks * iowait
	f.cpu[3] += ticks * (1 - busy - iowait)

	for name, d := range f.disks {
		u := clamp01(l.diskUtil[name] + noise(0.02)*math.Min(l.diskUtil[name], 1))
		iops := 400 * u // r+w per second; 2.5 ms each at most one in flight
		d.reads += dt * iops * 0.6
		d.writes += dt * iops * 0.4
		d.readSectors += dt * iops * 0.6 * 64 // 32 KiB reads
		d.writeSectors += dt * iops * 0.4 * 128
		d.readMs += dt * iops * 0.6 * 2.5
		d.writeMs += dt * iops * 0.4 * 2.5
		d.ioMs += dt * 1000 * u
		d.weightedMs += dt * 1000 * u * (1 + 3*u) // queue grows with utilisation
	}
	f.psi["cpu"][0] += dt * 1e6 * clamp01(l.psiCPU+noise(0.005))
	f.psi["io"][0] += dt * 1e6 * 0.01
	f.psi["io"][1] += dt * 1e6 * 0.005
	f.psi["memory"][0] += dt * 1e6 * clamp01((l.memUsed-0.8)/2)

	// Load averages decay towards the busy CPU count like the kernel's (1, 5, 15 minute, compressed).
	for i, tau := range [3]float64{0.1, 0.5, 1.5} {
		f.load[i] += (fakeCPUs*busy - f.load[i]) * (1 - math.Exp(-dt/tau))
	}
	mem := clamp01(l.memUsed + noise(0.005))
	return f.write(mem, l.swapUsed)
}

func (f *fakeProc) write(memUsed, swapUsed float64) error {
	var stat strings.Builder
	line := func(name string, div float64) {
		fmt.Fprintf(&stat, "%s", name)
		for _, v := range f.cpu {
			fmt.Fprintf(&stat, " %d", uint64(v/div))
		}
		stat.WriteString(" 0 0\n")
	}
	line("cpu ", 1)
	for i := range fakeCPUs {
		line(fmt.Sprintf("cpu%d", i), fakeCPUs)
	}
	stat.WriteString("intr 0\nctxt 0\nbtime 1700000000\nprocesses 1000\nprocs_running 2\nprocs_blocked 0\n")

	avail := fakeMemTotal * (1 - memUsed)
	meminfo := fmt.Sprintf("MemTotal: %d kB\nMemFree: %d kB\nMemAvailable: %d kB\nBuffers: 1000 kB\nCached: %d kB\n"+
		"SwapCached: 0 kB\nSwapTotal: %d kB\nSwapFree: %d kB\nSReclaimable: 1000 kB\n",
		fakeMemTotal, uint64(avail/2), uint64(avail), uint64(avail/2), fakeSwapTotal, uint64(fakeSwapTotal*(1-swapUsed)))

	var disk strings.Builder
	for i, name := range []string{busyDevice, idleDevice} {
		d := f.disks[name]
		fmt.Fprintf(&disk, " 254 %d %s %d 0 %d %d %d 0 %d %d 0 %d %d 0 0 0 0 0 0\n", 16*i, name,
			uint64(d.reads), uint64(d.readSectors), uint64(d.readMs), uint64(d.writes), uint64(d.writeSectors),
			uint64(d.writeMs), uint64(d.ioMs), uint64(d.weightedMs))
	}
	files := map[string]string{
		"stat":      stat.String(),
		"meminfo":   meminfo,
		"diskstats": disk.String(),
		"loadavg":   fmt.Sprintf("%.2f %.2f %.2f 2/300 4321\n", f.load[0], f.load[1], f.load[2]),
	}
	for res, v := range f.psi {
		files["pressure/"+res] = fmt.Sprintf("some avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n"+
			"full avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n", uint64(v[0]), uint64(v[1]))
	}
	for name, content := range files {
		p := filepath.Join(f.dir, name)
		tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write fake %s: %w", name, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("replace fake %s: %w", name, err)
		}
	}
	return nil
}

// start writes the first files and then runs the driver until stop is closed; it returns once the first files
// exist. The returned channel is closed when the driver has stopped, with f.writeErr set if a write failed.
func (f *fakeProc) start(stop <-chan struct{}) (<-chan struct{}, error) {
	for _, d := range []string{"pressure", "1"} {
		if err := os.MkdirAll(filepath.Join(f.dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("fake proc: %w", err)
		}
	}
	// The mount table does not change.
	if err := os.WriteFile(filepath.Join(f.dir, "1", "mountinfo"), []byte(stackMountinfo), 0o644); err != nil {
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
