package taskcpu

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTasks builds a fake /proc/PID/task directory with one schedstat per thread.
func writeTasks(t *testing.T, schedstats map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for tid, content := range schedstats {
		if err := os.Mkdir(filepath.Join(dir, tid), 0o755); err != nil {
			t.Fatal(err)
		}
		if content == "" {
			continue // a thread that exited between listing and reading
		}
		if err := os.WriteFile(filepath.Join(dir, tid, "schedstat"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSumAddsFirstFields(t *testing.T) {
	dir := writeTasks(t, map[string]string{
		"100": "1500000 20000 7\n",
		"101": "250 0 1\n",
		"102": "",
	})
	got, err := Sum(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1500250 * time.Nanosecond; got != want {
		t.Errorf("Sum = %v, want %v", got, want)
	}
}

func TestSumRejectsBadInput(t *testing.T) {
	for name, content := range map[string]string{"garbage": "x 1 2\n", "negative": "-5 1 2\n", "empty": "\n"} {
		t.Run(name, func(t *testing.T) {
			if _, err := Sum(writeTasks(t, map[string]string{"1": content})); err == nil {
				t.Errorf("schedstat %q: no error", content)
			}
		})
	}
	if _, err := Sum(filepath.Join(t.TempDir(), "gone")); err == nil {
		t.Error("missing task directory: no error")
	}
}

func TestProcessOfThisOne(t *testing.T) {
	start := time.Now()
	for time.Since(start) < 20*time.Millisecond { // spend some CPU
	}
	d, err := Process(os.Getpid())
	if err != nil || d < 10*time.Millisecond {
		t.Errorf("this process used %v (%v), at least 10ms", d, err)
	}
}
