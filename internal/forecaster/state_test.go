package forecaster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/clock"
	"github.com/servermon/servermon_exporter/internal/statefile"
	"github.com/servermon/servermon_exporter/internal/wire"
)

// filled returns a forecaster of cfg holding the given series (target, then label name and value pairs), each
// pushed n steps of a slow cycle.
func filled(tb testing.TB, cfg Config, n int, series ...[]string) *Forecaster {
	tb.Helper()
	f := newForecaster(tb, cfg)
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, sv := range series {
		var names, values []string
		for i := 1; i+1 < len(sv); i += 2 {
			names, values = append(names, sv[i]), append(values, sv[i+1])
		}
		s, err := f.add(collector.TargetByName(sv[0]), names, values)
		if err != nil {
			tb.Fatal(err)
		}
		for i := range n {
			s.fc.Push(start.Add(time.Duration(i)*cfg.Step), 0.5+0.3*math.Sin(float64(i)/10))
		}
	}
	return f
}

func forecastLines(f *Forecaster) string {
	var out []string
	for _, l := range strings.Split(string(f.AppendMetrics(nil)), "\n") {
		if strings.HasPrefix(l, "servermon_forecast_") && !strings.Contains(l, "state_") &&
			!strings.HasPrefix(l, "servermon_forecast_ready") && !strings.HasPrefix(l, "servermon_forecast_warmup") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestStateFormat1StillLoads loads testdata/state-v1.smfc, a state file written by the release before payload
// version 2 and series version 3 (150 samples of 10 s of the exporter's scenario; 10 s steps, a day of history,
// horizons 1m and 5m), and checks it gives the forecasts that release published right after loading it
// (testdata/state-v1.forecasts).
func TestStateFormat1StillLoads(t *testing.T) {
	file := statefile.New("testdata/state-v1.smfc", clock.NewFake(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)))
	payload, err := file.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	f := newForecaster(t, cfg)
	report, err := f.UnmarshalState(payload)
	if err != nil {
		t.Fatal(err)
	}
	if report.Series != 7 || report.Skipped != 0 {
		t.Errorf("report %+v, want 7 series and none skipped", report)
	}
	want, err := os.ReadFile("testdata/state-v1.forecasts")
	if err != nil {
		t.Fatal(err)
	}
	if got := forecastLines(f); got != string(want) {
		t.Errorf("forecasts after loading the format 1 state:\n%s\nwant:\n%s", got, want)
	}
	// And what it saves again loads into the same forecasts.
	again, err := f.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	g := newForecaster(t, cfg)
	if _, err := g.UnmarshalState(again); err != nil {
		t.Fatal(err)
	}
	if forecastLines(g) != string(want) {
		t.Error("the re-saved state does not give the same forecasts")
	}
}

func TestStateRoundTrip(t *testing.T) {
	cfg := testConfig()
	src := filled(t, cfg, 200, []string{"cpu_usage_ratio"}, []string{"disk_utilization_ratio", "device", "vda"},
		[]string{"disk_read_bytes_per_second", "device", "mount point with space"})
	b, err := src.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	dst := newForecaster(t, cfg)
	report, err := dst.UnmarshalState(b)
	if err != nil || report.Series != 3 || report.Skipped != 0 {
		t.Fatalf("report %+v, err %v", report, err)
	}
	if forecastLines(dst) != forecastLines(src) {
		t.Errorf("round trip changed the forecasts:\n%s\nvs\n%s", forecastLines(dst), forecastLines(src))
	}
	if !report.NewestStep.Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Add(200 * cfg.Step)) {
		t.Errorf("newest step %v", report.NewestStep)
	}
}

// payloadWith encodes a version 2 payload of cfg's step by hand, so that tests can write what MarshalState never
// does: unknown targets, odd labels, parts of unknown kinds.
func payloadWith(cfg Config, entries ...func(w *wire.Writer)) []byte {
	w := &wire.Writer{B: []byte(payloadMagic)}
	w.U16(payloadVersion)
	w.I64(int64(cfg.Step))
	w.U32(uint32(len(entries)))
	for _, e := range entries {
		e(w)
	}
	return w.B
}

func entryOf(target string, labels []string, parts map[uint8][]byte) func(w *wire.Writer) {
	return func(w *wire.Writer) {
		w.String(target)
		w.U16(uint16(len(labels) / 2))
		for _, l := range labels {
			w.String(l)
		}
		w.U16(uint16(len(parts)))
		for _, kind := range []uint8{partSeries, 7} {
			if p, ok := parts[kind]; ok {
				w.U8(kind)
				w.Field(p)
			}
		}
	}
}

