package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/exposition"
	"github.com/servermon/servermon_exporter/internal/ticktimer"
)

// Observer is told about every sample, e.g. the forecaster, which feeds the gauges' newest values to its series.
//
// ObserveSample runs in the sampling goroutine, after every sample, with the sampler's lock held: the store holds
// the new interval's values and cannot change until it returns. It must not block, keep st or its gauges' values
// beyond the call in any form that it reads later without the sampler's lock, or call back into the sampler.
// Whatever else reads the observer's own state (a scrape rendering it, a state saver) does so from other
// goroutines, so the observer guards that state itself.
type Observer interface {
	ObserveSample(now clock.Reading, st *Store)
}

// SamplerConfig configures the background sampler.
type SamplerConfig struct {
	// Interval between two samples (--sample.interval).
	Interval time.Duration
	// Window over which averages and peaks are computed (--sample.window).
	Window time.Duration
	// SlowInterval is the interval between two reads of a SlowSource (--sample.slow-interval), rounded to whole
	// sample intervals and at most half the window; zero reads them at every sample.
	SlowInterval time.Duration
	// Timeout bounds one source's read; a source still reading after it is reported failed and skipped until
	// its read returns.
	Timeout time.Duration
	// Clock is the clock; the host's when nil. Sampling follows its monotonic time, so a stepped wall clock
	// neither reorders samples nor distorts rates; observers get both readings.
	Clock clock.Clock
	// Logger receives one line per distinct source failure and one when it recovers.
	Logger *slog.Logger
}

// Validate reports a configuration the sampler cannot work with.
func (c SamplerConfig) Validate() error {
	switch {
	case c.Interval <= 0:
		return fmt.Errorf("sample interval must be positive, got %s", c.Interval)
	case c.Window < c.Interval:
		return fmt.Errorf("sample window %s must be at least the sample interval %s", c.Window, c.Interval)
	case c.Window/c.Interval > 100000:
		return fmt.Errorf("sample window %s holds more than 100000 intervals of %s", c.Window, c.Interval)
	case c.SlowInterval < 0:
		return fmt.Errorf("slow sample interval must not be negative, got %s", c.SlowInterval)
	case c.Timeout <= 0 || c.Timeout > c.Interval:
		return fmt.Errorf("collector timeout %s must be positive and at most the sample interval %s", c.Timeout, c.Interval)
	}
	return nil
}

// windowStart returns the time after which the samples of the window ending at now were taken: those of the last
// ⌈Window/Interval⌉ ticks. Ticks jitter (timer wake-ups, a late or early sample), so cutting at now − Window would
// sometimes keep the sample of one tick more, and a window of 60 intervals would cover 61. The cut lies half an
// interval after the oldest tick's nominal time instead, which keeps exactly those ticks as long as the jitter of
// two ticks differs by less than half an interval. A sample after a missed tick covers both intervals, so the
// window still spans the same time with one sample less.
func (c SamplerConfig) windowStart(now time.Duration) time.Duration {
	ticks := (c.Window + c.Interval - 1) / c.Interval
	return now + c.Interval/2 - ticks*c.Interval
}

// slowIntervals returns the number of sample intervals between two reads of a SlowSource: SlowInterval rounded to
// whole intervals, at least one, and at most half the window so that every window holds two reads.
func (c SamplerConfig) slowIntervals() int {
	n := int(math.Round(float64(c.SlowInterval) / float64(c.Interval)))
	return max(1, min(n, int(c.Window/(2*c.Interval))))
}

type sourceState struct {
	src Source
	// done receives the outcome of every read. Between Start and Close a reader goroutine takes sample times
	// from req and closes exited when it ends; otherwise each read runs in a goroutine of its own.
	done   chan error
	req    chan time.Duration
	exited chan struct{}

	// Touched by the sampling goroutine only.
	busy    bool // a read is still running past its timeout
	readErr error
	readDur time.Duration
	// every is the number of sample intervals between two reads (1 but for a SlowSource); due is the
	// monotonic time from which the next read is taken, and skipped is set in a sample that does not read the
	// source.
	every   int
	due     time.Duration
	skipped bool

	labels string // {collector="<name>"}

	// Guarded by Sampler.mu: what the exposition shows.
	success  bool
	duration time.Duration
	lastErr  string
}

