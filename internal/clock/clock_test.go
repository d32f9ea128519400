package clock

import (
	"testing"
	"time"
)

func TestFakeAdvanceAndStep(t *testing.T) {
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	f.Advance(90 * time.Second)
	f.Step(-time.Hour)
	f.Advance(-time.Minute) // ignored: monotonic time never goes back
	r := f.Now()
	if r.Mono != 90*time.Second {
		t.Errorf("Mono = %s, want 1m30s", r.Mono)
	}
	if want := start.Add(90*time.Second - time.Hour); !r.Wall.Equal(want) {
		t.Errorf("Wall = %s, want %s", r.Wall, want)
	}
	f.Set(start)
	if r := f.Now(); !r.Wall.Equal(start) || r.Mono != 90*time.Second {
		t.Errorf("after Set: %+v", r)
	}
}

func TestSystemIsMonotonic(t *testing.T) {
	s := NewSystem()
	prev := s.Now()
	for range 1000 {
		r := s.Now()
		if r.Mono < prev.Mono {
			t.Fatalf("monotonic time went back: %s after %s", r.Mono, prev.Mono)
		}
		prev = r
	}
	if r := s.Now(); r.Wall.Round(0) != r.Wall || time.Since(r.Wall) > time.Minute {
		t.Errorf("wall reading %v: carries a monotonic part or is not now", r.Wall)
	}
}
