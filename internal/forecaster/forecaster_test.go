package forecaster

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/clock"
)

// testConfig is a small forecaster configuration: 10 s steps, a day of history, horizons 1m and 5m.
func testConfig() Config {
	return Config{Step: 10 * time.Second, History: 24 * time.Hour, Horizons: []time.Duration{time.Minute, 5 * time.Minute},
		AnomalyThreshold: 4, Thresholds: map[string]float64{}, MaxSeries: map[string]int{}}
}

func newForecaster(tb testing.TB, cfg Config) *Forecaster {
	tb.Helper()
	f, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// The test families forecast the real targets, so that the state decoder knows them.
var (
	testCPUFamily  = &collector.Family{Name: "test_cpu_ratio", Help: "CPU.", Target: collector.TargetByName("cpu_usage_ratio")}
	testDiskFamily = &collector.Family{Name: "test_disk_ratio", Help: "Disk.", LabelNames: []string{"device"}, Target: collector.TargetByName("disk_utilization_ratio")}
)

// gaugeSource produces the gauge of a host-wide target with value cpu, re-created on demand as after an outage,
// and one per-disk gauge with value 0.25 per listed disk.
type gaugeSource struct {
	disks    []string
	recreate bool
	value    float64
	cpu      *collector.Gauge
	disk     map[string]*collector.Gauge
}

func newGaugeSource(disks ...string) *gaugeSource {
	return &gaugeSource{disks: disks, value: 0.5, disk: map[string]*collector.Gauge{}}
}

func (s *gaugeSource) Name() string             { return "gauges" }
func (s *gaugeSource) Read(time.Duration) error { return nil }
func (s *gaugeSource) Update(st *collector.Store) {
	if s.recreate {
		st.Remove(s.cpu)
		s.cpu, s.recreate = nil, false
	}
	if s.cpu == nil {
		s.cpu = st.Gauge(testCPUFamily)
	}
	st.Set(s.cpu, s.value)
	for d, g := range s.disk {
		if !slices.Contains(s.disks, d) {
			st.Remove(g)
			delete(s.disk, d)
		}
	}
	for _, d := range s.disks {
		if s.disk[d] == nil {
			s.disk[d] = st.Gauge(testDiskFamily, d)
		}
		st.Set(s.disk[d], 0.25)
	}
}

// testSampler samples src every interval of the clock, telling f.
func testSampler(tb testing.TB, src collector.Source, f *Forecaster, c clock.Clock, interval time.Duration) *collector.Sampler {
	tb.Helper()
	s, err := collector.NewSampler(collector.SamplerConfig{Interval: interval, Window: time.Minute, Timeout: interval, Clock: c},
		[]collector.Source{src}, f)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func seriesNames(f *Forecaster) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.sorted {
		out = append(out, s.target.Name+s.labels)
	}
	return out
}

// TestSeriesFollowTheirGauges: the gauge-to-series index keeps one entry per series while gauges are re-created
// and disks come and go, and a re-created host-wide gauge keeps feeding the same series.
func TestSeriesFollowTheirGauges(t *testing.T) {
	f := newForecaster(t, testConfig())
	src := newGaugeSource("sda", "sdb")
	fake := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := testSampler(t, src, f, fake, time.Second)
	all := []string{"cpu_usage_ratio", `disk_utilization_ratio{device="sda"}`, `disk_utilization_ratio{device="sdb"}`}
	sample := func(want ...string) {
		t.Helper()
		s.Sample()
		fake.Advance(time.Second)
		if got := seriesNames(f); !slices.Equal(got, want) {
			t.Errorf("series %v, want %v", got, want)
		}
		if len(f.byGauge) != len(f.sorted) {
			t.Errorf("%d gauges indexed for %d series", len(f.byGauge), len(f.sorted))
		}
	}
	sample(all...)
	cpu := f.series["cpu_usage_ratio"]
	src.recreate = true
	sample(all...)
	if f.series["cpu_usage_ratio"] != cpu {
		t.Error("the re-created CPU gauge feeds a new series: its history is lost")
	}
	src.disks = []string{"sdb"}
	sample(all[0], all[2])
	src.disks = []string{"sda", "sdb"}
	sample(all...)
	for range 20 {
		sample(all...)
	}
	if hs := cpu.fc.HistorySeconds(); hs < 10 {
		t.Errorf("the CPU series holds %g s of history after 24 s of 10 s steps, want at least one step", hs)
	}
}

// TestSeriesLimit: with more disks than the group's limit allows, the host-wide series are all forecast, the disks
// up to the limit, and the refused ones are counted.
func TestSeriesLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSeries["disk"] = 3
	f := newForecaster(t, cfg)
	s := testSampler(t, newGaugeSource("sda", "sdb", "sdc", "sdd", "sde"), f, clock.NewFake(time.Unix(1.7e9, 0)), time.Second)
	s.Sample()
	body := string(f.AppendMetrics(nil))
	for _, want := range []string{"servermon_forecast_series 4\n", "servermon_forecast_series_refused 2\n",
		`servermon_forecast_history_seconds{target="cpu_usage_ratio"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
}

// TestWallClockStepsDoNotReorderForecasts steps the wall clock back and forth by up to a year while the sampler
// samples every 10 s. The forecasts must see one step per 10 s of monotonic time: each series' newest step advances
// by exactly one step per sample, its history grows by one step per sample (no gap filled, no reset).
func TestWallClockStepsDoNotReorderForecasts(t *testing.T) {
	f := newForecaster(t, testConfig())
	fake := clock.NewFake(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	s := testSampler(t, newGaugeSource(), f, fake, 10*time.Second)
	steps := map[int]time.Duration{20: -time.Hour, 35: time.Hour, 50: -24 * time.Hour, 51: 24 * time.Hour, 70: -5 * time.Minute, 90: 365 * 24 * time.Hour}
	var prevLast time.Time
	for i := range 120 {
		fake.Step(steps[i])
		s.Sample()
		fake.Advance(10 * time.Second)
		cpu := f.series["cpu_usage_ratio"]
		last, _, ok := cpu.fc.Last()
		if i == 0 {
			if ok {
				t.Fatal("a step finished after one sample")
			}
			continue
		}
		if !ok {
			t.Fatalf("sample %d: no step pushed", i)
		}
		if i > 1 && last.Sub(prevLast) != 10*time.Second {
			t.Fatalf("sample %d (wall stepped %s): newest step moved by %s, want 10s", i, steps[i], last.Sub(prevLast))
		}
		prevLast = last
		if h, want := cpu.fc.HistorySeconds(), float64(i*10); h != want {
			t.Fatalf("sample %d: %v s of history, want %v", i, h, want)
		}
	}
}

// TestRestartWithStateAheadOfTheClockContinues: a process that started while the wall clock was a day ahead keeps
// that offset on its forecast time axis after NTP corrects the wall clock, since the axis follows the monotonic
// clock. Its state is then a day "ahead" of the next process's clock. The next process must continue the
// forecasts at once, not refuse every step for a day.
func TestRestartWithStateAheadOfTheClockContinues(t *testing.T) {
	correct := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	fake := clock.NewFake(correct.Add(24 * time.Hour))
	first := newForecaster(t, testConfig())
	s := testSampler(t, newGaugeSource(), first, fake, 10*time.Second)
	for i := range 100 {
		if i == 5 {
			fake.Step(-24 * time.Hour) // NTP corrects the wall clock
		}
		s.Sample()
		fake.Advance(10 * time.Second)
	}
	payload, err := first.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	saved := first.series["cpu_usage_ratio"].fc.HistorySeconds()

	restarted := clock.NewFake(fake.Now().Wall.Add(time.Minute))
	second := newForecaster(t, testConfig())
	if _, err := second.UnmarshalState(payload); err != nil {
		t.Fatal(err)
	}
	s = testSampler(t, newGaugeSource(), second, restarted, 10*time.Second)
	for range 50 {
		s.Sample()
		restarted.Advance(10 * time.Second)
	}
	cpu := second.series["cpu_usage_ratio"]
	if h := cpu.fc.HistorySeconds(); h < saved+400 {
		t.Errorf("history %v s after 50 samples following a restart with %v s: steps were refused", h, saved)
	}
	if _, ok := cpu.fc.Forecast(0); !ok {
		t.Error("no forecast after the restart")
	}
}

// TestWarmupIsPublishedFromTheFirstStep: servermon_forecast_ready and _warmup_seconds exist for every series and
// horizon before any forecast does, count down, and agree with the forecasts being served.
func TestWarmupIsPublishedFromTheFirstStep(t *testing.T) {
	f := newForecaster(t, testConfig())
	fake := clock.NewFake(time.Unix(1.7e9, 0))
	s := testSampler(t, newGaugeSource("sda"), f, fake, 10*time.Second)
	s.Sample()
	fake.Advance(10 * time.Second)
	s.Sample()
	body := string(f.AppendMetrics(nil))
	// 1m = 6 steps and 5m = 30 steps: ready after max(60, k + 32) steps, 60 and 62; one step is in.
	for _, want := range []string{
		`servermon_forecast_ready{target="cpu_usage_ratio",horizon="1m"} 0`,
		`servermon_forecast_warmup_seconds{target="cpu_usage_ratio",horizon="1m"} 590`,
		`servermon_forecast_warmup_seconds{target="cpu_usage_ratio",horizon="5m"} 610`,
		`servermon_forecast_ready{target="disk_utilization_ratio",device="sda",horizon="5m"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %q in\n%s", want, body)
		}
	}
	if strings.Contains(body, "servermon_forecast_cpu_usage_ratio{") {
		t.Error("a forecast is served before its warm-up is over")
	}
	for i := 0; ; i++ {
		s.Sample()
		fake.Advance(10 * time.Second)
		v := f.Views(0)[0]
		if v.Horizons[0].Ready != (v.Horizons[0].WarmupSeconds == 0) {
			t.Fatalf("sample %d: ready %v with %v s to go", i, v.Horizons[0].Ready, v.Horizons[0].WarmupSeconds)
		}
		if v.Horizons[0].Ready {
			if i+2 != 61 { // the 60th step finishes with the 61st sample
				t.Errorf("the 1m horizon was ready after %d samples, want 61", i+2)
			}
			break
		}
		if i > 100 {
			t.Fatal("never ready")
		}
	}
}

