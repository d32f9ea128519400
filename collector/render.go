package collector

import (
	"strconv"
	"time"
)

var (
	collectorLabels = []string{"collector"}
)

// render appends the whole exposition of the latest sample: observed gauges (window average, then peak), the
// collectors' own health, the sampler's settings and every observer's families.
func (s *Sampler) render(b []byte) []byte {
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

	b = AppendHeader(b, "servermon_collector_success", "Whether the collector's latest read succeeded (1) or failed (0).", "gauge")
	for _, st := range s.sources {
		b = AppendSample(b, "servermon_collector_success", RenderLabels(collectorLabels, []string{st.src.Name()}), boolValue(st.success))
	}
	b = AppendHeader(b, "servermon_collector_duration_seconds", "Time the collector's latest read of /proc took.", "gauge")
	for _, st := range s.sources {
		b = AppendSample(b, "servermon_collector_duration_seconds", RenderLabels(collectorLabels, []string{st.src.Name()}), st.duration.Seconds())
	}
	b = AppendHeader(b, "servermon_sample_interval_seconds", "Interval at which /proc is sampled in the background (--sample.interval).", "gauge")
	b = AppendSample(b, "servermon_sample_interval_seconds", "", s.cfg.Interval.Seconds())
	b = AppendHeader(b, "servermon_sample_window_seconds", "Window over which the observed averages and peaks are computed (--sample.window).", "gauge")
	b = AppendSample(b, "servermon_sample_window_seconds", "", s.cfg.Window.Seconds())
	b = AppendHeader(b, "servermon_samples_total", "Samples taken since the exporter started.", "counter")
	b = AppendSample(b, "servermon_samples_total", "", float64(s.store.seq))

	for _, o := range s.observers {
		b = o.AppendMetrics(b)
	}
	return b
}

// helpSuffixes returns the sentences that end the HELP of an average, of a peak and of a latest value (Family.Latest)
// of values sampled every sampledEvery, built once per distinct spacing.
func (s *Sampler) helpSuffixes(sampledEvery time.Duration) [3]string {
	if v, ok := s.suffixes[sampledEvery]; ok {
		return v
	}
	over := " over the last " + FormatDuration(s.cfg.Window) + " of values sampled every " + FormatDuration(sampledEvery) + "."
	v := [3]string{" Average" + over, " Maximum" + over, " Latest value, sampled every " + FormatDuration(sampledEvery) + "."}
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
			b = AppendHeader(b, name, help+helpSuffix, "gauge")
			header = true
		}
		v := avg
		if peak {
			v = max
		}
		b = AppendSample(b, name, g.labelText, v)
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
			b = AppendHeader(b, fg.family.Name, fg.family.Help+helpSuffix, "gauge")
			header = true
		}
		b = AppendSample(b, fg.family.Name, g.labelText, v)
	}
	return b
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// FormatFloat formats a label value such as a threshold, as short as round-trips.
func FormatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// FormatDuration spells a duration in its largest whole unit, as horizon labels and HELP texts use it: 24h, 5m,
// 1s, 250ms. Durations that are no whole number of milliseconds fall back to time.Duration's spelling.
func FormatDuration(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d != 0 && d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return d.String()
}
