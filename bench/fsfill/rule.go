package main

// alertState is one Prometheus alerting rule evaluated once a minute: it fires at an evaluation where its condition
// has held at every evaluation for at least `for` minutes (the first evaluation that finds it true makes it
// pending; a false one resets it).
type alertState struct {
	forMin  int
	pending int // evaluations the condition has held, 0 when not
}

// eval takes the condition at one evaluation and reports whether the alert fires.
func (a *alertState) eval(cond bool) bool {
	if !cond {
		a.pending = 0
		return false
	}
	a.pending++
	return a.pending-1 >= a.forMin
}

// outcome is what one tool's warning and critical alerts did on one run, in minutes from the run's start.
type outcome struct {
	// firing[m] has bit 0 set when the warning fired at minute m, bit 1 for the critical one.
	firing []uint8
}

func (o *outcome) set(m int, warn, crit bool) {
	for len(o.firing) <= m {
		o.firing = append(o.firing, 0)
	}
	var b uint8
	if warn {
		b |= 1
	}
	if crit {
		b |= 2
	}
	o.firing[m] = b
}

// score summarises an outcome against the truth of its run.
type score struct {
	// falseMin is the minutes in which an alert of either severity fired although the filesystem does not fill:
	// from the run's scoreFrom to its end for scenarios that never fill, to the onset of the fill otherwise.
	falseMin int
	// freshMin is the same before scoreFrom: the first cycles of a sawtooth on a fresh exporter.
	freshMin int
	// warnAt and critAt are the first minute at or after the onset at which the warning (critical) starts to fire,
	// −1 when none did before the filesystem was full; only for filling runs. An alert already firing at the onset
	// (a false alarm of the sawtooth before a cleanup stops) does not count until it has resolved and fires again.
	warnAt, critAt int
}

func (o *outcome) score(ru *run) score {
	s := score{warnAt: -1, critAt: -1}
	onset, full := len(o.firing), len(o.firing)
	if ru.fills {
		onset, full = ru.onset/scrapeEvery, ru.full/scrapeEvery
	}
	from := ru.scoreFrom / scrapeEvery
	for m, b := range o.firing {
		switch {
		case m < from:
			if b != 0 && m < onset {
				s.freshMin++
			}
		case m < onset:
			if b != 0 {
				s.falseMin++
			}
		case m <= full:
			var prev uint8
			if m > 0 {
				prev = o.firing[m-1]
			}
			if b&1 != 0 && prev&1 == 0 && s.warnAt < 0 {
				s.warnAt = m
			}
			if b&2 != 0 && prev&2 == 0 && s.critAt < 0 {
				s.critAt = m
			}
		}
	}
	return s
}

// firstAlert is the first minute at which either of a run's alerts started to fire after the onset, −1 for none.
func firstAlert(s score) int {
	switch {
	case s.warnAt < 0:
		return s.critAt
	case s.critAt < 0:
		return s.warnAt
	}
	return min(s.warnAt, s.critAt)
}
