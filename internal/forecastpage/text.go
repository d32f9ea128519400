package forecastpage

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The words beside each chart and in the summary. Every method reads only the series' report, so the HTML and the
// JSON say the same.

// Title names what is forecast: "Memory usage".
func (s *seriesReport) Title() string {
	if s.Target.Title != "" {
		return s.Target.Title
	}
	return s.Target.Name
}

// Subject names the device of a per-device series by its label values ("sda"), empty for a host-wide one.
func (s *seriesReport) Subject() string {
	var parts []string
	for _, l := range s.Labels {
		parts = append(parts, l.Value)
	}
	return strings.Join(parts, ", ")
}

// FullTitle is Title and, for a device, Subject.
func (s *seriesReport) FullTitle() string {
	if sub := s.Subject(); sub != "" {
		return s.Title() + " — " + sub
	}
	return s.Title()
}

// LatestText is the newest step's value.
func (s *seriesReport) LatestText() string {
	if !s.HasLast {
		return "no data yet"
	}
	return s.unit.format(s.Latest)
}

// ThresholdText is the threshold's level.
func (s *seriesReport) ThresholdText() string { return s.unit.formatLevel(s.Threshold) }

// HasThreshold reports whether the target has a time until threshold.
func (s *seriesReport) HasThreshold() bool { return s.ETA.State != etaNone }

// firstWarmup is the time until the first horizon is served, 0 when one is.
func (s *seriesReport) firstWarmup() float64 {
	first := math.Inf(1)
	for _, h := range s.Horizons {
		if h.Ready {
			return 0
		}
		first = min(first, h.Warmup)
	}
	if math.IsInf(first, 1) {
		return 0
	}
	return first
}

// Notable reports whether the threshold is reached or the point forecast reaches it, for the summary to stand it
// out.
func (s *seriesReport) Notable() bool {
	return s.ETA.State == etaReached || s.ETA.State == etaAhead && !math.IsInf(s.ETA.Expected, 1)
}

// Warming reports whether no horizon is served yet.
func (s *seriesReport) Warming() bool {
	for _, h := range s.Horizons {
		if h.Ready {
			return false
		}
	}
	return true
}

// inAbout is "in about 3 h", or "within a minute" for less.
func inAbout(sec float64) string {
	if sec < 60 {
		return "within a minute"
	}
	return "in about " + humanDuration(sec)
}

// inTime is "in 3 h", or "within a minute" for less.
func inTime(sec float64) string {
	if sec < 60 {
		return "within a minute"
	}
	return "in " + humanDuration(sec)
}

// Sentence is the summary of the series, without its title: "reaches 95 % in about 3 h".
func (s *seriesReport) Sentence() string {
	if !s.HasLast {
		return "no data yet"
	}
	if s.Warming() {
		return "warming up, forecasts " + inTime(s.firstWarmup())
	}
	thr := s.ThresholdText()
	switch s.ETA.State {
	case etaReached:
		return fmt.Sprintf("at or above %s now (%s)", thr, s.LatestText())
	case etaAhead:
		if math.IsInf(s.ETA.Expected, 1) {
			return fmt.Sprintf("not expected to reach %s within %s; earliest plausible %s", thr, humanDuration(s.ETA.Range), inTime(s.ETA.Earliest))
		}
		out := fmt.Sprintf("reaches %s %s", thr, inAbout(s.ETA.Expected))
		if s.ETA.Earliest < s.ETA.Expected && humanDuration(s.ETA.Earliest) != humanDuration(s.ETA.Expected) {
			out += fmt.Sprintf(", earliest plausible %s", inTime(s.ETA.Earliest))
		}
		return out
	case etaBeyond:
		return fmt.Sprintf("does not reach %s within the next %s", thr, humanDuration(s.ETA.Range))
	}
	// No threshold: say where it is heading.
	h, ok := s.headline()
	if !ok {
		return s.LatestText() + " now"
	}
	return fmt.Sprintf("%s now, %s expected in %s", s.LatestText(), s.unit.format(h.Forecast.Point), exactSpan(h.Horizon))
}

// headline is the horizon the summary of a target without threshold quotes: the trust gate's when served, else the
// largest served.
func (s *seriesReport) headline() (horizonReport, bool) {
	var best horizonReport
	found := false
	for _, h := range s.Horizons {
		if !h.Ready {
			continue
		}
		if h.Horizon == trustHorizon {
			return h, true
		}
		if !found || h.Horizon > best.Horizon {
			best, found = h, true
		}
	}
	return best, found
}

