package main

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
)

var (
	testCPUFamily  = &collector.Family{Name: "test_cpu_ratio", Help: "CPU.", Target: "cpu_usage_ratio"}
	testDiskFamily = &collector.Family{Name: "test_disk_ratio", Help: "Disk.", LabelNames: []string{"device"}, Target: "disk_utilization_ratio"}
)

// gaugeSource produces the gauge of a host-wide target, re-created on demand as after an outage, and one per-disk
// gauge per listed disk.
type gaugeSource struct {
	disks    []string
	recreate bool
	cpu      *collector.Gauge
	disk     map[string]*collector.Gauge
}

func (s *gaugeSource) Name() string         { return "gauges" }
func (s *gaugeSource) Read(time.Time) error { return nil }
func (s *gaugeSource) Update(st *collector.Store) {
	if s.recreate {
		st.Remove(s.cpu)
		s.cpu, s.recreate = nil, false
	}
	if s.cpu == nil {
		s.cpu = st.Gauge(testCPUFamily)
	}
	st.Set(s.cpu, 0.5)
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

// TestTargetsFollowTheirGauges: the gauge-to-target index keeps one entry per target while gauges are re-created
// and disks come and go, and a re-created host-wide gauge keeps feeding the same series.
func TestTargetsFollowTheirGauges(t *testing.T) {
	cfg := mustParseFlags(t, "--forecast.step=10s", "--forecast.history=1d", "--forecast.horizon=1m")
	f, err := newForecaster(cfg.forecast, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	src := &gaugeSource{disks: []string{"sda", "sdb"}, disk: map[string]*collector.Gauge{}}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s, err := collector.NewSampler(collector.SamplerConfig{Interval: time.Second, Window: time.Minute, Timeout: time.Second,
		Now: func() time.Time { return now }}, []collector.Source{src}, f)
	if err != nil {
		t.Fatal(err)
	}
	sample := func(want ...string) {
		t.Helper()
		s.Sample()
		now = now.Add(time.Second)
		var got []string
		for _, tg := range f.sorted {
			got = append(got, tg.name+"/"+tg.device)
		}
		if !slices.Equal(got, want) {
			t.Errorf("targets %v, want %v", got, want)
		}
		if len(f.byGauge) != len(f.sorted) {
			t.Errorf("%d gauges indexed for %d targets", len(f.byGauge), len(f.sorted))
		}
	}
	sample("cpu_usage_ratio/", "disk_utilization_ratio/sda", "disk_utilization_ratio/sdb")
	cpu := f.targets[targetKey("cpu_usage_ratio", "")]
	src.recreate = true
	sample("cpu_usage_ratio/", "disk_utilization_ratio/sda", "disk_utilization_ratio/sdb")
	if f.targets[targetKey("cpu_usage_ratio", "")] != cpu {
		t.Error("the re-created CPU gauge feeds a new series: its history is lost")
	}
	src.disks = []string{"sdb"}
	sample("cpu_usage_ratio/", "disk_utilization_ratio/sdb")
	src.disks = []string{"sda", "sdb"}
	sample("cpu_usage_ratio/", "disk_utilization_ratio/sda", "disk_utilization_ratio/sdb")
	for range 20 {
		sample("cpu_usage_ratio/", "disk_utilization_ratio/sda", "disk_utilization_ratio/sdb")
	}
	if hs := cpu.series.HistorySeconds(); hs < 10 {
		t.Errorf("the CPU series holds %g s of history after 24 s of 10 s steps, want at least one step", hs)
	}
}
