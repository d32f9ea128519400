package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(c.in)
		if got := median(in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("median reordered its input: %v", in)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestVariantFiles(t *testing.T) {
	hot := []string{"stat", "meminfo", "diskstats"}
	all := append(slices.Clone(hot), "loadavg", "pressure/cpu", "pressure/io", "pressure/memory")
	want := map[string]map[int][]string{ // tick -> files read at it
		"wake":    {0: nil, 1: nil, 5: nil},
		"wake+3":  {0: all, 1: hot, 4: hot, 5: all, 6: hot},
		"wake+7":  {0: all, 1: all, 5: all},
		"sleep+7": {0: all, 3: all},
	}
	for _, v := range variants() {
		ticks, ok := want[v.name]
		if !ok {
			t.Errorf("variant %s not described", v.name)
			continue
		}
		delete(want, v.name)
		for tick, files := range ticks {
			if got := v.files(tick); !slices.Equal(got, files) {
				t.Errorf("%s at tick %d reads %q, want %q", v.name, tick, got, files)
			}
		}
		if v.naive != strings.HasPrefix(v.name, "sleep") {
			t.Errorf("%s: naive = %v", v.name, v.naive)
		}
	}
	for name := range want {
		t.Errorf("variant %s missing", name)
	}
}

func TestParseArgs(t *testing.T) {
	c, err := parseArgs([]string{"-child", "wake+3", "-procfs", "/host/proc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.child != "wake+3" || c.procfs != "/host/proc" || c.copies != 3 || c.duration != time.Minute {
		t.Errorf("parsed %+v", c)
	}
	for _, args := range [][]string{
		{"-child", "wake+5"},
		{"-copies", "0"},
		{"-duration", "0s"},
		{"extra"},
		{"-bogus"},
	} {
		if _, err := parseArgs(args, io.Discard); err == nil {
			t.Errorf("parseArgs(%q): no error", args)
		}
	}
	_, err = parseArgs([]string{"-child", "nope"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown variant "nope"`) || !strings.Contains(err.Error(), "wake+7") {
		t.Errorf("unknown variant: error %v does not name it and the known ones", err)
	}
}

func TestOpenAllSkipsOnlyMissingPressure(t *testing.T) {
	procfs := t.TempDir()
	for _, name := range []string{"stat", "loadavg"} {
		if err := os.WriteFile(filepath.Join(procfs, name), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fds, err := openAll(procfs, []string{"stat", "loadavg", "pressure/cpu", "pressure/io"})
	if err != nil {
		t.Fatal(err)
	}
	closeAll(fds)
	if len(fds) != 2 {
		t.Errorf("opened %d files, want 2 (pressure missing)", len(fds))
	}
	if _, err := openAll(procfs, []string{"stat", "meminfo"}); err == nil {
		t.Error("missing meminfo: no error")
	}
}

func TestReadAllWithBothReaders(t *testing.T) {
	procfs := t.TempDir()
	if err := os.WriteFile(filepath.Join(procfs, "stat"), []byte("cpu 1 2 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fds, err := openAll(procfs, []string{"stat"})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(fds)
	buf := make([]byte, 64)
	for name, read := range map[string]func(int, []byte) error{"raw": rawPread, "naive": naivePread} {
		clear(buf)
		if err := readAll(fds, buf, read); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(string(buf), "cpu 1 2 3\n") {
			t.Errorf("%s read %q", name, buf)
		}
	}
	if err := readAll([]int{-1}, buf, rawPread); err == nil {
		t.Error("bad fd: no error")
	}
}
