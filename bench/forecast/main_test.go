package main

import (
	"math"
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
