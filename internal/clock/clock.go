// Package clock reads the time as the exporter needs it: a wall time for timestamps and step alignment, and a
// monotonic time for intervals and ordering, as two separate values.
//
// time.Time carries both, but only time.Now can make one that has a monotonic reading, so a test could not build
// a clock whose wall time is stepped (by NTP, by an operator) while its monotonic time runs on. Taking the two
// apart makes that clock an ordinary value (Fake), and makes every use say which of the two it means.
package clock

import (
	"sync"
	"time"
)

// Reading is one reading of a clock.
type Reading struct {
	// Wall is the wall-clock time, without a monotonic reading. It may jump in either direction.
	Wall time.Time
	// Mono is the monotonic time since an origin fixed for the life of the clock. It never decreases.
	Mono time.Duration
}

// Clock is a source of readings. Implementations are safe for concurrent use.
type Clock interface {
	Now() Reading
}

// System is the host's clock: time.Now, its monotonic reading counted from when the System was made.
type System struct{ origin time.Time }

// NewSystem returns the host's clock.
func NewSystem() System { return System{origin: time.Now()} }

// Now reads the host's clock.
func (s System) Now() Reading {
	t := time.Now()
	return Reading{Wall: t.Round(0), Mono: t.Sub(s.origin)}
}

// Fake is a clock that moves only when told: Advance lets time pass, Step moves the wall clock alone, as an NTP
// step or `date -s` does. It is safe for concurrent use.
type Fake struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
}

// NewFake returns a fake clock whose wall time starts at wall and whose monotonic time starts at 0.
func NewFake(wall time.Time) *Fake { return &Fake{wall: wall.Round(0)} }

// Now returns the current reading.
func (f *Fake) Now() Reading {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Reading{Wall: f.wall, Mono: f.mono}
}

// Advance lets d pass: both the wall and the monotonic time move by d. A negative d is ignored: monotonic time
// never goes back.
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		return
	}
	f.mu.Lock()
	f.wall, f.mono = f.wall.Add(d), f.mono+d
	f.mu.Unlock()
}

// Step moves the wall time by d without any time passing.
func (f *Fake) Step(d time.Duration) {
	f.mu.Lock()
	f.wall = f.wall.Add(d)
	f.mu.Unlock()
}

// Set moves the wall time to wall without any time passing.
func (f *Fake) Set(wall time.Time) {
	f.mu.Lock()
	f.wall = wall.Round(0)
	f.mu.Unlock()
}
