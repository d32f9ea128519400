package collector

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestRealProc samples this machine's /proc for real: every ratio in [0, 1], every peak at or above its average.
func TestRealProc(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Fatalf("no /proc on this machine: %v", err) // the exporter is Linux-only; so is its test suite
	}
	fs, err := NewProcFS("/proc")
	if err != nil {
		t.Fatal(err)
	}
	sources := []Source{NewCPU(fs, CPUConfig{PerCPU: true}), NewMemory(fs), NewLoad(fs), NewPressure(fs),
		NewDisk(fs, DiskConfig{Exclude: mustCompile(DefaultDiskExclude)})}
	s, err := NewSampler(SamplerConfig{Interval: 100 * time.Millisecond, Window: time.Second, Timeout: 100 * time.Millisecond}, sources)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 5 {
		s.Sample()
		time.Sleep(100 * time.Millisecond) // real intervals of the real counters: what is sampled, not a wait
	}
	body := s.AppendMetrics(nil)
	got := parseSamples(t, body)
	for _, name := range []string{"servermon_cpu_usage_ratio", "servermon_cpu_usage_peak_ratio", "servermon_memory_usage_ratio",
		"servermon_memory_total_bytes", "servermon_swap_usage_ratio", "servermon_load1"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	for k, v := range got {
		name := strings.SplitN(k, "{", 2)[0]
		if strings.HasSuffix(name, "_ratio") && (v < 0 || v > 1) {
			t.Errorf("%s = %v outside [0, 1]", k, v)
		}
		if strings.HasPrefix(k, "servermon_collector_success") && v != 1 {
			t.Errorf("%s = %v", k, v)
		}
		if strings.Contains(name, "_peak_") {
			avg := strings.Replace(k, "_peak_", "_", 1)
			if a, ok := got[avg]; !ok || v < a-1e-12 {
				t.Errorf("%s = %v below its average %s = %v", k, v, avg, a)
			}
		}
	}
}
