package forecaster

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/clock"
)

// filledFilesystem is the filesystem collector over a fake mount table of three mounts, one a bind mount of
// another's filesystem and one with a space in its mount point, whose statfs says / fills steadily.
type filledFilesystem struct {
	mu   sync.Mutex
	step int
}

func (f *filledFilesystem) statfs(path string, st *syscall.Statfs_t) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	free := uint64(900000 - 1000*f.step) // / fills by 0.1 % a step
	switch path {
	case "/", "/srv/bind":
	case "/mnt/my disk":
		free = 500000
	default:
		return syscall.ENOENT
	}
	*st = syscall.Statfs_t{Bsize: 4096, Frsize: 4096, Blocks: 1000000, Bfree: free, Bavail: free, Files: 1000, Ffree: 900}
	return nil
}

func filesystemSource(t *testing.T, fs *filledFilesystem) collector.Source {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	mountinfo := "1 0 254:0 / / rw - ext4 /dev/vda rw\n2 1 254:0 /srv /srv/bind rw - ext4 /dev/vda rw\n" +
		"3 1 254:16 / /mnt/my\\040disk rw - xfs /dev/vdb rw\n"
	if err := os.WriteFile(filepath.Join(dir, "1", "mountinfo"), []byte(mountinfo), 0o644); err != nil {
		t.Fatal(err)
	}
	proc, err := collector.NewProcFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return collector.NewFilesystem(proc, collector.FilesystemConfig{Statfs: fs.statfs})
}

// TestFilesystemForecasts runs the filesystem collector into the forecaster: every mount's usage and inode usage
// are forecast under all three labels (the bind mount apart from the mount it binds), the filling / gets the time
// until --forecast.threshold.filesystem that its steady fill gives (from the fill estimator, once it has seen its
// recent window of an hour), and the state file keeps every series with its labels and estimators.
func TestFilesystemForecasts(t *testing.T) {
	cfg := testConfig()
	cfg.Thresholds["filesystem"] = 0.95
	f := newForecaster(t, cfg)
	fs := &filledFilesystem{}
	fake := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := testSampler(t, filesystemSource(t, fs), f, fake, 10*time.Second)
	defer s.Close()
	const samples = 400
	for i := range samples {
		fs.mu.Lock()
		fs.step = i
		fs.mu.Unlock()
		s.Sample()
		fake.Advance(10 * time.Second)
	}
	mounts := []string{`device="/dev/vda",mountpoint="/",fstype="ext4"`, `device="/dev/vda",mountpoint="/srv/bind",fstype="ext4"`,
		`device="/dev/vdb",mountpoint="/mnt/my disk",fstype="xfs"`}
	got := seriesNames(f)
	if len(got) != 6 {
		t.Fatalf("series %v, want the 2 targets of 3 mounts", got)
	}
	for _, target := range []string{"filesystem_inodes_usage_ratio", "filesystem_usage_ratio"} {
		for _, m := range mounts {
			if !slices.Contains(got, target+"{"+m+"}") {
				t.Errorf("series %s{%s} missing from %v", target, m, got)
			}
		}
	}
	body := string(f.AppendMetrics(nil))
	for _, m := range mounts {
		for _, line := range []string{
			"servermon_forecast_filesystem_usage_ratio{" + m + `,horizon="1m",bound="point"} `,
			"servermon_forecast_filesystem_inodes_usage_ratio{" + m + `,horizon="5m",bound="upper"} `,
			`servermon_forecast_seconds_until_threshold{target="filesystem_usage_ratio",` + m + `,threshold="0.95"} `,
			`servermon_forecast_error_ratio{target="filesystem_usage_ratio",` + m + `,horizon="1m"} `,
		} {
			if !strings.Contains(body, "\n"+line) {
				t.Errorf("missing %q in\n%s", line, body)
			}
		}
	}
	// / is 49.9 % used at the last step and fills by 0.1 % a step of 10 s: 95 % is 4510 s away.
	want := (0.95 - (0.1 + 0.001*(samples-1))) / 0.001 * 10
	eta := lineValue(t, body, `servermon_forecast_seconds_until_threshold{target="filesystem_usage_ratio",`+mounts[0]+`,threshold="0.95"}`)
	if math.Abs(eta-want) > 0.05*want {
		t.Errorf("time until / is 95 %% used: %v s, want the %v s of the steady fill", eta, want)
	}
	if still := lineValue(t, body, `servermon_forecast_seconds_until_threshold{target="filesystem_usage_ratio",`+mounts[2]+`,threshold="0.95"}`); !math.IsInf(still, 1) {
		t.Errorf("time until the unchanging /mnt/my disk is 95 %% used: %v, want +Inf", still)
	}

	payload, err := f.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	restored := newForecaster(t, cfg)
	report, err := restored.UnmarshalState(payload)
	if err != nil || report.Series != 6 || report.Skipped != 0 {
		t.Fatalf("state reload: %+v, %v", report, err)
	}
	if forecastLines(restored) != forecastLines(f) {
		t.Errorf("the reloaded state forecasts otherwise:\n%s\nvs\n%s", forecastLines(restored), forecastLines(f))
	}
}

