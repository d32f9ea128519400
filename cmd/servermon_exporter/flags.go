package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"github.com/xhit/go-str2duration/v2"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
)

// defaultListenAddress uses port 9843, unallocated on Prometheus' default port allocation list when chosen.
const defaultListenAddress = ":9843"

// config is everything the flags decide, parsed once in main and handed down; no package keeps flag state.
type config struct {
	web          *web.FlagConfig
	telemetry    string
	maxRequests  int
	enablePprof  bool
	procPath     string
	log          promslog.Config
	sampler      collector.SamplerConfig
	collectors   map[string]bool
	cpu          collector.CPUConfig
	disk         collector.DiskConfig
	forecast     forecastConfig
	runtimeEvery time.Duration
}

// forecastConfig is the forecasting part of the configuration.
type forecastConfig struct {
	enabled       bool
	step          time.Duration
	history       time.Duration
	horizons      []time.Duration
	thresholds    map[string]float64 // by target, e.g. memory_usage_ratio
	anomaly       float64            // anomaly score threshold
	maxDiskSeries int                // cap on per-disk forecast series; 0 = none
	stateFile     string
	stateInterval time.Duration
}

// errExit means the flags asked for help or the version, which have been printed.
var errExit = errors.New("exit requested")

var collectorNames = []string{"cpu", "disk", "load", "memory", "pressure"}

