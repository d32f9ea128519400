package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
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
	"github.com/servermon/servermon_exporter/internal/backfill"
	"github.com/servermon/servermon_exporter/internal/flagvalue"
	"github.com/servermon/servermon_exporter/internal/forecaster"
	"github.com/servermon/servermon_exporter/internal/statefile"
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
	collector    collector.Config
	forecast     forecastConfig
	runtimeEvery time.Duration
}

// forecastConfig is the forecasting part of the configuration.
type forecastConfig struct {
	enabled bool
	forecaster.Config
	stateFile     string
	stateInterval time.Duration
	// backfill loads history from Prometheus at start when its URL is set.
	backfill backfill.Config
}

// errExit means the flags asked for help or the version, which have been printed.
var errExit = errors.New("exit requested")

// flagError is a flag value that does not parse or does not fit: the message names the flag.
func flagError(flag string, value any, problem error) error {
	return fmt.Errorf("--%s=%v: %w", flag, value, problem)
}

// parseFlags parses the command line into a config. Usage and errors go to out.
func parseFlags(args []string, out io.Writer) (*config, error) {
	app := kingpin.New("servermon_exporter", "Prometheus exporter of host CPU, memory, swap, load, pressure, disk IO and filesystem gauges, with in-process forecasts.")
	app.UsageWriter(out)
	app.ErrorWriter(out)
	exited := false
	app.Terminate(func(int) { exited = true }) // --help and --version end the program in run, not here
	app.Version(version.Print("servermon_exporter"))
	app.HelpFlag.Short('h')

	cfg := &config{collectors: map[string]bool{}, runtimeEvery: 10 * time.Second}
	value := func(name, help, def string, set func(string) error) *kingpin.FlagClause {
		c := app.Flag(name, help).Default(def)
		c.SetValue(flagvalue.Func(name, set))
		return c
	}
	duration := func(name, help, def string, dst *time.Duration) {
		value(name, help, def, func(s string) (err error) { *dst, err = parseDuration(s, true); return err })
	}
	float := func(name, help, def string, set func(float64)) {
		value(name, help, def, func(s string) error {
			v, err := strconv.ParseFloat(s, 64)
			set(v)
			return err
		})
	}

	cfg.web = kingpinflag.AddFlags(app, defaultListenAddress)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&cfg.telemetry)
	app.Flag("web.max-requests", "Maximum number of parallel scrape requests; beyond it the exporter answers 503. 0 means no limit.").Default("40").IntVar(&cfg.maxRequests)
	app.Flag("web.enable-pprof", "Serve Go's profiling endpoints under /debug/pprof/.").Default("false").BoolVar(&cfg.enablePprof)
	app.Flag("path.procfs", "procfs mount point.").Default("/proc").StringVar(&cfg.procPath)
	app.Flag("path.rootfs", "Mount point of the host's root filesystem, when the exporter runs in a container that has it mounted: filesystems are read under it, and reported without it.").Default("/").StringVar(&cfg.collector.Filesystem.RootFS)
	duration("sample.interval", "Interval at which /proc is sampled in the background.", "1s", &cfg.sampler.Interval)
	value("sample.slow-interval", "Interval at which the load, pressure and filesystem collectors read: the kernel recomputes the load averages every 5s, pressure is exposed as window averages, which need no finer reads, and space changes slowly. 0 reads them at every sample.", "5s",
		func(s string) (err error) { cfg.sampler.SlowInterval, err = parseDuration(s, false); return err })
	duration("sample.window", "Window over which observed averages and peaks are computed.", "1m", &cfg.sampler.Window)
	duration("collector.timeout", "Longest a collector may take to read /proc in one sample before it is reported failed.", "500ms", &cfg.sampler.Timeout)
	enabled := map[string]*bool{}
	for _, c := range collector.Collectors() {
		enabled[c.Name] = app.Flag("collector."+c.Name, "Enable the "+c.Name+" collector ("+c.Reads+").").Default(strconv.FormatBool(c.EnabledByDefault)).Bool()
	}
	app.Flag("collector.cpu.per-cpu", "Also expose the busy share of every CPU.").Default("false").BoolVar(&cfg.collector.CPU.PerCPU)
	value("collector.disk.device-include", "Regexp of disk devices to include (all when empty).", "",
		func(s string) (err error) { cfg.collector.Disk.Include, err = compileRegexp(s); return err })
	value("collector.disk.device-exclude", "Regexp of disk devices to exclude.", collector.DefaultDiskExclude,
		func(s string) (err error) { cfg.collector.Disk.Exclude, err = compileRegexp(s); return err })
	fsc := &cfg.collector.Filesystem
	value("collector.filesystem.mount-points-include", "Regexp of mount points to include (all when empty).", "",
		func(s string) (err error) { fsc.MountPointsInclude, err = compileRegexp(s); return err })
	value("collector.filesystem.mount-points-exclude", "Regexp of mount points to exclude.", collector.DefaultMountPointsExclude,
		func(s string) (err error) { fsc.MountPointsExclude, err = compileRegexp(s); return err })
	value("collector.filesystem.fs-types-include", "Regexp of filesystem types to include (all when empty).", "",
		func(s string) (err error) { fsc.FSTypesInclude, err = compileRegexp(s); return err })
	value("collector.filesystem.fs-types-exclude", "Regexp of filesystem types to exclude.", collector.DefaultFSTypesExclude,
		func(s string) (err error) { fsc.FSTypesExclude, err = compileRegexp(s); return err })
	value("collector.filesystem.max-mounts", "Most mounts reported; the rest are counted in servermon_filesystem_mounts_refused. 0 means no limit.", strconv.Itoa(collector.DefaultMaxMounts),
		func(s string) (err error) { fsc.MaxMounts, err = parseCount(s); return err })

	f := &cfg.forecast
	var stepSet, historySet, horizonsSet bool
	app.Flag("forecast", "Forecast the observed gauges.").Default("true").BoolVar(&f.enabled)
	duration("forecast.step", "Step to which observations are resampled (mean of the samples in the step) before forecasting.", "1m", &f.Step)
	app.GetFlag("forecast.step").IsSetByUser(&stepSet)
	duration("forecast.history", fmt.Sprintf("History kept per forecast series; at least %s, and at least %d steps.", spell(forecast.MinHistory), forecast.MinHistorySteps), "8d", &f.History)
	app.GetFlag("forecast.history").IsSetByUser(&historySet)
	horizons := app.Flag("forecast.horizon", "Forecast horizon, a multiple of --forecast.step; repeat the flag for several.").Default("5m", "1h", "6h", "24h").IsSetByUser(&horizonsSet).Strings()
	f.Thresholds = map[string]float64{}
	for _, th := range collector.ThresholdFlags() {
		float("forecast.threshold."+th.Name, "Threshold of "+strings.Join(th.Targets, ", ")+" for servermon_forecast_seconds_until_threshold, a ratio in (0, 1].",
			strconv.FormatFloat(th.Default, 'g', -1, 64), func(v float64) { f.Thresholds[th.Name] = v })
	}
	float("forecast.anomaly-threshold", "Anomaly score above which servermon_anomalous is 1.", strconv.FormatFloat(forecast.DefaultAnomalyThreshold, 'g', -1, 64),
		func(v float64) { f.AnomalyThreshold = v })
	f.MaxSeries = map[string]int{}
	for _, g := range collector.SeriesGroups() {
		value("forecast.max-"+g.Name+"-series", "Most per-"+g.Name+" series forecast ("+g.Per+"; the rest are observed but not forecast); 0 means no limit.", strconv.Itoa(g.DefaultMax),
			func(s string) error { return setCount(s, f.MaxSeries, g.Name) })
	}
	var stateSet bool
	app.Flag("forecast.state-file", "File in which forecast history and model state survive restarts; by default "+statefile.DefaultName+" in $STATE_DIRECTORY when systemd sets it (StateDirectory=), off otherwise.").Default("").IsSetByUser(&stateSet).StringVar(&f.stateFile)
	duration("forecast.state-interval", "Interval between two saves of the state file (it is also saved on shutdown).", "5m", &f.stateInterval)
	bf := &f.backfill
	value("forecast.backfill.url", "Base URL of a Prometheus-compatible query API (Prometheus, Thanos Query, Mimir, VictoriaMetrics) to load forecast history from at start; off when empty.", "",
		func(s string) error { bf.URL = s; return backfill.CheckURL(s) })
	value("forecast.backfill.selector", `Label matchers of this host's series in Prometheus, e.g. instance="web1:9100"; by default instance=~"<hostname>(:[0-9]+)?".`, "",
		func(s string) (err error) { bf.Selector, err = backfill.SelectorOrDefault(s, false); return err })
	value("forecast.backfill.config", "File of HTTP client settings for the backfill (basic_auth, authorization, bearer token file, tls_config, proxy), in Prometheus' format.", "",
		func(s string) (err error) { bf.HTTP, err = backfill.LoadHTTPConfig(s); return err })
	duration("forecast.backfill.timeout", "Deadline of the whole backfill, retries included; forecasting goes on from live samples after it.", backfill.DefaultTimeout.String(), &bf.Timeout)
	promslogflag.AddFlags(app, &cfg.log)

	_, err := app.Parse(args)
	if exited {
		return nil, errExit
	}
	if err != nil {
		return nil, err
	}
	if path, ok := statefile.DefaultPath(); ok && !stateSet {
		f.stateFile = path
	}
	if bf.URL != "" && bf.Selector == "" {
		if bf.Selector, err = backfill.SelectorOrDefault("", true); err != nil {
			return nil, flagError("forecast.backfill.selector", "", err)
		}
	}
	for name, on := range enabled {
		cfg.collectors[name] = *on
	}
	// A read of the filesystems waits for the mounts' statfs at most half the collector timeout, so that a hung
	// mount costs its read that wait, not the collector's success; mountinfo's read takes far less than the rest.
	fsc.StatfsTimeout = cfg.sampler.Timeout / 2
	for _, h := range *horizons {
		d, err := parseDuration(h, true)
		if err != nil {
			return nil, flagError("forecast.horizon", h, err)
		}
		f.Horizons = append(f.Horizons, d)
	}
	if err := cfg.validate(defaulted{step: !stepSet, history: !historySet, horizons: !horizonsSet}); err != nil {
		return nil, err
	}
	return cfg, nil
}

