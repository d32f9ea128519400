package collector

import (
	"time"

	"github.com/servermon/servermon_exporter/internal/exposition"
)

// AppendMetrics appends the families of the latest sample: the observed gauges (window average, then peak), the
// collectors' own health and the sampler's settings. It makes the Sampler an exposition.Producer; it may be called
// from any goroutine.
func (s *Sampler) AppendMetrics(b []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	since := s.store.offset(s.cfg.windowStart(s.store.now))
	for _, fg := range s.store.families {
		sampledEvery := s.cfg.Interval
		if fg.family.Slow {
			sampledEvery *= time.Duration(s.cfg.slowIntervals())
		}
		suffixes := s.helpSuffixes(sampledEvery)
		if fg.family.Latest {
			b = appendLatest(b, fg, since, suffixes[2])
			continue
		}
		b = appendFamily(b, fg, since, false, suffixes[0])
		if fg.family.PeakName != "" {
			b = appendFamily(b, fg, since, true, suffixes[1])
		}
	}

	b = exposition.AppendHeader(b, "servermon_collector_success", "Whether the collector's latest read succeeded (1) or failed (0).", exposition.Gauge)
	for _, st := range s.sources {
		b = exposition.AppendSample(b, "servermon_collector_success", st.labels, boolValue(st.success))
	}
	b = exposition.AppendHeader(b, "servermon_collector_duration_seconds", "Time the collector's latest read of /proc took.", exposition.Gauge)
	for _, st := range s.sources {
		b = exposition.AppendSample(b, "servermon_collector_duration_seconds", st.labels, st.duration.Seconds())
	}
	b = exposition.AppendHeader(b, "servermon_sample_interval_seconds", "Interval at which /proc is sampled in the background (--sample.interval).", exposition.Gauge)
	b = exposition.AppendSample(b, "servermon_sample_interval_seconds", "", s.cfg.Interval.Seconds())
	b = exposition.AppendHeader(b, "servermon_sample_window_seconds", "Window over which the observed averages and peaks are computed (--sample.window).", exposition.Gauge)
	b = exposition.AppendSample(b, "servermon_sample_window_seconds", "", s.cfg.Window.Seconds())
	b = exposition.AppendHeader(b, "servermon_samples_total", "Samples taken since the exporter started.", exposition.Counter)
	return exposition.AppendSample(b, "servermon_samples_total", "", float64(s.store.seq))
}

// helpSuffixes returns the sentences that end the HELP of an average, of a peak and of a latest value (Family.Latest)
// of values sampled every sampledEvery, built once per distinct spacing.
func (s *Sampler) helpSuffixes(sampledEvery time.Duration) [3]string {
	if v, ok := s.suffixes[sampledEvery]; ok {
		return v
	}
	over := " over the last " + exposition.FormatDuration(s.cfg.Window) + " of values sampled every " + exposition.FormatDuration(sampledEvery) + "."
	v := [3]string{" Average" + over, " Maximum" + over, " Latest value, sampled every " + exposition.FormatDuration(sampledEvery) + "."}
	if s.suffixes == nil {
		s.suffixes = map[time.Duration][3]string{}
	}
	s.suffixes[sampledEvery] = v
	return v
}

// appendFamily appends the average (or the peak) of every gauge of a family that has values in the window; a
// family without any is left out entirely.
func appendFamily(b []byte, fg *familyGauges, since int64, peak bool, helpSuffix string) []byte {
	name, help := fg.family.Name, fg.family.Help
	if peak {
		name, help = fg.family.PeakName, fg.family.PeakHelp
	}
	header := false
	for _, g := range fg.gauges {
		avg, max, ok := g.window(since)
		if !ok {
			continue
		}
		if !header {
			b = exposition.AppendHeader(b, name, help+helpSuffix, exposition.Gauge)
			header = true
		}
		v := avg
		if peak {
			v = max
		}
		b = exposition.AppendSample(b, name, g.labelText, v)
	}
	return b
}

// appendLatest appends the newest value in the window of every gauge of a Latest family that has one.
func appendLatest(b []byte, fg *familyGauges, since int64, helpSuffix string) []byte {
	header := false
	for _, g := range fg.gauges {
		v, ok := g.newest(since)
		if !ok {
			continue
		}
		if !header {
			b = exposition.AppendHeader(b, fg.family.Name, fg.family.Help+helpSuffix, exposition.Gauge)
			header = true
		}
		b = exposition.AppendSample(b, fg.family.Name, g.labelText, v)
	}
	return b
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
