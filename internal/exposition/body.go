package exposition

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"sync"
)

// Body is the /metrics body of a list of producers, rendered at most once per generation, in plain text and
// gzip-compressed, and shared by every scrape until the generation changes. The generation is the sampler's sample
// count: nothing a producer shows changes between two samples but for counters of rare events, which then wait
// for the next sample.
type Body struct {
	generation func() uint64
	producers  []Producer

	mu      sync.Mutex
	gen     uint64
	plain   []byte // nil until rendered
	gzipped []byte
	gzGen   uint64
	gz      *gzip.Writer
}

// NewBody returns the body of producers, in that order; generation tells when it must be rendered again.
func NewBody(generation func() uint64, producers ...Producer) *Body {
	return &Body{generation: generation, producers: producers}
}

// Bytes returns the body of the current generation, gzip-compressed when asked. Callers must not modify it.
func (b *Body) Bytes(gzipped bool) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen := b.generation(); b.plain == nil || gen != b.gen {
		buf := make([]byte, 0, len(b.plain)+512)
		for _, p := range b.producers {
			buf = p.AppendMetrics(buf)
		}
		b.plain, b.gen, b.gzipped = buf, gen, nil
	}
	if !gzipped {
		return b.plain, nil
	}
	if b.gzipped == nil || b.gzGen != b.gen {
		var out bytes.Buffer
		out.Grow(len(b.plain) / 4)
		if b.gz == nil {
			b.gz, _ = gzip.NewWriterLevel(&out, gzip.BestSpeed) // a valid level cannot fail
		} else {
			b.gz.Reset(&out)
		}
		if _, err := b.gz.Write(b.plain); err != nil {
			return nil, fmt.Errorf("compressing the exposition: %w", err)
		}
		if err := b.gz.Close(); err != nil {
			return nil, fmt.Errorf("compressing the exposition: %w", err)
		}
		b.gzipped, b.gzGen = out.Bytes(), b.gen
	}
	return b.gzipped, nil
}
