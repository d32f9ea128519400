package eventually

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	go func() {
		time.Sleep(20 * time.Millisecond) // the other goroutine's work
		calls.Store(100)
	}()
	start := time.Now()
	err := Poll(context.Background(), func() error {
		if calls.Add(1) < 100 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestPollGivesUpWithTheLastError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	n := 0
	err := Poll(ctx, func() error { n++; return fmt.Errorf("attempt %d", n) })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), fmt.Sprintf("attempt %d", n)) || n < 3 {
		t.Errorf("after %d attempts: %v", n, err)
	}
}

type fakeTB struct{ msg string }

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.msg = fmt.Sprintf(format, a...) }

func TestMustFailsNamingWhatItWaitedFor(t *testing.T) {
	tb := &fakeTB{}
	Must(tb, 10*time.Millisecond, "the moon", func() error { return errors.New("still full") })
	if !strings.Contains(tb.msg, "the moon") || !strings.Contains(tb.msg, "still full") {
		t.Errorf("message %q", tb.msg)
	}
	tb = &fakeTB{}
	Must(tb, time.Second, "nothing", func() error { return nil })
	if tb.msg != "" {
		t.Errorf("failed although the condition held: %q", tb.msg)
	}
}
