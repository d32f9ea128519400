package rules

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

// rule is one alerting or recording rule.
type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// name is the alert or record name.
func (r rule) name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

const (
	alertsFile   = "servermon-alerts.yml"
	recordsFile  = "servermon-records.yml"
	runbooksFile = "../docs/runbooks.md"
	runbookBase  = "https://github.com/servermon/servermon_exporter/blob/main/docs/runbooks.md#"
)

// loadRules parses a rule file and returns its rules in file order.
func loadRules(t *testing.T, path string) []rule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read rules: %v", err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", path)
	}
	return out
}

// alertRules returns the alerting rules of the alerts file, without the trust gate's records at its head.
func alertRules(t *testing.T) []rule {
	t.Helper()
	var out []rule
	for _, r := range loadRules(t, alertsFile) {
		if r.Alert != "" {
			out = append(out, r)
		}
	}
	return out
}

// allRules returns the alerting rules followed by the recording rules.
func allRules(t *testing.T) []rule {
	t.Helper()
	return append(loadRules(t, alertsFile), loadRules(t, recordsFile)...)
}

// requireTool returns the path of a command-line tool, failing the test (not
// skipping it) with an install hint when the tool is missing.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH (%v): install Debian's %s package (apt-get install %s)",
			name, err, debianPackage, debianPackage)
	}
	return p
}

// run executes a tool with a deadline and returns its combined output.
func run(t *testing.T, dir, tool string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

var spaces = regexp.MustCompile(`\s+`)

// normalize collapses whitespace so that PromQL fragments compare regardless
// of line breaks and indentation in the YAML.
func normalize(s string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// githubAnchor returns the anchor GitHub gives a Markdown heading: lower case,
// punctuation other than '-' and '_' dropped, spaces turned into '-'.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// runbookAnchors returns the anchors of all headings of docs/runbooks.md.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(runbooksFile)
	if err != nil {
		t.Fatalf("read runbooks: %v", err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "#"))] = true
		}
	}
	return anchors
}

// testFiles returns the promtool unit test files.
func testFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil {
		t.Fatalf("glob tests: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no promtool unit test files in rules/tests")
	}
	return files
}
