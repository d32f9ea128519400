// Command floor measures the least CPU a Go program spends sampling the exporter's /proc files once a second: the
// floor under servermon_exporter's own figure in docs/benchmarks.md. Each variant runs as -copies child processes
// of this binary side by side (variants one after the other); a child's CPU is the sum of the first field of
// /proc/PID/task/*/schedstat (ns on CPU) read after a warm-up and at the end of -duration.
//
//	go run ./bench/floor [-duration 60s] [-copies 3] [-procfs /proc]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	duration, warmup time.Duration
	copies           int
	procfs           string
	child            string // variant to run as a child; empty in the parent
}

// parseArgs parses the command line (without the program name).
func parseArgs(args []string, stderr io.Writer) (config, error) {
	c := config{warmup: 3 * time.Second}
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "measured window per variant, after a 3 s warm-up")
	fs.IntVar(&c.copies, "copies", 3, "child processes per variant, run side by side")
	fs.StringVar(&c.procfs, "procfs", "/proc", "where the children read the sampled files")
	fs.StringVar(&c.child, "child", "", "")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: floor [-duration 60s] [-copies 3] [-procfs /proc]")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name != "child" { // internal: how the parent starts its children
				fmt.Fprintf(stderr, "  -%s (default %s)\n    \t%s\n", f.Name, f.DefValue, f.Usage)
			}
		})
	}
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("parsing flags: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.duration <= 0:
		return config{}, fmt.Errorf("-duration %s: must be positive", c.duration)
	case c.copies < 1:
		return config{}, fmt.Errorf("-copies %d: must be at least 1", c.copies)
	}
	if c.child != "" {
		if _, err := lookupVariant(c.child); err != nil {
			return config{}, fmt.Errorf("-child: %w", err)
		}
	}
	return c, nil
}

func main() {
	c, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil && c.child != "" {
		err = runChild(c.child, c.procfs)
	} else if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// run measures every variant and prints the table.
func run(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The binary itself rather than os.Args[0], which may be a bare name found in $PATH.
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary: %w", err)
	}
	printHeader(os.Stdout, c)
	fmt.Printf("%-8s", "variant")
	for i := range c.copies {
		fmt.Printf(" %8s", fmt.Sprintf("copy %d", i+1))
	}
	fmt.Printf(" %8s   (µs of CPU per second of wall time)\n", "median")
	for _, v := range variants() {
		us, err := measure(ctx, exe, v, c)
		if err != nil {
			return fmt.Errorf("variant %s: %w", v.name, err)
		}
		fmt.Printf("%-8s", v.name)
		for _, x := range us {
			fmt.Printf(" %8.1f", x)
		}
		fmt.Printf(" %8.1f\n", median(us))
	}
	fmt.Printf("load average after: %s\n", firstLine("/proc/loadavg"))
	return nil
}

// printHeader prints the machine, the command line and the load at the start: other work on the machine shows in
// the figures (run queue waits do not, but cache and frequency effects may).
func printHeader(w io.Writer, c config) {
	fmt.Fprintf(w, "machine: %d CPUs, kernel %s, %s %s/%s\n", runtime.NumCPU(), firstLine("/proc/sys/kernel/osrelease"),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "command: %s %s\n", filepath.Base(os.Args[0]), strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "window: %s warm-up, %s measured, %d copies at once per variant, files under %s\n",
		c.warmup, c.duration, c.copies, c.procfs)
	fmt.Fprintf(w, "load average before: %s\n\n", firstLine("/proc/loadavg"))
}

// firstLine returns the first line of a small file, or the error in brackets: the header is informative only.
func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}
