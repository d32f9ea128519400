package collector

import (
	"fmt"
	"math"
	"time"

	"github.com/prometheus/procfs"
)

// load1Target forecasts the 1-minute load average.
var load1Target = &Target{Name: "load1", Title: "Load average (1m)", Max: math.Inf(1)}

// loadFamilies expose the latest /proc/loadavg values, as node_load1 does: the kernel's numbers are already
// exponentially damped averages, and a window mean of them would lag the kernel's by about half the window.
var loadFamilies = [3]*Family{
	{Name: "servermon_load1", Help: "1-minute load average (runnable plus uninterruptible tasks), as /proc/loadavg shows it.", Target: load1Target, Slow: true, Latest: true},
	{Name: "servermon_load5", Help: "5-minute load average (runnable plus uninterruptible tasks), as /proc/loadavg shows it.", Slow: true, Latest: true},
	{Name: "servermon_load15", Help: "15-minute load average (runnable plus uninterruptible tasks), as /proc/loadavg shows it.", Slow: true, Latest: true},
}

type loadSource struct {
	proc   ProcFS
	file   *procFile
	loads  [3]float64
	gauges [3]*Gauge
}

// NewLoad returns the source of /proc/loadavg.
func NewLoad(proc ProcFS) Source { return &loadSource{proc: proc, file: proc.file("loadavg", true)} }

func (l *loadSource) Name() string { return "load" }

// Slow makes the load source a SlowSource: the kernel recomputes the load averages every 5 s (LOAD_FREQ), so
// reading /proc/loadavg more often returns the same numbers again.
func (l *loadSource) Slow() {}

func (l *loadSource) Read(time.Duration) error {
	data, err := l.file.read()
	if err != nil {
		return fmt.Errorf("reading loadavg: %w", err)
	}
	la, err := l.parse(data)
	if err != nil {
		return err
	}
	l.loads = [3]float64{la.Load1, la.Load5, la.Load15}
	for _, v := range l.loads {
		if v < 0 {
			return fmt.Errorf("loadavg: negative load %g", v)
		}
	}
	return nil
}

func (l *loadSource) Update(st *Store) {
	for i, f := range loadFamilies {
		if l.gauges[i] == nil {
			l.gauges[i] = st.Gauge(f)
		}
		st.Set(l.gauges[i], l.loads[i])
	}
}

// parse parses /proc/loadavg's content, through procfs when the fast parser does not take it.
func (l *loadSource) parse(data []byte) (procfs.LoadAvg, error) {
	var la procfs.LoadAvg
	if parseLoadAvg(data, &la) {
		return la, nil
	}
	all, err := l.proc.fs.LoadAvg()
	if err != nil {
		return la, fmt.Errorf("reading loadavg: %w", err)
	}
	return *all, nil
}

// Close closes /proc/loadavg.
func (l *loadSource) Close() error { return l.file.Close() }
