package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
)

func TestFlagDefaults(t *testing.T) {
	cfg := mustParseFlags(t)
	if got := (*cfg.web.WebListenAddresses)[0]; got != defaultListenAddress {
		t.Errorf("listen address %q", got)
	}
	if cfg.sampler.Interval != time.Second || cfg.sampler.Window != time.Minute || cfg.sampler.SlowInterval != 5*time.Second || cfg.maxRequests != 40 || cfg.enablePprof {
		t.Errorf("defaults: %+v", cfg)
	}
	wantH := []time.Duration{5 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}
	if len(cfg.forecast.Horizons) != len(wantH) {
		t.Fatalf("horizons %v", cfg.forecast.Horizons)
	}
	for i, h := range wantH {
		if cfg.forecast.Horizons[i] != h {
			t.Errorf("horizon %d = %s, want %s", i, cfg.forecast.Horizons[i], h)
		}
	}
	if cfg.forecast.History != 8*24*time.Hour || cfg.forecast.Step != time.Minute {
		t.Errorf("forecast defaults: %+v", cfg.forecast)
	}
	if cfg.forecast.Thresholds["memory"] != 0.95 || cfg.forecast.Thresholds["cpu"] != 0.9 || cfg.forecast.MaxSeries["disk"] != 96 {
		t.Errorf("thresholds %v, series limits %v", cfg.forecast.Thresholds, cfg.forecast.MaxSeries)
	}
	for _, c := range collector.Collectors() {
		if cfg.collectors[c.Name] != c.EnabledByDefault {
			t.Errorf("collector %s enabled %v by default", c.Name, cfg.collectors[c.Name])
		}
	}
	if !cfg.collector.Disk.Exclude.MatchString("sda1") || cfg.collector.Disk.Exclude.MatchString("sda") || !cfg.collector.Disk.Exclude.MatchString("loop0") {
		t.Error("default disk exclusion does not drop partitions and loops only")
	}
	fs := cfg.collector.Filesystem
	if fs.RootFS != "/" || fs.MaxMounts != collector.DefaultMaxMounts || fs.StatfsTimeout != 250*time.Millisecond ||
		fs.MountPointsInclude != nil || fs.FSTypesInclude != nil || cfg.forecast.MaxSeries["filesystem"] != 64 ||
		cfg.forecast.Thresholds["filesystem"] != 0.95 {
		t.Errorf("filesystem defaults: %+v, threshold %v, series limit %v", fs, cfg.forecast.Thresholds["filesystem"], cfg.forecast.MaxSeries["filesystem"])
	}
	for point, excluded := range map[string]bool{"/": false, "/home": false, "/dev": true, "/dev/shm": true, "/proc": true,
		"/sys/fs/cgroup": true, "/var/lib/docker/overlay2/x/merged": true, "/var/lib/docker": false, "/devices": false} {
		if fs.MountPointsExclude.MatchString(point) != excluded {
			t.Errorf("default mount point exclusion: %s excluded %v", point, !excluded)
		}
	}
	for fstype, excluded := range map[string]bool{"ext4": false, "xfs": false, "nfs4": false, "tmpfs": false, "overlay": true,
		"proc": true, "cgroup2": true, "squashfs": true} {
		if fs.FSTypesExclude.MatchString(fstype) != excluded {
			t.Errorf("default filesystem type exclusion: %s excluded %v", fstype, !excluded)
		}
	}
	if cfg := mustParseFlags(t, "--collector.timeout=100ms"); cfg.collector.Filesystem.StatfsTimeout != 50*time.Millisecond {
		t.Errorf("statfs timeout %s with --collector.timeout=100ms, want half of it", cfg.collector.Filesystem.StatfsTimeout)
	}
}

