package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// fuzzForecaster returns the forecaster of the smallest configuration (10 min step, one day of history, one
// horizon), so that payloads are small and the fuzzer fast.
func fuzzForecaster(tb testing.TB) *forecaster {
	cfg, err := parseFlags([]string{"--sample.interval=10m", "--sample.window=10m", "--forecast.step=10m", "--forecast.history=1d", "--forecast.horizon=10m"}, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := newForecaster(cfg.forecast, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// FuzzUnmarshalState feeds any payload to the forecaster's state decoder (the part of the state file inside the
// checksummed container). It must never panic; what it accepts must render an exposition that parses, and must
// survive a save and load unchanged.
func FuzzUnmarshalState(f *testing.F) {
	src := fuzzForecaster(f)
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, tg := range [][2]string{{"cpu_usage_ratio", ""}, {"disk_utilization_ratio", "nvme0n1"}} {
		t, err := src.target(tg[0], tg[1])
		if err != nil {
			f.Fatal(err)
		}
		for i := range 100 {
			t.series.Push(start.Add(time.Duration(i)*10*time.Minute), 0.5+0.3*math.Sin(float64(i)/10))
		}
	}
	good, err := src.marshalState()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(payloadMagic + "\x01\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fc := fuzzForecaster(t)
		if err := fc.unmarshalState(b); err != nil {
			if !errors.Is(err, errBadState) && !strings.Contains(err.Error(), "forecast") {
				t.Fatalf("error does not say what it is about: %v", err)
			}
			if fc.seriesCount() != 0 {
				t.Fatal("a rejected state left series behind")
			}
			return
		}
		out := fc.AppendMetrics(nil)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := parser.TextToMetricFamilies(bytes.NewReader(out)); err != nil {
			t.Fatalf("metrics of an accepted state do not parse: %v\n%s", err, out)
		}
		again, err := fc.marshalState()
		if err != nil {
			t.Fatalf("accepted state cannot be saved: %v", err)
		}
		fc2 := fuzzForecaster(t)
		if err := fc2.unmarshalState(again); err != nil {
			t.Fatalf("saved state does not load: %v", err)
		}
		if third, _ := fc2.marshalState(); !bytes.Equal(third, again) {
			t.Fatal("save, load, save is not stable")
		}
	})
}

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
		if err := cfg.validate(); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
		for target, v := range cfg.forecast.thresholds {
			if !(v > 0 && v <= 1) {
				t.Fatalf("threshold of %s accepted as %v", target, v)
			}
		}
		for _, h := range cfg.forecast.horizons {
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
		re, err := compileDeviceRegexp("collector.disk.device-include", pattern)
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