// defaulted tells which forecast flags kept their defaults, for the messages of errors that involve them.
type defaulted struct{ step, history, horizons bool }

func (d defaulted) note(isDefault bool) string {
	if isDefault {
		return " (the default)"
	}
	return ""
}

func (c *config) validate(d defaulted) error {
	if err := c.sampler.Validate(); err != nil {
		return fmt.Errorf("--sample.interval, --sample.window, --sample.slow-interval, --collector.timeout: %w", err)
	}
	if r := c.collector.Filesystem.RootFS; !strings.HasPrefix(r, "/") {
		return flagError("path.rootfs", r, errors.New("must be an absolute path"))
	}
	if c.maxRequests < 0 {
		return flagError("web.max-requests", c.maxRequests, errors.New("must not be negative"))
	}
	if c.telemetry == "" || c.telemetry[0] != '/' || c.telemetry == "/" {
		return flagError("web.telemetry-path", c.telemetry, errors.New("must be an absolute path other than /"))
	}
	if files := *c.web.WebConfigFile; files != "" {
		if err := web.Validate(files); err != nil {
			return flagError("web.config.file", files, err)
		}
	}
	f := &c.forecast
	for flag, v := range f.Thresholds {
		if !(v > 0 && v <= 1) {
			return flagError("forecast.threshold."+flag, v, errors.New("must be a ratio in (0, 1]"))
		}
	}
	if !(f.AnomalyThreshold > 0) || math.IsInf(f.AnomalyThreshold, 0) {
		return flagError("forecast.anomaly-threshold", f.AnomalyThreshold, errors.New("must be positive and finite"))
	}
	if f.stateInterval <= 0 {
		return flagError("forecast.state-interval", f.stateInterval, errors.New("must be positive"))
	}
	if f.History < forecast.MinHistory {
		return flagError("forecast.history", spell(f.History), fmt.Errorf("shorter than the minimum of %s", spell(forecast.MinHistory)))
	}
	for _, h := range f.Horizons {
		if h%f.Step != 0 {
			return fmt.Errorf("--forecast.horizon=%s%s is not a multiple of --forecast.step=%s%s", spell(h), d.note(d.horizons), spell(f.Step), d.note(d.step))
		}
		if h > f.History {
			return fmt.Errorf("--forecast.horizon=%s%s is longer than --forecast.history=%s%s", spell(h), d.note(d.horizons), spell(f.History), d.note(d.history))
		}
	}
	if _, err := forecaster.New(f.Config); err != nil {
		return fmt.Errorf("--forecast.step, --forecast.history, --forecast.horizon: %w", err)
	}
	return nil
}

// setCount parses a non-negative count into m[key].
func setCount(s string, m map[string]int, key string) error {
	n, err := parseCount(s)
	if err == nil {
		m[key] = n
	}
	return err
}

// parseCount parses a non-negative count.
func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, errors.New("must not be negative")
	}
	return n, nil
}

// compileRegexp compiles a device filter; an empty pattern means no filter.
func compileRegexp(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	return re, nil
}

// parseDuration accepts the spelling of kingpin's duration flags: Go's (1h30m) plus days and weeks (1d, 1w). A
// zero duration is refused when positive is set; a negative one always.
func parseDuration(s string, positive bool) (time.Duration, error) {
	d, err := str2duration.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration (examples: 500ms, 1m, 6h, 8d): %w", err)
	}
	if d < 0 || (positive && d == 0) {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

// spell spells a duration as the flags take it.
func spell(d time.Duration) string { return str2duration.String(d) }
