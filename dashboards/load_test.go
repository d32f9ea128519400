package dashboards

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// panel is the part of a dashboard panel the tests read.
type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Repeat      string `json:"repeat"`
	TimeFrom    string `json:"timeFrom"`
	TimeShift   string `json:"timeShift"`
	Datasource  *ref   `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit  string `json:"unit"`
			Links []struct {
				URL string `json:"url"`
			} `json:"links"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Targets []struct {
		Datasource   *ref   `json:"datasource"`
		Expr         string `json:"expr"`
		RefID        string `json:"refId"`
		LegendFormat string `json:"legendFormat"`
		Format       string `json:"format"`
	} `json:"targets"`
	Transformations []struct {
		ID      string         `json:"id"`
		Options map[string]any `json:"options"`
	} `json:"transformations"`
	Panels []panel `json:"panels"` // inside collapsed rows
}

// ref is a datasource reference.
type ref struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// variable is a dashboard template variable.
type variable struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Label      string `json:"label"`
	Query      any    `json:"query"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
	Datasource *ref   `json:"datasource"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
}

// board is the part of a dashboard the tests read.
type board struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

// allPanels flattens rows, keeping layout order.
func (b board) allPanels() []panel {
	var out []panel
	for _, p := range b.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// variable returns the variable called name.
func (b board) variable(name string) (variable, bool) {
	for _, v := range b.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}

// committed reads and decodes the committed JSON of each dashboard file.
func committed(t *testing.T) map[string]board {
	t.Helper()
	out := map[string]board{}
	for _, f := range Files() {
		data, err := os.ReadFile(f.Name)
		if err != nil {
			t.Fatalf("read committed %s (generate it with `go generate ./...`): %v", f.Name, err)
		}
		var b board
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("decode %s: %v", f.Name, err)
		}
		out[f.Name] = b
	}
	return out
}

// readNames reads one name per line, skipping blank lines and # comments.
func readNames(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			names[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return names
}

// goldenNames returns the metric names in the "# HELP" lines of the
// exporter's golden files, or nil when there are none.
func goldenNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../cmd/servermon_exporter/testdata/*.metrics")
	if err != nil {
		t.Fatalf("glob golden files: %v", err)
	}
	if len(files) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
				name, _, _ := strings.Cut(rest, " ")
				names[name] = true
			}
		}
	}
	return names
}

// recordNames returns the names the recording rules define: the fleet records, and the trust gate's records at the
// head of the alerting rules.
func recordNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, file := range []string{"../rules/servermon-records.yml", "../rules/servermon-alerts.yml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("read rules: %v", err)
		}
		var f struct {
			Groups []struct {
				Rules []struct {
					Record string `yaml:"record"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					names[r.Record] = true
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("no recording rules found")
	}
	return names
}
