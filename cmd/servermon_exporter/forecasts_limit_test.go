package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/servermon/servermon_exporter/collector"
)

// TestDiskSeriesLimit: with more disks than --forecast.max-disk-series allows, the host-wide targets are all
// forecast, the disks up to the limit, and the refused ones are counted.
func TestDiskSeriesLimit(t *testing.T) {
	cfg := mustParseFlags(t, "--forecast.max-disk-series=4", "--forecast.step=10s", "--forecast.history=1d", "--forecast.horizon=1m")
	f, err := newForecaster(cfg.forecast, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sc := newScenario(t, 10)
	var lines []string
	for i := range 5 {
		lines = append(lines, fmt.Sprintf(" 8 %d sd%c 1 0 1 1 1 0 1 1 0 1 1", 16*i, 'a'+i))
	}
	if err := os.WriteFile(filepath.Join(sc.dir, "diskstats"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.procPath = sc.dir
	sources, err := newSources(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := collector.NewSampler(collector.SamplerConfig{Interval: 10 * time.Second, Window: time.Minute, Timeout: time.Second}, sources, f)
	if err != nil {
		t.Fatal(err)
	}
	s.Sample()
	body, err := s.Exposition(false)
	if err != nil {
		t.Fatal(err)
	}
	// 5 disks × 3 targets = 15 disk series, 4 allowed; 4 host-wide targets always.
	for _, want := range []string{"servermon_forecast_series 8\n", "servermon_forecast_series_refused 11\n",
		`servermon_forecast_history_seconds{target="memory_usage_ratio"}`, `servermon_forecast_history_seconds{target="load1"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %q in\n%s", want, grep(string(body), "forecast_"))
		}
	}
}