// TestUnknownSeriesAreSkippedNotFatal: a state written by a later version (a target this one does not know, a
// part of a new kind) or holding a series this one cannot use loads everything else, and counts what it left out.
func TestUnknownSeriesAreSkippedNotFatal(t *testing.T) {
	cfg := testConfig()
	src := filled(t, cfg, 100, []string{"cpu_usage_ratio"})
	series, err := src.series["cpu_usage_ratio"].fc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := payloadWith(cfg,
		entryOf("cpu_usage_ratio", nil, map[uint8][]byte{partSeries: series}),
		entryOf("gpu_usage_ratio", nil, map[uint8][]byte{partSeries: series}),                                      // unknown target
		entryOf("disk_utilization_ratio", []string{"device", "sda"}, map[uint8][]byte{partSeries: series, 7: {1}}), // and a new part
		entryOf("memory_usage_ratio", []string{"device", "sda"}, map[uint8][]byte{partSeries: series}),             // labels on a host-wide target
		entryOf("swap_usage_ratio", nil, map[uint8][]byte{partSeries: []byte("SMFS\x09\x00")}),                     // series of a later format
		entryOf("load1", nil, map[uint8][]byte{}),                                                                  // no series part
	)
	f := newForecaster(t, cfg)
	report, err := f.UnmarshalState(b)
	if err != nil {
		t.Fatal(err)
	}
	if report.Series != 2 || report.Skipped != 5 || !strings.Contains(report.FirstSkip, "gpu_usage_ratio") {
		t.Errorf("report %+v, want cpu and sda restored and 5 skipped, the first for the unknown target", report)
	}
	if got := seriesNames(f); strings.Join(got, " ") != `cpu_usage_ratio disk_utilization_ratio{device="sda"}` {
		t.Errorf("series %v", got)
	}
	if !strings.Contains(string(f.AppendMetrics(nil)), "servermon_forecast_state_series_skipped_total 5\n") {
		t.Error("skipped series not counted")
	}
}

// TestBadPayloadsChangeNothing: a payload that cannot be read at all is refused whole, with ErrState, and leaves
// the forecaster as it was.
func TestBadPayloadsChangeNothing(t *testing.T) {
	cfg := testConfig()
	good, err := filled(t, cfg, 100, []string{"cpu_usage_ratio"}, []string{"disk_utilization_ratio", "device", "vda"}).MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	otherStep := bytes.Clone(good)
	binary.LittleEndian.PutUint64(otherStep[6:], uint64(20*time.Second))
	otherVersion := bytes.Clone(good)
	otherVersion[4] = 9
	for name, b := range map[string][]byte{
		"truncated": good[:len(good)-3], "trailing": append(bytes.Clone(good), 0), "other step": otherStep,
		"other version": otherVersion, "empty": nil, "garbage": []byte("# HELP not a state\n"),
	} {
		f := filled(t, cfg, 10, []string{"load1"})
		if _, err := f.UnmarshalState(b); !errors.Is(err, ErrState) {
			t.Errorf("%s: err %v, want ErrState", name, err)
		}
		if got := seriesNames(f); len(got) != 1 || got[0] != "load1" {
			t.Errorf("%s: series %v after a refused payload", name, got)
		}
	}
}

// TestStateWithAnOddLabelStillLoads: device names come as the kernel spells them. A name the decoder refuses
// (invalid UTF-8, a control character) is left out when saving, so that it costs that device's history, not the
// whole state.
func TestStateWithAnOddLabelStillLoads(t *testing.T) {
	cfg := testConfig()
	src := filled(t, cfg, 10, []string{"cpu_usage_ratio"}, []string{"disk_utilization_ratio", "device", "s\xe9"},
		[]string{"disk_utilization_ratio", "device", "a\tb"}, []string{"disk_utilization_ratio", "device", `a"b`})
	payload, err := src.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	dst := newForecaster(t, cfg)
	report, err := dst.UnmarshalState(payload)
	if err != nil {
		t.Fatalf("state with odd device names rejected whole: %v", err)
	}
	if report.Series != 2 {
		t.Errorf("%d series restored, want cpu and the quoted name", report.Series)
	}
}

// FuzzUnmarshalState feeds any payload to the decoder. It must never panic; what it accepts must render an
// exposition that parses, and survive a save and load unchanged.
func FuzzUnmarshalState(f *testing.F) {
	cfg := Config{Step: 10 * time.Minute, History: 24 * time.Hour, Horizons: []time.Duration{10 * time.Minute}, AnomalyThreshold: 4}
	good, err := filled(f, cfg, 100, []string{"cpu_usage_ratio"}, []string{"disk_utilization_ratio", "device", "nvme0n1"}).MarshalState()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(payloadMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		dst := newForecaster(t, cfg)
		if _, err := dst.UnmarshalState(b); err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error %v does not wrap ErrState", err)
			}
			return
		}
		body := dst.AppendMetrics(nil)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := parser.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
			t.Fatalf("accepted state renders an invalid exposition: %v\n%s", err, body)
		}
		again, err := dst.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		other := newForecaster(t, cfg)
		if _, err := other.UnmarshalState(again); err != nil {
			t.Fatalf("a re-saved state does not load: %v", err)
		}
		if forecastLines(other) != forecastLines(dst) {
			t.Fatal("save and load changed the forecasts")
		}
	})
}
