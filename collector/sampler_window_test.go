package collector

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// jitteredRun samples a fake /proc at jittered ticks: tick i is taken at i·interval + jitter[i], and a tick in
// missed is never taken (the sampler was too late for it; the next sample covers both intervals). Before tick i
// the disk has done reads[i] more reads and the CPU pressure total has grown by stall[i] µs, both during the
// interval ending at tick i.
type jitteredRun struct {
	t        *testing.T
	p        *fakeProc
	s        *testSampler
	interval time.Duration
	start    time.Time
	// taken[i] is the time tick i was taken at, zero when it was missed.
	taken []time.Time
	// cumulative counters written before each tick
	readsTotal, stallTotal []uint64
}

func newJitteredRun(t *testing.T, slow time.Duration) *jitteredRun {
	t.Helper()
	p := newFakeProc(t, "t0")
	p.remove("pressure")
	if err := os.MkdirAll(filepath.Join(p.dir, "pressure"), 0o755); err != nil {
		t.Fatal(err)
	}
	fs, err := NewProcFS(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	s := newConfiguredTestSampler(t, []Source{NewDisk(fs, DiskConfig{}), NewPressure(fs)},
		SamplerConfig{Interval: time.Second, Window: time.Minute, SlowInterval: slow, Timeout: time.Second})
	// Tick 0 may be early: start a second after the clock, which only moves forward.
	return &jitteredRun{t: t, p: p, s: s, interval: time.Second, start: s.clock.Now().Wall.Add(time.Second)}
}

// run takes ticks 0…len(jitter)−1 and calls check after each one taken.
func (r *jitteredRun) run(jitter []time.Duration, reads, stall []uint64, missed map[int]bool, check func(i int)) {
	r.t.Helper()
	var reads0, stall0 uint64
	for i := range jitter {
		reads0 += reads[i]
		stall0 += stall[i]
		r.readsTotal = append(r.readsTotal, reads0)
		r.stallTotal = append(r.stallTotal, stall0)
		if missed[i] {
			r.taken = append(r.taken, time.Time{})
			continue
		}
		at := r.start.Add(time.Duration(i)*r.interval + jitter[i])
		r.taken = append(r.taken, at)
		r.p.write("diskstats", "   8       0 sda "+uintString(reads0)+" 0 0 0 0 0 0 0 0 0 0\n")
		r.p.write("pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total="+uintString(stall0)+"\n")
		r.s.clock.Advance(at.Sub(r.s.clock.Now().Wall))
		r.s.Sample()
		check(i)
	}
}

// rate is the exact rate of a counter over the interval from tick from to tick to, both taken.
func (r *jitteredRun) rate(total []uint64, from, to int, scale float64) float64 {
	return float64(total[to]-total[from]) * scale / r.taken[to].Sub(r.taken[from]).Seconds()
}

// TestWindowHoldsExactlyItsIntervals: with ticks up to 0.2 s early or late, the window of 1 m at 1 s holds exactly
// the last 60 intervals, so a rate over it is the counter's growth over those 60 intervals divided by their
// length. Cutting at now − window keeps a 61st interval whenever the oldest tick was later than the newest: here a
// burst of exactly 60 intervals followed by an early tick would read 60/61 of its rate.
func TestWindowHoldsExactlyItsIntervals(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(14, 1))
	jitter := make([]time.Duration, n)
	reads := make([]uint64, n)
	for i := range jitter {
		jitter[i] = time.Duration(rng.IntN(401)-200) * time.Millisecond
		reads[i] = uint64(rng.IntN(1000))
	}
	// The burst: intervals 41…100 do 500 reads each, 40 and 101 none; tick 40 is late and tick 100 early.
	for i := 35; i <= 105; i++ {
		reads[i] = 0
	}
	for i := 41; i <= 100; i++ {
		reads[i] = 500
	}
	jitter[40], jitter[100] = 200*time.Millisecond, -200*time.Millisecond

	r := newJitteredRun(t, 0)
	const series = `servermon_disk_reads_per_second{device="sda"}`
	r.run(jitter, reads, make([]uint64, n), nil, func(i int) {
		got, ok := r.s.metrics(t)[series]
		if i < 60 {
			return
		}
		if want := r.rate(r.readsTotal, i-60, i, 1); !ok || !approx(got, want) {
			t.Errorf("tick %d (jitter %s, oldest tick's %s): %s = %v, want %v over exactly 60 intervals",
				i, jitter[i], jitter[i-60], series, got, want)
		}
	})
	if got := r.rate(r.readsTotal, 40, 100, 1); !approx(got, 500*60/r.taken[100].Sub(r.taken[40]).Seconds()) {
		t.Fatalf("test setup: burst rate %v", got)
	}
}

