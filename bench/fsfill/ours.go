package main

import (
	"math"
	"time"

	"github.com/servermon/servermon_exporter/forecast"
)

// Our rule, as in rules/servermon-alerts.yml (ServermonFilesystemFillingUp) and docs/runbooks.md.
const (
	warnETA     = 24 * 3600
	critETA     = 4 * 3600
	gateHistory = 21600
)

// ourSettings are the exporter's and the rule's settings the bench runs with.
type ourSettings struct {
	threshold        float64
	warnFor, critFor int // minutes
	// rescale makes the replay call Rescale when the filesystem's size changes, as the exporter does.
	rescale bool
	// noSeriesETA skips the reference column (the generic Series.SecondsUntil, ≈ 40 µs a step).
	noSeriesETA bool
	// noGate drops the trust gate from our rule: a diagnostic of what the gate costs, not the shipped rule.
	noGate    bool
	dump      func(minute int, v, eta, rate, errRatio float64, gate, warn, crit bool)
	dumpEvery int
}

// ourResult is what our side did on one run: the rule on the fill estimator's ETA, the same rule on the generic
// Series.SecondsUntil for reference, and the fill ETA's ratio to the true time until the threshold at the minutes
// of a fill at which the truth is 1 to 24 h away.
type ourResult struct {
	fill, series outcome
	etaRatios    []float64
}

// runOurs replays a run through the exporter's forecasting at its defaults (5 s samples averaged into 1 m steps,
// forecast.DefaultConfig with bounds 0..1, forecast.DefaultFillConfig) and evaluates our rule once a minute, right
// after each step: the ETA below the rule's bound, the trust gate (error ratio at 1 h below 1, at least 6 h of
// history), held for `for`.
func runOurs(ru *run, st ourSettings) (ourResult, error) {
	cfg := forecast.DefaultConfig()
	cfg.Min, cfg.Max = 0, 1
	s, err := forecast.NewSeries(cfg)
	if err != nil {
		return ourResult{}, err
	}
	h1 := -1
	for i, h := range cfg.Horizons {
		if h == time.Hour {
			h1 = i
		}
	}
	fill, err := forecast.NewFill(forecast.DefaultFillConfig(cfg.Step))
	if err != nil {
		return ourResult{}, err
	}
	cross := -1 // minute at which the truth reaches the threshold
	if ru.fills {
		for m, v := range ru.truth {
			if m >= ru.onset/scrapeEvery && float64(v) >= st.threshold {
				cross = m
				break
			}
		}
	}
	res := forecast.NewResampler(cfg.Step)
	alerts := [4]alertState{{forMin: st.warnFor}, {forMin: st.critFor}, {forMin: st.warnFor}, {forMin: st.critFor}}
	var out ourResult
	for i := range ru.avail {
		at := start.Add(time.Duration(i) * sampleInterval)
		if st.rescale && i > 0 && ru.size[i] != ru.size[i-1] {
			// The exporter sees the new size with the sample: used bytes are unchanged, so the ratio's unit changes
			// by the ratio of the capacities (used + avail), here that of the sizes.
			c := ru.size[i-1] / ru.size[i]
			s.Rescale(c)
			fill.Rescale(c)
			res.Rescale(c)
		}
		stepStart, mean, done := res.Add(at, ru.usage(i))
		if !done {
			continue
		}
		s.Push(stepStart, mean)
		fill.Push(stepStart, mean)
		etaF, etaS := math.Inf(1), math.Inf(1)
		if e, ok := fill.SecondsUntil(st.threshold); ok {
			etaF = e
		}
		if !st.noSeriesETA {
			if e, ok := s.SecondsUntil(st.threshold); ok {
				etaS = e
			}
		}
		er, ok := s.ErrorRatio(h1)
		gate := ok && er < 1 && s.HistorySeconds() >= gateHistory || st.noGate
		m := int(at.Sub(start) / time.Minute)
		w, c := alerts[0].eval(gate && etaF < warnETA), alerts[1].eval(gate && etaF < critETA)
		out.fill.set(m, w, c)
		out.series.set(m, alerts[2].eval(gate && etaS < warnETA), alerts[3].eval(gate && etaS < critETA))
		if cross >= 0 && m >= ru.onset/scrapeEvery && m < cross && gate {
			if truth := float64(cross-m) * 60; truth >= 3600 && truth <= 86400 {
				out.etaRatios = append(out.etaRatios, etaF/truth)
			}
		}
		if st.dump != nil && m%st.dumpEvery == 0 {
			rate, _ := fill.Rate()
			st.dump(m, mean, etaF, rate, er, gate, w, c)
		}
	}
	return out, nil
}