// Sampler samples every source at a fixed interval into a Store, tells its observers, and renders the observed
// gauges and the collectors' health as an exposition.Producer.
type Sampler struct {
	cfg       SamplerConfig
	logger    *slog.Logger
	sources   []*sourceState
	observers []Observer
	timer     *time.Timer
	readers   bool // between Start and Close

	// Touched by the sampling goroutine only.
	last    time.Duration // monotonic time of the latest recorded sample
	sampled bool          // last is set
	behind  bool          // the clock is behind last; logged once until it is past it again

	mu       sync.Mutex
	store    *Store
	suffixes map[time.Duration][3]string // HELP endings by spacing of the values (helpSuffixes)
}

// NewSampler returns a sampler of the given sources; it does not sample until Sample or Run is called.
func NewSampler(cfg SamplerConfig, sources []Source, observers ...Observer) (*Sampler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewSystem()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The ring holds the window plus slack for ticks that arrive early; late ticks only make it cover more time.
	capacity := int(cfg.Window/cfg.Interval) + 2
	s := &Sampler{cfg: cfg, logger: cfg.Logger, observers: observers, store: newStore(capacity)}
	seen := map[string]bool{}
	for _, src := range sources {
		if seen[src.Name()] {
			return nil, fmt.Errorf("source %q registered twice", src.Name())
		}
		seen[src.Name()] = true
		st := &sourceState{src: src, done: make(chan error, 1), every: 1,
			labels: exposition.Labels([]string{"collector"}, []string{src.Name()})}
		if _, ok := src.(SlowSource); ok {
			st.every = cfg.slowIntervals()
		}
		s.sources = append(s.sources, st)
	}
	return s, nil
}

// Run samples every Interval until ctx is done, with persistent readers (see Start) it closes when done. The first
// sample is taken at once. Like a time.Ticker it keeps to the interval's cadence and skips ticks it is too late for.
func (s *Sampler) Run(ctx context.Context) {
	s.Start()
	defer s.Close()
	tick, err := ticktimer.New(s.cfg.Interval)
	if err != nil {
		s.logger.Warn("sampling with Go timers", "err", err)
		s.runTicker(ctx)
		return
	}
	defer tick.Close()
	stop := context.AfterFunc(ctx, func() { _ = tick.Close() }) // ends the Wait below
	defer stop()
	for {
		s.Sample()
		if err := tick.Wait(); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("sampling with Go timers", "err", err)
			s.runTicker(ctx)
			return
		}
	}
}

