package collector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/internal/eventually"
)

// TestRunKeepsCadenceAndTimesOut runs the sampler's own loop (timerfd-driven) on real time: it samples about once
// per interval, a hung source is reported failed without holding the others up, and it stops when cancelled.
func TestRunKeepsCadenceAndTimesOut(t *testing.T) {
	p := newFakeProc(t, "t0")
	slow := &blockingSource{release: make(chan struct{})}
	slow.block.Store(true)
	s, err := NewSampler(SamplerConfig{Interval: 20 * time.Millisecond, Window: time.Second, Timeout: 10 * time.Millisecond},
		append(sourcesNamed(t, p.dir, "load"), slow))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	start := time.Now()
	go func() { s.Run(ctx); close(stopped) }()
	// Samples at 0, 20, 40 ms, ...: at most elapsed/20ms + 1 of them (ticks it is late for are skipped). Wait for
	// 15 of them, however long a busy machine takes.
	var got map[string]float64
	eventually.Must(t, 10*time.Second, "15 samples", func() error {
		if got = parseSamples(t, s.AppendMetrics(nil)); got["servermon_samples_total"] < 15 {
			return fmt.Errorf("%v samples", got["servermon_samples_total"])
		}
		return nil
	})
	elapsed := time.Since(start)
	n, most := got["servermon_samples_total"], float64(elapsed/(20*time.Millisecond))+1
	if n < 15 || n > most {
		t.Errorf("%v samples in %s, want 15 to %v", n, elapsed, most)
	}
	expectSamples(t, got, map[string]float64{
		`servermon_collector_success{collector="blocking"}`: 0,
		`servermon_collector_success{collector="load"}`:     1,
		"servermon_load1": 0.5,
	})
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	slow.block.Store(false)
	close(slow.release) // the stuck reader returns, and exits since Run closed the sampler
}
