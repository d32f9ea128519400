package forecaster

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/servermon/servermon_exporter/collector"
)

// A forecast series only grows at its end, so history loaded from elsewhere (internal/backfill) must arrive before
// the live steps. Hold makes the forecaster keep the steps the live samples finish instead of pushing them;
// Backfill then adds history behind what each series holds, and Release pushes the kept live steps and forecasts
// live from then on. The observed gauges are served throughout: only the forecasts wait.

// maxHeldSteps bounds the live steps kept per series while held; a backfill that takes longer than that many steps
// is released without waiting for it, so that a slow source never holds the forecasts for long.
const maxHeldSteps = 1024

// heldStep is a live step kept while the forecaster is held.
type heldStep struct {
	start time.Time
	mean  float64
}

// Hold makes the forecaster keep the live steps until Release. Call it before the first sample.
func (f *Forecaster) Hold() {
	f.mu.Lock()
	f.held = true
	f.mu.Unlock()
}

// push pushes a finished live step of s, or keeps it while held. Called with mu held.
func (f *Forecaster) push(s *series, start time.Time, mean float64) {
	if !f.held {
		s.pushStep(start, mean)
		return
	}
	s.heldSteps = append(s.heldSteps, heldStep{start, mean})
	if len(s.heldSteps) >= maxHeldSteps {
		f.logger.Warn("forecast history still loading after many steps, forecasting from live data", "steps", len(s.heldSteps))
		f.release()
	}
}

// Release pushes the live steps kept since Hold and forecasts live from then on. It is safe to call more than once.
func (f *Forecaster) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.release()
}

func (f *Forecaster) release() {
	if !f.held {
		return
	}
	f.held = false
	for _, s := range f.sorted {
		for _, st := range s.heldSteps {
			s.pushStep(st.start, st.mean)
		}
		s.heldSteps = nil
	}
}

// Holding is what a series holds, for a backfill to know what to ask for.
type Holding struct {
	Target                  *collector.Target
	LabelNames, LabelValues []string
	// Next is the start of the step after the newest one the series holds; zero when it holds none.
	Next time.Time
}

// Holdings returns what every series holds now, and the start of the step of the first live sample (zero before
// any): history loaded must end before it.
func (f *Forecaster) Holdings() ([]Holding, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Holding, 0, len(f.sorted))
	for _, s := range f.sorted {
		h := Holding{Target: s.target, LabelNames: s.labelNames, LabelValues: s.labelValues}
		if last, _, ok := s.fc.Last(); ok {
			h.Next = last.Add(f.cfg.Step)
		}
		out = append(out, h)
	}
	return out, f.liveStart()
}

// liveStart is the start of the step of the first live sample, zero before it. Called with mu held.
func (f *Forecaster) liveStart() time.Time {
	if !f.anchored {
		return time.Time{}
	}
	return f.anchorWall.Truncate(f.cfg.Step)
}

// Backfill adds history to the series of target t with the given labels, creating it if need be (the group's cap
// applies): values[i] is the mean of the step starting at start + i·Step, NaN where unknown. Only the steps after
// the newest one the series holds, within History of the first live step, and before it, are used; start must be
// a multiple of Step. It returns the number of steps added. Call it between Hold and Release.
func (f *Forecaster) Backfill(t *collector.Target, names, labelValues []string, start time.Time, values []float64) (int, error) {
	if t == nil {
		return 0, errors.New("backfill: no target")
	}
	if !start.Equal(start.Truncate(f.cfg.Step)) {
		return 0, fmt.Errorf("backfill of %s: start %s is not on the %s step grid", t.Name, start, f.cfg.Step)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.held {
		return 0, fmt.Errorf("backfill of %s: the live forecasts are not held", t.Name)
	}
	if !validLabels(names, labelValues) {
		return 0, fmt.Errorf("backfill of %s: labels %q=%q", t.Name, names, labelValues)
	}
	s, err := f.add(t, names, labelValues)
	if err != nil {
		return 0, fmt.Errorf("backfill of %s: %w", t.Name, err)
	}
	end := f.liveStart() // exclusive; zero when no live sample came yet: nothing limits the end but the values
	from := time.Time{}
	if last, _, ok := s.fc.Last(); ok {
		from = last.Add(f.cfg.Step)
	}
	if !end.IsZero() {
		if oldest := end.Add(-f.cfg.History); from.Before(oldest) {
			from = oldest
		}
	}
	added := 0
	for i, v := range values {
		at := start.Add(time.Duration(i) * f.cfg.Step)
		if at.Before(from) || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if !end.IsZero() && !at.Before(end) {
			break
		}
		if s.pushStep(at, clampTo(v, t)) {
			added++
		}
	}
	return added, nil
}

// clampTo bounds a loaded value to the target's range, as the collector's families bound live ones.
func clampTo(v float64, t *collector.Target) float64 { return math.Max(t.Min, math.Min(t.Max, v)) }
