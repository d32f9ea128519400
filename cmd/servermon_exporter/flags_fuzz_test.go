package main

import (
	"io"
	"regexp"
	"strings"
	"testing"
)

// FuzzParseFlags parses arbitrary command lines (arguments separated by NUL). parseFlags must never panic, and a
// configuration it accepts must be one the exporter validates. Arguments starting with '@' are left out: kingpin
// reads further arguments from the named file by design, so "@/dev/zero" reads forever, which is not parsing.
func FuzzParseFlags(f *testing.F) {
	for _, seed := range []string{
		"", "--help", "--version", "--sample.interval=1s\x00--sample.window=1m",
		"--collector.disk.device-include=^sd\x00--collector.disk.device-exclude=(",
		"--forecast.horizon=5m\x00--forecast.horizon=1h\x00--forecast.step=1m\x00--forecast.history=8d",
		"--forecast.threshold.memory=0.95\x00--web.max-requests=0\x00--web.telemetry-path=/m",
		"--forecast.horizon=1w2d3h\x00--forecast.state-file=/tmp/x\x00--forecast.state-interval=0s",
		"--no-collector.cpu\x00--collector.cpu.per-cpu\x00--log.level=debug\x00--log.format=json",
		"--sample.interval=9223372036854775807ns\x00--collector.timeout=-1s\x00--forecast.threshold.cpu=NaN",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		if line != "" {
			args = strings.Split(line, "\x00")
		}
		for _, a := range args {
			if strings.HasPrefix(a, "@") {
				return
			}
		}
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			if cfg != nil {
				t.Fatalf("config returned with error %v", err)
			}
			return
		}
		if err := cfg.validate(defaulted{}); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
		for flag, v := range cfg.forecast.Thresholds {
			if !(v > 0 && v <= 1) {
				t.Fatalf("threshold %s accepted as %v", flag, v)
			}
		}
		for _, h := range cfg.forecast.Horizons {
			if h <= 0 {
				t.Fatalf("horizon %s accepted", h)
			}
		}
	})
}

// FuzzDeviceRegexp compiles any device filter and matches it against any device name: no panic, an error that names
// the flag, and (Go's regexp being linear-time) no pattern that can stall the collector.
func FuzzDeviceRegexp(f *testing.F) {
	for _, seed := range [][2]string{
		{"", "sda"}, {"^sd[a-z]$", "sda"}, {"(", "x"}, {`^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`, "nvme0n1p1"},
		{`(a+)+$`, strings.Repeat("a", 64) + "!"}, {`\p{Greek}+`, "αβγ"}, {"x{1001}", "x"}, {"[[:alpha:]", "a"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, device string) {
		cfg, err := parseFlags([]string{"--collector.disk.device-include=" + pattern}, io.Discard)
		var re *regexp.Regexp
		if err == nil {
			re = cfg.collector.Disk.Include
		}
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), "--collector.disk.device-include") {
				t.Fatalf("error does not name the flag: %v", err)
			}
		case pattern == "":
			if re != nil {
				t.Fatal("an empty pattern compiled to a filter")
			}
		case re == nil:
			t.Fatal("no regexp and no error")
		default:
			_ = re.MatchString(device)
		}
	})
}
