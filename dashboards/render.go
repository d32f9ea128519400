//lint:file-ignore SA1019 The v1 dashboard schema is deprecated in the SDK in favour of v2, but v1 JSON (with schemaVersion) is what every Grafana release imports; v2 needs Grafana 12 with new APIs.

package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// File is one generated dashboard file.
type File struct {
	Name  string                              // file name, relative to the module directory
	Build func() (dashboard.Dashboard, error) // builds the dashboard
}

// Files lists the dashboards this package generates.
func Files() []File {
	return []File{
		{Name: "servermon-host.json", Build: Host},
		{Name: "servermon-fleet.json", Build: Fleet},
	}
}

// Render builds a dashboard and encodes it as indented JSON with a final
// newline. encoding/json sorts map keys and the SDK's types are structs, so
// the same code always yields the same bytes.
func Render(build func() (dashboard.Dashboard, error)) ([]byte, error) {
	d, err := build()
	if err != nil {
		return nil, err
	}
	numberPanels(&d)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// PromQL comparisons (<, >) stay readable in the committed files.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode dashboard %q: %w", deref(d.Title), err)
	}
	return buf.Bytes(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// numberPanels gives every row and panel a unique id in layout order: the SDK
// leaves them unset, and Grafana needs unique ids for links to a panel,
// repeats and "view panel".
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	next := func() uint32 { id++; return id }
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			n := next()
			p.Panel.Id = &n
		case p.RowPanel != nil:
			p.RowPanel.Id = next()
			for i := range p.RowPanel.Panels {
				n := next()
				p.RowPanel.Panels[i].Id = &n
			}
		}
	}
}
