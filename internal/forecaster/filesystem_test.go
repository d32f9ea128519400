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
	free := uint64(900000 - 8000*f.step) // / fills by 0.8 % a step
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
// are forecast under all three labels (the bind mount apart from the mount it binds), the filling / gets a finite
// time until --forecast.threshold.filesystem, and the state file keeps every series with its labels.
func TestFilesystemForecasts(t *testing.T) {
	cfg := testConfig()
	cfg.Thresholds["filesystem"] = 0.95
	f := newForecaster(t, cfg)
	fs := &filledFilesystem{}
	fake := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := testSampler(t, filesystemSource(t, fs), f, fake, 10*time.Second)
	defer s.Close()
	for i := range 100 {
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
	// / is 89.2 % used at the last step and fills by 0.8 % a step of 10 s: 95 % is 73 s away, within the 5m
	// horizon the ETA looks ahead, and the upper bound gets there no later.
	eta := lineValue(t, body, `servermon_forecast_seconds_until_threshold{target="filesystem_usage_ratio",`+mounts[0]+`,threshold="0.95"}`)
	if !(eta > 0 && eta <= 80) {
		t.Errorf("time until / is 95 %% used: %v s, want finite, positive and at most the 73 s of the steady fill", eta)
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