// lineValue returns the value of the sample line of series in an exposition.
func lineValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			x, err := strconv.ParseFloat(v, 64) // takes +Inf
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return x
		}
	}
	t.Fatalf("%s missing in\n%s", series, body)
	return 0
}

// resizedFilesystem fills / steadily by used bytes, and doubles its size at step resizeAt.
type resizedFilesystem struct {
	filledFilesystem
	resizeAt int
}

func (f *resizedFilesystem) statfs(path string, st *syscall.Statfs_t) error {
	if err := f.filledFilesystem.statfs(path, st); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.step >= f.resizeAt {
		used := st.Blocks - st.Bfree
		st.Blocks *= 2
		st.Bfree, st.Bavail = st.Blocks-used, st.Blocks-used
	}
	return nil
}

// TestFilesystemResizeRescalesTheForecast: when a filesystem doubles in size, its usage ratio halves at once with
// the same used bytes. The forecaster rescales the history it holds (Series, Fill, Resampler), so the series
// sees no cleanup: the history before the resize reads in the new units, and the time until 95 % follows the
// fill in bytes, twice as far off as before.
func TestFilesystemResizeRescalesTheForecast(t *testing.T) {
	cfg := testConfig()
	cfg.Thresholds["filesystem"] = 0.95
	f := newForecaster(t, cfg)
	fs := &resizedFilesystem{resizeAt: 400}
	fake := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	src := collector.NewFilesystem(filesystemSourceProc(t), collector.FilesystemConfig{Statfs: fs.statfs})
	s := testSampler(t, src, f, fake, 10*time.Second)
	defer s.Close()
	root := `servermon_forecast_seconds_until_threshold{target="filesystem_usage_ratio",device="/dev/vda",mountpoint="/",fstype="ext4",threshold="0.95"}`
	var before float64
	for i := range 460 {
		fs.mu.Lock()
		fs.step = i
		fs.mu.Unlock()
		s.Sample()
		fake.Advance(10 * time.Second)
		if i == fs.resizeAt-1 {
			before = lineValue(t, string(f.AppendMetrics(nil)), root)
		}
	}
	var view View
	for _, v := range f.Views(1000) {
		if v.Target.Name == "filesystem_usage_ratio" && v.LabelValues[1] == "/" {
			view = v
		}
	}
	// Used bytes grow by 1000 blocks a step: in the new units (2 000 000 blocks), by 0.05 % a step, before the
	// resize as after it.
	for i := 1; i < len(view.Observed); i++ {
		if d := view.Observed[i] - view.Observed[i-1]; math.Abs(d-0.0005) > 0.0001 {
			t.Fatalf("step %d of %d: the usage moved by %v, want the 0.0005 of the fill in the new units", i, len(view.Observed), d)
		}
	}
	after := lineValue(t, string(f.AppendMetrics(nil)), root)
	// Before: 49.9 % used, 0.1 % a step, 4510 s to 95 %. After: 26.95 % used at 0.05 % a step, 13 610 s.
	if want := (0.95 - 0.2695) / 0.0005 * 10; math.Abs(after-want) > 0.05*want || after < 2*before {
		t.Errorf("time until 95 %% after the resize: %v s (before it %v s), want about %v s", after, before, want)
	}
}

// filesystemSourceProc is filesystemSource's fake procfs of the mount table.
func filesystemSourceProc(t *testing.T) collector.ProcFS {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1", "mountinfo"), []byte("1 0 254:0 / / rw - ext4 /dev/vda rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proc, err := collector.NewProcFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return proc
}