// runTicker is Run with Go's timers, where there is no timerfd.
func (s *Sampler) runTicker(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.Sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Start gives every source a reader goroutine that lives until Close, so that a sample hands each read over with
// two channel operations and allocates nothing. Without Start, every read runs in a goroutine of its own (one
// small allocation each) and nothing outlives the sample but a read still running past its timeout. Start must
// not run concurrently with Sample.
func (s *Sampler) Start() { s.readers = true }

// Close stops the reader goroutines and closes the files the sources hold open. It waits for every reader but one
// still stuck in a read past its timeout, which exits when that read returns. The sampler can still sample
// afterwards, reopening what it needs. Close must not run concurrently with Sample.
func (s *Sampler) Close() {
	s.readers = false
	for _, st := range s.sources {
		if st.req != nil {
			close(st.req) // the reader closes the source when it ends
			st.req = nil
			if !st.busy {
				<-st.exited
				st.exited = nil
			}
			continue
		}
		if c, ok := st.src.(io.Closer); ok && !st.busy {
			_ = c.Close() // read-only files: nothing was written that closing could lose
		}
	}
}

// read starts a read of the source at now, answered on st.done.
func (s *Sampler) read(st *sourceState, now time.Duration) {
	if !s.readers {
		go readOnce(st.src, now, st.done)
		return
	}
	if st.req == nil {
		st.req, st.exited = make(chan time.Duration, 1), make(chan struct{})
		go readLoop(st.src, st.req, st.done, st.exited)
	}
	st.req <- now // never blocks: the reader is idle and req has room for one
}

func readOnce(src Source, now time.Duration, done chan<- error) { done <- src.Read(now) }

// readLoop reads src at every time received on req until req is closed, then closes src's files.
func readLoop(src Source, req <-chan time.Duration, done chan<- error, exited chan<- struct{}) {
	defer close(exited)
	for now := range req {
		done <- src.Read(now)
	}
	if c, ok := src.(io.Closer); ok {
		_ = c.Close()
	}
}

// Sample takes one sample of every source at the clock's current time.
//
// A monotonic time before the previous sample's is skipped: the store's rings are kept in time order and rates
// need a positive interval. A clock honouring its contract never goes back, but one that breaks it must not
// corrupt the rings; the sampler then waits until the clock is past the last sample again.
func (s *Sampler) Sample() {
	reading := s.cfg.Clock.Now()
	now := reading.Mono
	if s.sampled && now < s.last {
		if !s.behind {
			s.behind = true
			s.logger.Warn("clock went backwards, skipping samples until it is past the last one", "now", now, "last", s.last)
		}
		return
	}
	s.sampled, s.behind, s.last = true, false, now
	// The read timeout is a Go timer, stopped before the sampling goroutine sleeps: no timer is then pending, so
	// the runtime's monitor thread is not woken for it (see ticktimer.Timer).
	if s.timer == nil {
		s.timer = time.NewTimer(s.cfg.Timeout)
	} else {
		s.timer.Reset(s.cfg.Timeout)
	}
	started := s.startReads(now)
	s.awaitReads(started, s.timer.C)
	s.timer.Stop() // since Go 1.23 no stale expiry is left to drain

	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.begin(now)
	for _, st := range s.sources {
		if st.skipped {
			continue // its gauges keep the intervals of its latest read
		}
		s.report(st)
		if st.success {
			st.src.Update(s.store)
		}
	}
	s.store.expire(s.cfg.windowStart(now))
	for _, o := range s.observers {
		o.ObserveSample(reading, s.store)
	}
}

// startReads starts a read of every source that is not still busy with an earlier one, and returns when they
// started (for the durations).
func (s *Sampler) startReads(now time.Duration) time.Duration {
	started := s.cfg.Clock.Now().Mono
	for _, st := range s.sources {
		st.skipped = false
		if st.busy {
			select {
			case <-st.done: // the late read finished; its reading stays as the source's previous one
				st.busy = false
				if st.req == nil && st.exited != nil {
					<-st.exited // closed meanwhile: let it finish closing the source before it is read again
					st.exited = nil
				}
			default:
				st.readErr = fmt.Errorf("still reading after %s", s.cfg.Timeout)
				continue
			}
		}
		if st.every > 1 {
			if now < st.due {
				st.skipped = true
				continue
			}
			// Half an interval early, so that a tick arriving a little early does not put the read off by a
			// whole interval.
			st.due = now + time.Duration(st.every)*s.cfg.Interval - s.cfg.Interval/2
		}
		s.read(st, now)
	}
	return started
}

func (s *Sampler) awaitReads(started time.Duration, timeout <-chan time.Time) {
	expired := false
	for _, st := range s.sources {
		if st.busy || st.skipped {
			continue
		}
		var err error
		if expired {
			select {
			case err = <-st.done:
			default:
				err = errTimeout
			}
		} else {
			select {
			case err = <-st.done:
			case <-timeout:
				expired = true
				err = errTimeout
			}
		}
		st.readDur = s.cfg.Clock.Now().Mono - started
		if errors.Is(err, errTimeout) {
			st.busy = true
			err = fmt.Errorf("read took longer than %s", s.cfg.Timeout)
		}
		st.readErr = err
	}
}

var errTimeout = errors.New("timeout")

// report publishes a source's outcome, logging a failure once per distinct message and once on recovery.
func (s *Sampler) report(st *sourceState) {
	err := st.readErr
	st.success, st.duration = err == nil, st.readDur
	switch {
	case err != nil && err.Error() != st.lastErr:
		st.lastErr = err.Error()
		s.logger.Error("collector failed", "collector", st.src.Name(), "err", err)
	case err == nil && st.lastErr != "":
		st.lastErr = ""
		s.logger.Info("collector recovered", "collector", st.src.Name())
	}
}

// Seq returns the number of samples recorded so far: the exposition changes only when it does.
func (s *Sampler) Seq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.seq
}
