package collector

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMovedFilesAreReopened: in a tree that is not procfs, a file renamed away is not read any more through the
// descriptor held open, whether or not another file takes its name, and a file renamed over it is read at once.
func TestMovedFilesAreReopened(t *testing.T) {
	p := newFakeProc(t, "t0")
	s := newTestSampler(t, allSources(t, p.dir), time.Second, time.Second) // windows of one sample
	meminfo := func(availableKB int) string {
		return "MemTotal: 1000000 kB\nMemFree: 0 kB\nMemAvailable: " + itoa(availableKB) + " kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"
	}
	// In place, not replaced: this test is about which file the collector's descriptor holds, so a write must
	// change the file that has the name, wherever a rename put it.
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rename := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(p.dir, from), filepath.Join(p.dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	sample := func() map[string]float64 {
		s.clock.Advance(time.Second)
		s.Sample()
		return s.metrics(t)
	}
	write("meminfo", meminfo(800000))
	expectSamples(t, sample(), map[string]float64{"servermon_memory_available_bytes": 800000 * 1024})

	// Moved away, nothing in its place: the collector fails rather than repeating the moved file's values.
	rename("meminfo", "meminfo.moved")
	write("meminfo.moved", meminfo(700000))
	expectSamples(t, sample(), map[string]float64{`servermon_collector_success{collector="memory"}`: 0})

	// Another file moved to the name while the first is still linked elsewhere.
	write("meminfo.next", meminfo(600000))
	rename("meminfo.next", "meminfo")
	expectSamples(t, sample(), map[string]float64{`servermon_collector_success{collector="memory"}`: 1,
		"servermon_memory_available_bytes": 600000 * 1024})
	write("meminfo.moved", meminfo(500000)) // the first file, changed where it now is: not ours any more
	expectSamples(t, sample(), map[string]float64{"servermon_memory_available_bytes": 600000 * 1024})

	// Moved away and straight back in: the same file, kept open.
	rename("meminfo", "meminfo.tmp")
	rename("meminfo.tmp", "meminfo")
	write("meminfo", meminfo(400000))
	expectSamples(t, sample(), map[string]float64{"servermon_memory_available_bytes": 400000 * 1024})
}

// TestProcfsFilesSkipTheRenameCheck: on a real procfs mount the files cannot be moved, and the check, a system
// call per read, is never set up.
func TestProcfsFilesSkipTheRenameCheck(t *testing.T) {
	f := &procFile{path: "/proc/loadavg", whole: true}
	if _, err := f.read(); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.onProcfs || f.cpath != nil || f.ino != 0 {
		t.Errorf("/proc/loadavg: onProcfs %v, stat path %q, inode %d: the rename check is set up on procfs", f.onProcfs, f.cpath, f.ino)
	}
	fake := &procFile{path: filepath.Join(newFakeProc(t, "t0").dir, "loadavg"), whole: true}
	if _, err := fake.read(); err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	if fake.onProcfs || fake.ino == 0 {
		t.Errorf("fixture loadavg: onProcfs %v, inode %d: the rename check is not set up off procfs", fake.onProcfs, fake.ino)
	}
}

// TestPagedProcFileReadsToTheEnd reads files the kernel renders a page at a time, and which end without a read
// returning 0 once the records run out (procFile.readAll), and checks nothing is cut off: the same lines as a plain
// read of the whole file. kallsyms is megabytes of short lines, stable between the two reads.
func TestPagedProcFileReadsToTheEnd(t *testing.T) {
	for _, name := range []string{"kallsyms", "diskstats"} {
		f := &procFile{path: "/proc/" + name}
		got, err := f.read()
		if err != nil {
			t.Fatal(err)
		}
		if !f.onProcfs {
			t.Fatalf("/proc/%s is not on a procfs mount", name)
		}
		want, err := os.ReadFile("/proc/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := bytes.Count(got, []byte{'\n'}), bytes.Count(want, []byte{'\n'}); g != w || (name == "kallsyms" && !bytes.Equal(got, want)) {
			t.Errorf("/proc/%s: %d bytes in %d lines, a plain read %d bytes in %d lines", name, len(got), g, len(want), w)
		}
		f.Close()
	}
}
