package main

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// TestRecordedSeries runs the forecast on the series recorded on a development machine (testdata/series, see
// record.sh) at the 1 m horizon they support and checks the acceptance bounds: no series much worse than naive and
// a coverage near 95 % (a wider band than for long series: each has about 1500 steps).
func TestRecordedSeries(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "series", "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded series: %v", err)
	}
	for _, f := range files {
		ts, vs, step, err := readCSV(f)
		if err != nil {
			t.Fatal(err)
		}
		r := evaluate(filepath.Base(f), ts, vs, step, time.Minute, time.Minute, false)
		ratio, cov := r.mae/r.naive, float64(r.covered)/float64(r.scored)
		t.Logf("%s: %d scored, MAE/naive %.3f, coverage %.3f", filepath.Base(f), r.scored, ratio, cov)
		if r.scored < 1000 || ratio > 1.1 || math.IsNaN(ratio) || cov < 0.9 || cov > 0.99 {
			t.Errorf("%s: %d scored, MAE/naive %.3f, coverage %.3f", f, r.scored, ratio, cov)
		}
	}
}

// TestGeneratorsDiffer guards the evaluation itself: every generator yields finite values and they are not copies
// of one another.
func TestGeneratorsDiffer(t *testing.T) {
	seen := map[float64]string{}
	for _, g := range generators {
		vs := g.gen(rand.New(rand.NewPCG(1, 42)), 500, 300, 1.7e9)
		sum := 0.0
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: non-finite value", g.name)
			}
			sum += v
		}
		if other, dup := seen[sum]; dup {
			t.Errorf("%s and %s generate the same series", g.name, other)
		}
		seen[sum] = g.name
	}
}
