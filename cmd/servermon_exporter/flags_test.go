package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
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
	if len(cfg.forecast.horizons) != len(wantH) {
		t.Fatalf("horizons %v", cfg.forecast.horizons)
	}
	for i, h := range wantH {
		if cfg.forecast.horizons[i] != h {
			t.Errorf("horizon %d = %s, want %s", i, cfg.forecast.horizons[i], h)
		}
	}
	if cfg.forecast.history != 8*24*time.Hour || cfg.forecast.step != time.Minute {
		t.Errorf("forecast defaults: %+v", cfg.forecast)
	}
	if cfg.forecast.thresholds["memory_usage_ratio"] != 0.95 || cfg.forecast.thresholds["cpu_usage_ratio"] != 0.9 {
		t.Errorf("thresholds %v", cfg.forecast.thresholds)
	}
	for _, name := range collectorNames {
		if !cfg.collectors[name] {
			t.Errorf("collector %s off by default", name)
		}
	}
	if !cfg.disk.Exclude.MatchString("sda1") || cfg.disk.Exclude.MatchString("sda") || !cfg.disk.Exclude.MatchString("loop0") {
		t.Error("default disk exclusion does not drop partitions and loops only")
	}
}

func TestBadFlagsAreClearErrors(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--collector.disk.device-include=(", "device-include: invalid regular expression"},
		{"--collector.disk.device-exclude=[a-", "device-exclude: invalid regular expression"},
		{"--sample.interval=0s", "sample interval must be positive"},
		{"--sample.window=100ms", "must be at least the sample interval"},
		{"--sample.slow-interval=-5s", "slow sample interval must not be negative"},
		{"--sample.interval=banana", "banana"},
		{"--forecast.horizon=-5m", "forecast.horizon"},
		{"--forecast.horizon=7s", "multiple"},
		{"--forecast.threshold.memory=1.5", "ratio in (0, 1]"},
		{"--forecast.step=0s", "step"},
		{"--web.max-requests=-1", "must not be negative"},
		{"--web.telemetry-path=metrics", "absolute path"},
		{"--no-such-flag", "unknown long flag"},
	} {
		cfg, err := parseFlags(strings.Fields(tc.args), &bytes.Buffer{})
		if err == nil && cfg != nil {
			_, err = newForecaster(cfg.forecast, nil)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.args, err, tc.want)
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
	if !strings.Contains(out.String(), "invalid regular expression") {
		t.Errorf("no clear message: %s", out.String())
	}
}
