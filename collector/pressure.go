package collector

import (
	"errors"
	"fmt"
	"io/fs"
	"time"
)

var pressureFamily = &Family{
	Name:       "servermon_pressure_stalled_ratio",
	Help:       "Share of wall time in which some (kind=some) or all non-idle (kind=full) tasks were stalled on the resource, from /proc/pressure totals.",
	LabelNames: []string{"resource", "kind"},
	Max:        1,
	Slow:       true,
}

var pressureResources = [...]string{"cpu", "io", "memory"}

// psiTotals is one resource's stall totals in microseconds; present is false where the kernel has no such file.
type psiTotals struct {
	present    bool
	some, full uint64
	hasFull    bool
}

type pressureSource struct {
	proc  ProcFS
	files [len(pressureResources)]*procFile

	at, prevAt time.Duration
	cur, prev  [len(pressureResources)]psiTotals
	hasPrev    bool

	some, full [len(pressureResources)]*Gauge
}

// NewPressure returns the source of /proc/pressure/{cpu,io,memory}. A kernel without PSI (before 4.20, or booted
// without psi=1) is not a fault: the family is simply absent.
func NewPressure(proc ProcFS) Source {
	p := &pressureSource{proc: proc}
	for i, r := range pressureResources {
		p.files[i] = proc.file("pressure/"+r, true)
	}
	return p
}

func (p *pressureSource) Name() string { return "pressure" }

// Slow makes the pressure source a SlowSource: only the window average is exposed, Σstall/Σtime, which the stall
// totals give exactly over any spacing of reads (to within one spacing at the window's edges).
func (p *pressureSource) Slow() {}

func (p *pressureSource) Read(now time.Duration) error {
	var next [len(pressureResources)]psiTotals
	for i, r := range pressureResources {
		st, err := p.readResource(i)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading pressure/%s: %w", r, err)
		}
		if !st.hasSome {
			return fmt.Errorf("pressure/%s: no \"some\" line", r)
		}
		next[i] = psiTotals{present: true, some: st.some.Total}
		if st.hasFull {
			next[i].full, next[i].hasFull = st.full.Total, true
		}
	}
	p.prev, p.prevAt, p.cur, p.at = p.cur, p.at, next, now
	return nil
}

// readResource reads one pressure file.
func (p *pressureSource) readResource(i int) (psiReading, error) {
	data, err := p.files[i].read()
	if err != nil {
		return psiReading{}, err
	}
	return p.parse(i, data)
}

// parse parses the content of resource i's pressure file, through procfs when the fast parser does not take it.
func (p *pressureSource) parse(i int, data []byte) (psiReading, error) {
	var r psiReading
	if parsePSI(data, &r) {
		return r, nil
	}
	st, err := p.proc.fs.PSIStatsForResource(pressureResources[i])
	if err != nil {
		return psiReading{}, err
	}
	if st.Some != nil {
		r.some, r.hasSome = *st.Some, true
	}
	if st.Full != nil {
		r.full, r.hasFull = *st.Full, true
	}
	return r, nil
}

// Close closes the pressure files.
func (p *pressureSource) Close() error {
	var errs []error
	for _, f := range p.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

func (p *pressureSource) Update(st *Store) {
	dt := (p.at - p.prevAt).Seconds()
	for i, cur := range p.cur {
		if !cur.present {
			st.Remove(p.some[i])
			st.Remove(p.full[i])
			p.some[i], p.full[i] = nil, nil
			continue
		}
		if p.some[i] == nil {
			p.some[i] = st.Gauge(pressureFamily, pressureResources[i], "some")
		}
		if cur.hasFull && p.full[i] == nil {
			p.full[i] = st.Gauge(pressureFamily, pressureResources[i], "full")
		}
		prev := p.prev[i]
		if !p.hasPrev || !prev.present || dt <= 0 {
			continue
		}
		if d, ok := counterDelta(cur.some, prev.some); ok {
			st.Observe(p.some[i], d/1e6, dt)
		}
		if cur.hasFull && prev.hasFull {
			if d, ok := counterDelta(cur.full, prev.full); ok {
				st.Observe(p.full[i], d/1e6, dt)
			}
		}
	}
	p.hasPrev = true
}
