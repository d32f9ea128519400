// Command compare runs servermon_exporter and node_exporter side by side on loopback and prints what each costs:
// scrape latency over alternating keep-alive scrapes, CPU per scrape and per minute from the kernel's per-thread
// accounting, RSS, parallel scraping of servermon_exporter, and cost curves over machine size on fake /proc trees.
// Every load loop is bounded in count and in time.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/servermon/servermon_exporter/internal/fakeproc"
)

// nodeCollectors are node_exporter's collectors reading what servermon_exporter reads.
var nodeCollectors = []string{"--collector.disable-defaults", "--collector.cpu", "--collector.meminfo",
	"--collector.diskstats", "--collector.loadavg", "--collector.pressure"}

type config struct {
	servermon, node string
	modes           string
	synthCPUs       int
	synthDisks      int
	cpuWindow       time.Duration
	cpuSettle       time.Duration
	latencyScrapes  int
	memoryScrapes   int
	workers         int
	burstTime       time.Duration
	burstMax        int
	scale           bool
	scaleWindow     time.Duration
	forecastState   string
	logDir          string
	out             io.Writer
}

func main() {
	var cfg config
	flag.StringVar(&cfg.servermon, "servermon", "./servermon_exporter", "servermon_exporter binary")
	flag.StringVar(&cfg.node, "node-exporter", "prometheus-node-exporter", "node_exporter binary (Debian's prometheus-node-exporter)")
	flag.StringVar(&cfg.modes, "modes", "proc,synthetic", "comma-separated: proc (this machine's /proc), synthetic (a fake /proc)")
	flag.IntVar(&cfg.synthCPUs, "synthetic-cpus", 128, "CPUs of the synthetic /proc")
	flag.IntVar(&cfg.synthDisks, "synthetic-disks", 64, "disks of the synthetic /proc")
	flag.DurationVar(&cfg.cpuWindow, "cpu-window", 60*time.Second, "window over which CPU per minute is measured (4 scrapes a minute)")
	flag.DurationVar(&cfg.cpuSettle, "cpu-settle", 45*time.Second, "the CPU window starts no earlier than this after the exporters started: past start-up work such as servermon_exporter's one-off memory trim at 30 s")
	flag.IntVar(&cfg.latencyScrapes, "latency-scrapes", 500, "alternating scrapes of each exporter for latency and CPU per scrape")
	flag.IntVar(&cfg.memoryScrapes, "memory-scrapes", 10000, "scrapes of servermon_exporter before its RSS is taken against the target")
	flag.IntVar(&cfg.workers, "concurrency", 50, "parallel scrapers of servermon_exporter")
	flag.DurationVar(&cfg.burstTime, "concurrency-time", 30*time.Second, "duration of the parallel scraping")
	flag.IntVar(&cfg.burstMax, "concurrency-max", 1000000, "most scrapes in the parallel scraping")
	flag.BoolVar(&cfg.scale, "scale", true, "measure cost curves over CPUs and disks")
	flag.DurationVar(&cfg.scaleWindow, "scale-window", 20*time.Second, "window over which CPU per sample is measured in the scale curves")
	flag.StringVar(&cfg.forecastState, "forecast-state", "", "forecast state file (8 days of history) servermon_exporter starts from in the proc mode")
	flag.Parse()
	cfg.out = os.Stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	var err error
	if cfg.node, err = exec.LookPath(cfg.node); err != nil {
		return fmt.Errorf("node_exporter: %w (apt-get install prometheus-node-exporter)", err)
	}
	if cfg.logDir, err = os.MkdirTemp("", "servermon-bench-"); err != nil {
		return err
	}
	fmt.Fprintf(cfg.out, "# servermon_exporter vs node_exporter\n\n%s\nExporter logs and fake /proc trees: %s\n", machine(cfg), cfg.logDir)
	for _, mode := range strings.Split(cfg.modes, ",") {
		if err := runMode(ctx, cfg, mode); err != nil {
			return err
		}
	}
	if cfg.scale {
		return runScale(ctx, cfg)
	}
	return nil
}

// machine describes the machine and the two exporters.
func machine(cfg config) string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	nodeVersion, _ := exec.Command(cfg.node, "--version").CombinedOutput()
	first, _, _ := strings.Cut(string(nodeVersion), "\n")
	return fmt.Sprintf("Machine: %d CPUs (nproc), %s, Linux %s, %s. node_exporter: %s.\n", runtime.NumCPU(), model,
		strings.TrimSpace(string(kernel)), time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(first))
}

// procTree returns the procfs path of a mode, writing the fake tree when needed.
func procTree(cfg config, mode string, cpus, disks int) (path, desc string, err error) {
	switch mode {
	case "proc":
		return "/proc", fmt.Sprintf("this machine's /proc (%d CPUs)", runtime.NumCPU()), nil
	case "synthetic":
		dir, err := os.MkdirTemp(cfg.logDir, fmt.Sprintf("proc-%dcpu-%ddisk-", cpus, disks))
		if err != nil {
			return "", "", err
		}
		// The same files for both exporters, and the same from run to run.
		_, err = fakeproc.NewStatic(dir, cpus, disks)
		return dir, fmt.Sprintf("fake /proc with %d CPUs and %d disks (+%d partitions, 8 loop devices)", cpus, disks, 2*disks), err
	}
	return "", "", fmt.Errorf("unknown mode %q (proc or synthetic)", mode)
}

// startPair starts both exporters on the procfs at path, servermon_exporter at its defaults plus extra.
func startPair(cfg config, path string, extra ...string) (sm, ne *exporter, err error) {
	if sm, err = startExporter("servermon_exporter", cfg.servermon, cfg.logDir, append([]string{"--path.procfs=" + path}, extra...)...); err != nil {
		return nil, nil, err
	}
	if ne, err = startExporter("node_exporter", cfg.node, cfg.logDir, append(nodeCollectors, "--path.procfs="+path)...); err != nil {
		sm.stop()
		return nil, nil, err
	}
	return sm, ne, nil
}

// stateCopy copies the forecast state file into the log directory, since the exporter rewrites it on shutdown, and
// returns the flag that loads it.
func stateCopy(cfg config) ([]string, error) {
	if cfg.forecastState == "" {
		return nil, nil
	}
	b, err := os.ReadFile(cfg.forecastState)
	if err != nil {
		return nil, fmt.Errorf("forecast state: %w", err)
	}
	path := filepath.Join(cfg.logDir, "forecast.state")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("forecast state: %w", err)
	}
	return []string{"--forecast.state-file=" + path}, nil
}
