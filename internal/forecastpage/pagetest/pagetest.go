// Package pagetest holds what the tests of the forecast pages share, in this package and in the exporter's
// end-to-end tests: reading a parsed page (golang.org/x/net/html) and validating API documents against the
// committed JSON Schema, docs/forecast-api.schema.json.
package pagetest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/net/html"
)

// Attr returns the value of n's attribute key, "" when it has none.
func Attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// HasClass reports whether n is an element with class among its classes.
func HasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+Attr(n, "class")+" ", " "+class+" ")
}

// Text returns the text of n and its descendants, as it stands in the document.
func Text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// Words returns Text with every run of white space made one space, as a browser shows it.
func Words(n *html.Node) string { return strings.Join(strings.Fields(Text(n)), " ") }

// FindAll returns the descendants of root that match, in document order.
func FindAll(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for n := range root.Descendants() {
		if match(n) {
			out = append(out, n)
		}
	}
	return out
}

// SchemaFile returns the path of docs/forecast-api.schema.json, found from this source file so that tests of any
// package can use it.
func SchemaFile() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "..", "docs", "forecast-api.schema.json")
}

// Schema compiles the committed schema, asserting formats (date-time) too.
func Schema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	file := SchemaFile()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(file, doc); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile(file)
	if err != nil {
		tb.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// Validate checks one API document against s: an error says where it does not match, or that it is not JSON.
func Validate(s *jsonschema.Schema, body []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(v)
}
