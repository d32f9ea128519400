package exposition

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
	"time"
)

// countingProducer renders one gauge whose value is the number of times it was rendered.
type countingProducer struct{ renders int }

func (p *countingProducer) AppendMetrics(b []byte) []byte {
	p.renders++
	b = AppendHeader(b, "test_renders", "Renders so far.", Gauge)
	return AppendSample(b, "test_renders", "", float64(p.renders))
}

func TestBodyRendersOncePerGeneration(t *testing.T) {
	gen := uint64(1)
	first, second := &countingProducer{}, &countingProducer{}
	body := NewBody(func() uint64 { return gen }, first, second)
	plain, err := body.Bytes(false)
	if err != nil {
		t.Fatal(err)
	}
	want := "# HELP test_renders Renders so far.\n# TYPE test_renders gauge\ntest_renders 1\n"
	if string(plain) != want+want {
		t.Fatalf("body %q, want both producers in order", plain)
	}
	gz, err := body.Bytes(true)
	if err != nil {
		t.Fatal(err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("gzip body %q (%v), want the plain one", got, err)
	}
	again, _ := body.Bytes(false)
	gzAgain, _ := body.Bytes(true)
	if &again[0] != &plain[0] || &gzAgain[0] != &gz[0] || first.renders != 1 {
		t.Errorf("rendered again without a new generation (%d renders)", first.renders)
	}
	gen++
	next, _ := body.Bytes(true)
	if first.renders != 2 || second.renders != 2 || bytes.Equal(next, gz) {
		t.Errorf("not rendered again for a new generation: %d, %d renders", first.renders, second.renders)
	}
}

func TestLabelsEscape(t *testing.T) {
	got := Labels([]string{"device", "mountpoint"}, []string{`a"b`, "c\\d\ne"})
	if want := `{device="a\"b",mountpoint="c\\d\ne"}`; got != want {
		t.Errorf("Labels = %s, want %s", got, want)
	}
	if Labels(nil, nil) != "" {
		t.Error("no labels must render as nothing")
	}
	if got := string(AppendHeader(nil, "x", "a\\b\nc \"q\"", Gauge)); got != "# HELP x a\\\\b\\nc \"q\"\n# TYPE x gauge\n" {
		t.Errorf("HELP escaping: %q", got)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[string]string{"24h0m0s": "24h", "5m0s": "5m", "1s": "1s", "250ms": "250ms", "1m30s": "90s", "1.5ms": "1.5ms"} {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatDuration(dur); got != want {
			t.Errorf("FormatDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