// rampFilesystem is a filesystem at /data of 16384 blocks filling by fillPerHour of them from level at t0, to the
// block, at the fake clock's time.
type rampFilesystem struct {
	clock *clock.Fake
	t0    time.Time
}

const rampLevel, rampPerHour, rampBlocks = 0.85, 0.04, 16384

func (r *rampFilesystem) usage(t time.Time) float64 {
	return math.Round((rampLevel+rampPerHour*t.Sub(r.t0).Hours())*rampBlocks) / rampBlocks
}

func (r *rampFilesystem) statfs(_ string, st *syscall.Statfs_t) error {
	used := uint64(r.usage(r.clock.Now().Wall) * rampBlocks)
	*st = syscall.Statfs_t{Bsize: 4096, Frsize: 4096, Blocks: rampBlocks, Bfree: rampBlocks - used, Bavail: rampBlocks - used, Files: 1000, Ffree: 900}
	return nil
}

// TestPartialFirstStepLeftOut: an exporter started 13 s into a minute, its filesystem filling steadily, with 8 hours
// of the fill backfilled up to that minute. The first live step would hold the minute's last 47 s only, a mean
// higher than the minute's by a third of the minute's growth, which the fill estimator took for an abrupt change:
// it withheld the ETA (+Inf) for minutes (found by bench/fleet). The partial step is left out, and the ETA follows the
// ramp at every step; a series whose first sample starts its step keeps that step.
func TestPartialFirstStepLeftOut(t *testing.T) {
	cfg := Config{Step: time.Minute, History: 8 * 24 * time.Hour, Horizons: []time.Duration{5 * time.Minute, time.Hour},
		AnomalyThreshold: 4, Thresholds: map[string]float64{"filesystem": 0.95}, MaxSeries: map[string]int{}}
	live := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, offset := range []time.Duration{13 * time.Second, 0} {
		f := newForecaster(t, cfg)
		f.Hold()
		fake := clock.NewFake(live.Add(offset))
		fs := &rampFilesystem{clock: fake, t0: live}
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "1"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "1", "mountinfo"), []byte("30 1 254:16 / /data rw - ext4 /dev/vdb rw\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		proc, err := collector.NewProcFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		s := testSampler(t, collector.NewFilesystem(proc, collector.FilesystemConfig{Statfs: fs.statfs}), f, fake, time.Second)
		s.Sample()
		// The history: the minutes before the live one, each the mean of its scrapes (as internal/backfill loads
		// the exporter's own latest-read series).
		from := live.Add(-8 * time.Hour)
		var history []float64
		for m := from; m.Before(live); m = m.Add(time.Minute) {
			sum := 0.0
			for q := range 4 {
				sum += fs.usage(m.Add(time.Duration(q) * 15 * time.Second))
			}
			history = append(history, sum/4)
		}
		if _, err := f.Backfill(collector.TargetByName("filesystem_usage_ratio"), []string{"device", "mountpoint", "fstype"},
			[]string{"/dev/vdb", "/data", "ext4"}, from, history); err != nil {
			t.Fatal(err)
		}
		f.Release()
		var second time.Time // the newest step during the second live minute
		for i := range 10 * 60 {
			fake.Advance(time.Second)
			s.Sample()
			if i%60 != 30 {
				continue
			}
			for _, v := range f.Views(0) {
				if v.Target.Name != "filesystem_usage_ratio" {
					continue
				}
				if i == 90 {
					second = v.LastStep
				}
				want := (0.95 - fs.usage(v.LastStep)) / rampPerHour * 3600
				if !v.HasETA || math.Abs(v.Earliest-want) > 0.05*want {
					t.Errorf("started %v into the minute: ETA at %s %.2f h (%v), want %.2f h", offset, v.LastStep.Format(time.TimeOnly),
						v.Earliest/3600, v.HasETA, want/3600)
				}
			}
		}
		// During the second live minute the newest step is the first live minute if it was whole, else the
		// backfill's last.
		if want := map[time.Duration]time.Time{0: live, 13 * time.Second: live.Add(-time.Minute)}[offset]; !second.Equal(want) {
			t.Errorf("started %v into the minute: the newest step in the second live minute is %s, want %s", offset,
				second.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
		s.Close()
	}
}
