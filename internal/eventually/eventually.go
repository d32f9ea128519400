// Package eventually waits for a condition that another goroutine or process makes true, by polling it against a
// deadline instead of sleeping for a guessed time: fast when the machine is fast, and still right when it is slow.
package eventually

import (
	"context"
	"fmt"
	"time"
)

// Poll calls cond until it returns nil and returns nil then, sleeping between calls (1 ms at first, doubling up to
// 50 ms). When ctx ends first it returns ctx's error with cond's last error.
func Poll(ctx context.Context, cond func() error) error {
	wait := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// TB is the part of testing.TB that Must uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Must polls cond as Poll does for at most timeout, and fails tb, naming what it waited for and cond's last error,
// when cond still fails then.
func Must(tb TB, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := Poll(ctx, cond); err != nil {
		tb.Fatalf("waited %s for %s: %v", timeout, what, err)
	}
}