// parseFlags parses the command line into a config. Usage and errors go to out.
func parseFlags(args []string, out io.Writer) (*config, error) {
	app := kingpin.New("servermon_exporter", "Prometheus exporter of host CPU, memory, swap, load, pressure and disk IO gauges, with in-process forecasts.")
	app.UsageWriter(out)
	app.ErrorWriter(out)
	exited := false
	app.Terminate(func(int) { exited = true }) // --help and --version end the program in run, not here
	app.Version(version.Print("servermon_exporter"))
	app.HelpFlag.Short('h')

	cfg := &config{collectors: map[string]bool{}, runtimeEvery: 10 * time.Second}
	cfg.web = kingpinflag.AddFlags(app, defaultListenAddress)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&cfg.telemetry)
	app.Flag("web.max-requests", "Maximum number of parallel scrape requests; beyond it the exporter answers 503. 0 means no limit.").Default("40").IntVar(&cfg.maxRequests)
	app.Flag("web.enable-pprof", "Serve Go's profiling endpoints under /debug/pprof/.").Default("false").BoolVar(&cfg.enablePprof)
	app.Flag("path.procfs", "procfs mount point.").Default("/proc").StringVar(&cfg.procPath)
	app.Flag("sample.interval", "Interval at which /proc is sampled in the background.").Default("1s").DurationVar(&cfg.sampler.Interval)
	app.Flag("sample.slow-interval", "Interval at which the load and pressure collectors read /proc: the kernel recomputes the load averages every 5s, and pressure is exposed as window averages, which need no finer reads. 0 reads them at every sample.").Default("5s").DurationVar(&cfg.sampler.SlowInterval)
	app.Flag("sample.window", "Window over which observed averages and peaks are computed.").Default("1m").DurationVar(&cfg.sampler.Window)
	app.Flag("collector.timeout", "Longest a collector may take to read /proc in one sample before it is reported failed.").Default("500ms").DurationVar(&cfg.sampler.Timeout)
	enabled := map[string]*bool{}
	for _, name := range collectorNames {
		enabled[name] = app.Flag("collector."+name, "Enable the "+name+" collector.").Default("true").Bool()
	}
	app.Flag("collector.cpu.per-cpu", "Also expose the busy share of every CPU.").Default("false").BoolVar(&cfg.cpu.PerCPU)
	include := app.Flag("collector.disk.device-include", "Regexp of disk devices to include (all when empty).").Default("").String()
	exclude := app.Flag("collector.disk.device-exclude", "Regexp of disk devices to exclude.").Default(collector.DefaultDiskExclude).String()

	f := &cfg.forecast
	app.Flag("forecast", "Forecast the observed gauges.").Default("true").BoolVar(&f.enabled)
	app.Flag("forecast.step", "Step to which observations are resampled (mean of the samples in the step) before forecasting.").Default("1m").DurationVar(&f.step)
	app.Flag("forecast.history", "History kept per forecast series.").Default("8d").DurationVar(&f.history)
	horizons := app.Flag("forecast.horizon", "Forecast horizon; repeat the flag for several.").Default("5m", "1h", "6h", "24h").Strings()
	thresholds := map[string]*float64{}
	for _, t := range forecastThresholds {
		thresholds[t.target] = app.Flag("forecast.threshold."+t.flag, "Threshold of "+t.target+" for servermon_forecast_seconds_until_threshold.").Default(t.value).Float64()
	}
	app.Flag("forecast.anomaly-threshold", "Anomaly score above which servermon_anomalous is 1.").Default(strconv.FormatFloat(forecast.DefaultAnomalyThreshold, 'g', -1, 64)).Float64Var(&f.anomaly)
	app.Flag("forecast.max-disk-series", "Most per-disk series forecast (3 per disk; the rest are observed but not forecast); 0 means no limit.").Default("96").IntVar(&f.maxDiskSeries)
	app.Flag("forecast.state-file", "File in which forecast history and model state survive restarts (off when empty).").Default("").StringVar(&f.stateFile)
	app.Flag("forecast.state-interval", "Interval between two saves of the state file (it is also saved on shutdown).").Default("5m").DurationVar(&f.stateInterval)
	promslogflag.AddFlags(app, &cfg.log)

	_, err := app.Parse(args)
	if exited {
		return nil, errExit
	}
	if err != nil {
		return nil, err
	}
	for name, on := range enabled {
		cfg.collectors[name] = *on
	}
	if cfg.disk.Include, err = compileDeviceRegexp("collector.disk.device-include", *include); err != nil {
		return nil, err
	}
	if cfg.disk.Exclude, err = compileDeviceRegexp("collector.disk.device-exclude", *exclude); err != nil {
		return nil, err
	}
	for _, h := range *horizons {
		d, err := parseDuration(h)
		if err != nil {
			return nil, fmt.Errorf("--forecast.horizon %q: %w", h, err)
		}
		f.horizons = append(f.horizons, d)
	}
	f.thresholds = map[string]float64{}
	for target, v := range thresholds {
		if !(*v > 0 && *v <= 1) {
			return nil, fmt.Errorf("--forecast.threshold for %s must be a ratio in (0, 1], got %g", target, *v)
		}
		f.thresholds[target] = *v
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *config) validate() error {
	if err := c.sampler.Validate(); err != nil {
		return fmt.Errorf("invalid sampling flags: %w", err)
	}
	if c.maxRequests < 0 {
		return fmt.Errorf("--web.max-requests must not be negative, got %d", c.maxRequests)
	}
	if c.telemetry == "" || c.telemetry[0] != '/' || c.telemetry == "/" {
		return fmt.Errorf("--web.telemetry-path must be an absolute path other than /, got %q", c.telemetry)
	}
	if !(c.forecast.anomaly > 0) || math.IsInf(c.forecast.anomaly, 0) {
		return fmt.Errorf("--forecast.anomaly-threshold must be positive and finite, got %g", c.forecast.anomaly)
	}
	if c.forecast.maxDiskSeries < 0 {
		return fmt.Errorf("--forecast.max-disk-series must not be negative, got %d", c.forecast.maxDiskSeries)
	}
	if c.forecast.stateInterval <= 0 {
		return fmt.Errorf("--forecast.state-interval must be positive, got %s", c.forecast.stateInterval)
	}
	return nil
}

// compileDeviceRegexp compiles a device filter; an empty pattern means no filter.
func compileDeviceRegexp(flag, pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("--%s: invalid regular expression: %w", flag, err)
	}
	return re, nil
}

// parseDuration accepts the spelling of kingpin's duration flags: Go's (1h30m) plus days and weeks (1d, 1w).
func parseDuration(s string) (time.Duration, error) {
	d, err := str2duration.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration: %w", err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration must be positive, got %s", s)
	}
	return d, nil
}

// forecastThresholds are the targets that get a time-until-threshold, with their flag names and defaults.
var forecastThresholds = []struct{ target, flag, value string }{
	{"cpu_usage_ratio", "cpu", "0.9"},
	{"memory_usage_ratio", "memory", "0.95"},
	{"swap_usage_ratio", "swap", "0.9"},
	{"disk_utilization_ratio", "disk", "0.9"},
}
