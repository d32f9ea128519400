package main

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/servermon/servermon_exporter/collector"
)

// readmeFlags returns the flags the README's flag table lists (the first column, with {a,b} and [no-] spelled
// out) and the defaults it gives for each flag of a {…} group, in order.
func readmeFlags(t *testing.T) (map[string]bool, map[string]string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "## Flags\n")
	if !ok {
		t.Fatal("README has no Flags section")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	flags, defaults := map[string]bool{}, map[string]string{}
	item := regexp.MustCompile("`--(?:\\[no-\\])?([a-z0-9.-]+)(?:\\{([a-z0-9,-]+)\\})?`")
	for _, row := range strings.Split(table, "\n") {
		cols := strings.Split(row, " | ")
		if len(cols) < 2 || !strings.HasPrefix(cols[0], "| `--") {
			continue
		}
		for _, m := range item.FindAllStringSubmatch(cols[0], -1) {
			if m[2] == "" {
				flags[m[1]] = true
				continue
			}
			values := strings.Split(cols[1], ", ")
			for i, part := range strings.Split(m[2], ",") {
				flags[m[1]+part] = true
				if len(values) == len(strings.Split(m[2], ",")) {
					defaults[m[1]+part] = values[i]
				}
			}
		}
	}
	return flags, defaults
}

// TestReadmeListsEveryFlag: the README's flag table names every flag --help shows and no other, and gives the
// registry's defaults of the threshold flags.
func TestReadmeListsEveryFlag(t *testing.T) {
	var help bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &help); err != errExit {
		t.Fatalf("--help: %v", err)
	}
	inHelp := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+--(?:\[no-\])?([a-z0-9.-]+)`).FindAllStringSubmatch(help.String(), -1) {
		inHelp[m[1]] = true
	}
	delete(inHelp, "help")
	delete(inHelp, "help-long")
	delete(inHelp, "help-man")
	delete(inHelp, "version")
	inReadme, defaults := readmeFlags(t)
	for f := range inHelp {
		if !inReadme[f] {
			t.Errorf("--%s is not in the README's flag table", f)
		}
	}
	for f := range inReadme {
		if !inHelp[f] {
			t.Errorf("the README lists --%s, which the exporter does not have", f)
		}
	}
	for _, th := range collector.ThresholdFlags() {
		if got, want := defaults["forecast.threshold."+th.Name], strconv.FormatFloat(th.Default, 'g', -1, 64); got != want {
			t.Errorf("README gives --forecast.threshold.%s a default of %q, the registry %s", th.Name, got, want)
		}
	}
}

// TestReadmeListsEveryTarget: the README's list of forecast targets is the registry's.
func TestReadmeListsEveryTarget(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, line, ok := strings.Cut(string(b), "Forecast targets: ")
	if !ok {
		t.Fatal("README has no \"Forecast targets:\" list")
	}
	line, _, _ = strings.Cut(line, "\n\n")
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(line, -1) {
		listed = append(listed, m[1])
	}
	var want []string
	for _, tg := range collector.Targets() {
		want = append(want, tg.Name)
	}
	slices.Sort(listed)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("README lists targets %v, the registry has %v", listed, want)
	}
}