// TestBadFlagsAreClearErrors: every bad value is refused by parseFlags with a message that names the flag, and
// for the errors that involve a default, the default.
func TestBadFlagsAreClearErrors(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--collector.disk.device-include=(", "--collector.disk.device-include=(: invalid regular expression"},
		{"--collector.disk.device-exclude=[a-", "--collector.disk.device-exclude=[a-: invalid regular expression"},
		{"--sample.interval=0s", "--sample.interval=0s: must be positive"},
		{"--sample.window=100ms", "must be at least the sample interval"},
		{"--sample.slow-interval=-5s", "--sample.slow-interval=-5s: must be positive"},
		{"--sample.interval=abc", `--sample.interval=abc: invalid duration`},
		{"--forecast.threshold.cpu=abc", `--forecast.threshold.cpu=abc: strconv.ParseFloat`},
		{"--forecast.threshold.memory=1.5", "--forecast.threshold.memory=1.5: must be a ratio in (0, 1]"},
		{"--forecast.horizon=-5m", "--forecast.horizon=-5m"},
		{"--forecast.horizon=7s", "--forecast.horizon=7s is not a multiple of --forecast.step=1m (the default)"},
		{"--forecast.step=7s", "--forecast.horizon=5m (the default) is not a multiple of --forecast.step=7s"},
		{"--forecast.history=2h", "--forecast.history=2h: shorter than the minimum of 1d"},
		{"--forecast.horizon=9d", "--forecast.horizon=1w2d is longer than --forecast.history=1w1d (the default)"},
		{"--forecast.step=0s", "--forecast.step=0s: must be positive"},
		{"--forecast.max-disk-series=-1", "--forecast.max-disk-series=-1: must not be negative"},
		{"--forecast.max-filesystem-series=-1", "--forecast.max-filesystem-series=-1: must not be negative"},
		{"--forecast.threshold.filesystem=0", "--forecast.threshold.filesystem=0: must be a ratio in (0, 1]"},
		{"--collector.filesystem.mount-points-exclude=(", "--collector.filesystem.mount-points-exclude=(: invalid regular expression"},
		{"--collector.filesystem.mount-points-include=(", "--collector.filesystem.mount-points-include=(: invalid regular expression"},
		{"--collector.filesystem.fs-types-exclude=(", "--collector.filesystem.fs-types-exclude=(: invalid regular expression"},
		{"--collector.filesystem.fs-types-include=(", "--collector.filesystem.fs-types-include=(: invalid regular expression"},
		{"--collector.filesystem.max-mounts=-1", "--collector.filesystem.max-mounts=-1: must not be negative"},
		{"--path.rootfs=host", "--path.rootfs=host: must be an absolute path"},
		{"--forecast.state-interval=0s", "--forecast.state-interval=0s: must be positive"},
		{"--web.max-requests=-1", "--web.max-requests=-1: must not be negative"},
		{"--web.telemetry-path=metrics", "--web.telemetry-path=metrics: must be an absolute path"},
		{"--web.config.file=/nonexistent/web.yml", "--web.config.file=/nonexistent/web.yml: open /nonexistent/web.yml"},
		{"--no-such-flag", "unknown long flag"},
	} {
		cfg, err := parseFlags(strings.Fields(tc.args), &bytes.Buffer{})
		if err == nil || cfg != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}

func TestHelpAndVersionExitZero(t *testing.T) {
	for _, arg := range []string{"--help", "--version"} {
		var out bytes.Buffer
		if _, err := parseFlags([]string{arg}, &out); !errors.Is(err, errExit) {
			t.Errorf("%s: %v", arg, err)
		}
		if status := run(context.Background(), []string{arg}, &out); status != 0 {
			t.Errorf("%s: exit status %d", arg, status)
		}
		if out.Len() == 0 {
			t.Errorf("%s printed nothing", arg)
		}
	}
}

func TestBadFlagExitsNonZero(t *testing.T) {
	var out bytes.Buffer
	if status := run(context.Background(), []string{"--collector.disk.device-include=("}, &out); status == 0 {
		t.Error("invalid regexp accepted")
	}
	if !strings.Contains(out.String(), "--collector.disk.device-include=(: invalid regular expression") {
		t.Errorf("no clear message: %s", out.String())
	}
}