// TrustTag is the summary's word on the trust gate.
func (s *seriesReport) TrustTag() string {
	if s.Trust.Trusted {
		return "trusted by the alert rules"
	}
	return "not trusted by the alert rules"
}

// TrustText is the trust gate's verdict with its reasons.
func (s *seriesReport) TrustText() string {
	verdict := "Trusted by the alert rules"
	if !s.Trust.Trusted {
		verdict = "Not trusted by the alert rules"
	}
	return verdict + ": " + strings.Join(s.Trust.Reasons, "; ") + "."
}

// ExpectedText is when the point forecast reaches the threshold.
func (s *seriesReport) ExpectedText() string { return s.etaText(s.ETA.Expected) }

// EarliestText is when the upper bound of the interval reaches the threshold.
func (s *seriesReport) EarliestText() string { return s.etaText(s.ETA.Earliest) }

func (s *seriesReport) etaText(sec float64) string {
	switch s.ETA.State {
	case etaNone:
		return "no threshold"
	case etaWarming:
		return "not known yet: forecasts " + inTime(s.firstWarmup())
	case etaReached:
		return "reached now"
	}
	if math.IsInf(sec, 1) || math.IsNaN(sec) {
		return fmt.Sprintf("not within the %s the forecast covers", humanDuration(s.ETA.Range))
	}
	return fmt.Sprintf("%s, at %s", inAbout(sec), clockTime(s.Last.Add(time.Duration(sec*float64(time.Second))), s.Last, s.loc))
}

// clockTime renders t for a reader at ref: the time of day, with the day when it is not ref's.
func clockTime(t, ref time.Time, loc *time.Location) string {
	t, ref = t.In(loc), ref.In(loc)
	if t.YearDay() == ref.YearDay() && t.Year() == ref.Year() {
		return t.Format("15:04 MST")
	}
	return t.Format("Mon 15:04 MST")
}

// WarmupText says which horizons are served and how long the others have to go.
func (s *seriesReport) WarmupText() string {
	var served, waiting []string
	for _, h := range s.Horizons {
		if h.Ready {
			served = append(served, h.Name())
		} else {
			waiting = append(waiting, fmt.Sprintf("%s %s", h.Name(), inTime(h.Warmup)))
		}
	}
	switch {
	case len(waiting) == 0:
		return "Warm-up done: every horizon is forecast."
	case len(served) == 0:
		return "Warming up: " + strings.Join(waiting, ", ") + "."
	}
	return "Forecast at " + strings.Join(served, ", ") + "; still warming up: " + strings.Join(waiting, ", ") + "."
}

// AnomalyText is the anomaly score of the newest step.
func (s *seriesReport) AnomalyText() string {
	if !s.HasAnomaly {
		return "Anomaly score: not yet (it needs more one-step errors)."
	}
	verdict := "not anomalous"
	if s.Anomalous {
		verdict = "anomalous"
	}
	return fmt.Sprintf("Anomaly score of the newest step: %s, %s.", trimNumber(s.Anomaly, 1), verdict)
}

// HistoryText says how much history the series holds and what the chart shows of it.
func (s *seriesReport) HistoryText() string {
	return fmt.Sprintf("History held: %s.", humanDuration(s.HistorySeconds))
}

// ForecastText is the point forecast at a horizon.
func (s *seriesReport) ForecastText(h horizonReport) string { return s.unit.format(h.Forecast.Point) }

// IntervalText is the 95 % interval at a horizon.
func (s *seriesReport) IntervalText(h horizonReport) string {
	return s.unit.format(h.Forecast.Lower) + " to " + s.unit.format(h.Forecast.Upper)
}

// ErrorRatioText is the measured error ratio at a horizon, with what it means.
func (s *seriesReport) ErrorRatioText(h horizonReport) string {
	switch {
	case !h.HasErrorRatio:
		return "not measured yet"
	case math.IsInf(h.ErrorRatio, 1):
		return "∞ (the naive forecast was exact)"
	case h.ErrorRatio < 1:
		return formatRatio(h.ErrorRatio) + " (better than naive)"
	case formatRatio(h.ErrorRatio) == "1.00":
		// Exactly 1 while the forecast has fallen back to naive; a hair above it rounds to the same.
		return "1.00 (no better than naive)"
	}
	return formatRatio(h.ErrorRatio) + " (worse than naive)"
}

// WarmupCell is a horizon's warm-up still to go.
func (s *seriesReport) WarmupCell(h horizonReport) string { return "warming up, " + inTime(h.Warmup) }