// TestWindowAfterAMissedTick: a sample after a missed tick covers two intervals; the window still spans the last 60
// ticks' time, with 59 samples, rather than reaching one sample further back. Only while that two-interval sample
// is the oldest does the window reach one interval past its start, as no sample boundary lies there.
func TestWindowAfterAMissedTick(t *testing.T) {
	const n = 140
	jitter := make([]time.Duration, n)
	reads := make([]uint64, n)
	for i := range reads {
		reads[i] = uint64(100 + i*i%97)
		jitter[i] = time.Duration((i*37)%301-150) * time.Millisecond
	}
	missed := map[int]bool{50: true}
	r := newJitteredRun(t, 0)
	const series = `servermon_disk_reads_per_second{device="sda"}`
	r.run(jitter, reads, make([]uint64, n), missed, func(i int) {
		got := r.s.metrics(t)[series]
		from := i - 60
		switch {
		case from < 0:
			return
		case from == 50:
			from = 49 // the sample of tick 51 covers (49, 51]
		}
		if want := r.rate(r.readsTotal, from, i, 1); !approx(got, want) {
			t.Errorf("tick %d: %s = %v, want %v, the rate since tick %d", i, series, got, want, from)
		}
	})
}

// TestSlowWindowHoldsExactlyItsReads: pressure, read every 5 s, averages over the reads of the last 60 ticks of a
// 1 m window whatever the jitter: from the read before the oldest of them to the newest, 12 read intervals on a
// regular schedule. A missed read tick puts the later reads a tick late, and the rule still holds.
func TestSlowWindowHoldsExactlyItsReads(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(14, 2))
	isRead := func(i int) bool { return i%5 == 0 && i < 70 || i > 70 && (i-71)%5 == 0 }
	jitter := make([]time.Duration, n)
	stall := make([]uint64, n)
	for i := range jitter {
		jitter[i] = time.Duration(rng.IntN(401)-200) * time.Millisecond
		stall[i] = uint64(rng.IntN(1e6))
		switch {
		case i < 100 && isRead(i):
			jitter[i] = 200 * time.Millisecond // late reads that leave the window at an early tick
		case i >= 110:
			jitter[i] = -200 * time.Millisecond
		}
	}
	missed := map[int]bool{70: true}
	r := newJitteredRun(t, 5*time.Second)
	const series = `servermon_pressure_stalled_ratio{resource="cpu",kind="some"}`
	var reads []int
	r.run(jitter, make([]uint64, n), stall, missed, func(i int) {
		if isRead(i) {
			reads = append(reads, i)
		}
		if i < 60 {
			return
		}
		first := 0
		for reads[first] <= i-60 {
			first++
		}
		from, to := reads[first-1], reads[len(reads)-1]
		got := r.s.metrics(t)[series]
		if want := r.rate(r.stallTotal, from, to, 1e-6); !approx(got, want) {
			t.Errorf("tick %d: %s = %v, want %v, from the read at tick %d to the one at %d", i, series, got, want, from, to)
		}
	})
	if got := r.s.metrics(t)[`servermon_collector_success{collector="pressure"}`]; got != 1 {
		t.Fatalf("pressure collector failed")
	}
}