// TestViews: a view carries the observed steps, the forecasts and the ETAs of each series.
func TestViews(t *testing.T) {
	cfg := testConfig()
	cfg.Thresholds["cpu"] = 0.9
	f := newForecaster(t, cfg)
	fake := clock.NewFake(time.Unix(1.7e9, 0))
	src := newGaugeSource()
	s := testSampler(t, src, f, fake, 10*time.Second)
	for i := range 200 {
		src.value = 0.3 + 0.002*float64(i) // climbing 0.002 a step towards 0.9
		s.Sample()
		fake.Advance(10 * time.Second)
	}
	views := f.Views(50)
	if len(views) != 1 {
		t.Fatalf("%d views", len(views))
	}
	v := views[0]
	if v.Target.Name != "cpu_usage_ratio" || len(v.Observed) != 50 || v.Threshold != 0.9 || !v.HasLast {
		t.Fatalf("view %+v", v)
	}
	if got, want := v.Observed[49], 0.3+0.002*198; math.Abs(got-want) > 1e-6 {
		t.Errorf("newest observed step %v, want %v", got, want)
	}
	for _, h := range v.Horizons {
		if !h.Ready || !h.HasErrorRatio || !(h.Forecast.Lower <= h.Forecast.Point && h.Forecast.Point <= h.Forecast.Upper) {
			t.Errorf("horizon %v: %+v", h.Horizon, h)
		}
	}
	if !v.HasETA || !(v.Earliest <= v.Expected) {
		t.Errorf("ETA earliest %v expected %v (%v)", v.Earliest, v.Expected, v.HasETA)
	}
	if got := fmt.Sprint(v.LabelNames); got != "[]" {
		t.Errorf("host-wide series with labels %s", got)
	}
}
