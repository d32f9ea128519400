// Command forecast evaluates the forecast package on the synthetic generators of internal/seriesgen (the series
// the forecast package's tests assert on) and on recorded series: for every series it runs forecast.Series exactly
// like the backtest CLI (one horizon, step of the series) and prints the MAE ratio against the naive forecast and
// against PromQL's predict_linear, and the interval coverage.
//
//	go run ./bench/forecast                      # synthetic generators, 5m step, 1h horizon, 30 days
//	go run ./bench/forecast -step=1m -days=10    # same at the exporter's default step
//	go run ./bench/forecast -recorded=testdata/series
//	go run ./bench/forecast -scenario=leak       # ETA and trust gate around a memory leak that is fixed
package main

import (
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

type result struct {
	name              string
	scored            int
	mae, naive, plin  float64
	covered           int
	anomalies, points int
}

func main() {
	var (
		step     = flag.Duration("step", 5*time.Minute, "step of the synthetic series")
		horizon  = flag.Duration("horizon", time.Hour, "forecast horizon")
		days     = flag.Float64("days", 30, "length of the synthetic series in days")
		seeds    = flag.Int("seeds", 3, "seeds per generator")
		plWindow = flag.Duration("plwindow", time.Hour, "range of the predict_linear baseline")
		only     = flag.String("gen", "", "run only generators whose name contains this")
		weights  = flag.Bool("weights", false, "print the mean weight of each model per series")
		dump     = flag.String("dump", "", "also write every generated series as timestamp,value CSV into this directory")
		table    = flag.Bool("table", false, "also print a markdown table of the means per generator (over seeds)")
		recorded = flag.String("recorded", "", "directory of recorded timestamp,value CSV series instead of generators")
		scenario = flag.String("scenario", "", `"leak": the memory-leak scenario of the ETA alerts instead of the generators`)
	)
	flag.Parse()
	switch *scenario {
	case "":
	case "leak":
		leakReport(uint64(*seeds))
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown scenario %q\n", *scenario)
		os.Exit(2)
	}
	var results []result
	if *recorded != "" {
		files, err := filepath.Glob(filepath.Join(*recorded, "*.csv"))
		if err != nil || len(files) == 0 {
			fmt.Fprintf(os.Stderr, "no CSV files in %s: %v\n", *recorded, err)
			os.Exit(1)
		}
		for _, f := range files {
			ts, vs, st, err := readCSV(f)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
				os.Exit(1)
			}
			h := *horizon
			if h%st != 0 {
				h = h / st * st
			}
			results = append(results, evaluate(filepath.Base(f), ts, vs, st, h, *plWindow, *weights))
		}
	} else {
		n := int(*days * 86400 / step.Seconds())
		t0 := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
		for _, g := range seriesgen.All() {
			if !strings.Contains(g.Name, *only) {
				continue
			}
			for seed := range *seeds {
				r := rand.New(rand.NewPCG(uint64(seed), 42))
				vs := g.Gen(r, n, t0, *step)
				ts := make([]time.Time, n)
				for i := range ts {
					ts[i] = t0.Add(time.Duration(i) * *step)
				}
				if *dump != "" {
					if err := writeCSV(filepath.Join(*dump, fmt.Sprintf("%s_%d.csv", g.Name, seed)), ts, vs); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(1)
					}
				}
				results = append(results, evaluate(fmt.Sprintf("%s/%d", g.Name, seed), ts, vs, *step, *horizon, *plWindow, *weights))
			}
		}
	}
	report(results)
	if *table {
		markdown(results)
	}
}

// markdown prints the mean of each column per generator (the name up to the "/seed").
func markdown(results []result) {
	type acc struct{ n, ratio, pl, ourPl, cov, anom float64 }
	var order []string
	sums := map[string]*acc{}
	for _, r := range results {
		if r.scored == 0 || r.naive == 0 || r.plin == 0 {
			continue
		}
		g, _, _ := strings.Cut(r.name, "/")
		a, ok := sums[g]
		if !ok {
			a = &acc{}
			sums[g] = a
			order = append(order, g)
		}
		a.n++
		a.ratio += r.mae / r.naive
		a.pl += r.plin / r.naive
		a.ourPl += r.mae / r.plin
		a.cov += float64(r.covered) / float64(r.scored)
		a.anom += float64(r.anomalies) / float64(max(1, r.points))
	}
	fmt.Println("| series | ours/naive | predict_linear/naive | ours/predict_linear | coverage | anomalous |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, g := range order {
		a := sums[g]
		fmt.Printf("| %s | %.3f | %.3f | %.3f | %.3f | %.2f %% |\n", g, a.ratio/a.n, a.pl/a.n, a.ourPl/a.n, a.cov/a.n,
			100*a.anom/a.n)
	}
}

func evaluate(name string, ts []time.Time, vs []float64, step, horizon, plWindow time.Duration, weights bool) result {
	cfg := forecast.DefaultConfig()
	cfg.Step = step
	cfg.Horizons = []time.Duration{horizon}
	s, err := forecast.NewSeries(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k := int(horizon / step)
	w := int(plWindow / step)
	res := result{name: name}
	type pending struct {
		ok          bool
		p           forecast.Prediction
		naive, plin float64
	}
	pend := make([]pending, len(vs))
	xs := make([]float64, 0, w)
	meanW := map[string]float64{}
	nW := 0
	defer func() {
		if weights && nW > 0 {
			fmt.Printf("%-28s weights:", name)
			for _, m := range slices.Sorted(maps.Keys(meanW)) {
				if meanW[m]/float64(nW) >= 0.01 {
					fmt.Printf(" %s=%.2f", m, meanW[m]/float64(nW))
				}
			}
			fmt.Println()
		}
	}()
	for i, v := range vs {
		s.Push(ts[i], v)
		if weights {
			if mw, ok := s.ModelWeights(0); ok {
				nW++
				for m, x := range mw {
					meanW[m] += x
				}
			}
		}
		if _, an, ok := s.Anomaly(); ok {
			res.points++
			if an {
				res.anomalies++
			}
		}
		if j := i - k; j >= 0 && pend[j].ok {
			pj := pend[j]
			res.scored++
			res.mae += math.Abs(v - pj.p.Point)
			res.naive += math.Abs(v - pj.naive)
			res.plin += math.Abs(v - pj.plin)
			if v >= pj.p.Lower && v <= pj.p.Upper {
				res.covered++
			}
		}
		p, ok := s.Forecast(0)
		if !ok || i+1 < w {
			continue
		}
		xs = xs[:0]
		for d := range w {
			xs = append(xs, float64(d-w+1)*step.Seconds())
		}
		pl, _ := forecast.PredictLinear(xs, vs[i-w+1:i+1], 0, horizon.Seconds())
		pend[i] = pending{ok: true, p: p, naive: v, plin: pl}
	}
	return res
}

func report(results []result) {
	fmt.Printf("%-28s %7s %8s %8s %8s %7s  %s\n", "series", "scored", "ours/nv", "plin/nv", "ours/pl", "cover", "anomalous")
	var ratios, plr []float64
	worst := 0.0
	var cov, scored int
	for _, r := range results {
		if r.scored == 0 {
			fmt.Printf("%-28s no scored forecasts\n", r.name)
			continue
		}
		ratio, pl := r.mae/r.naive, r.plin/r.naive
		if r.naive == 0 { // a constant stretch: every forecast exact counts as a tie
			ratio, pl = 1, 1
			if r.mae > 0 {
				ratio = math.Inf(1)
			}
			if r.plin > 0 {
				pl = math.Inf(1)
			}
		}
		ratios = append(ratios, ratio)
		plr = append(plr, pl)
		worst = max(worst, ratio)
		cov += r.covered
		scored += r.scored
		fmt.Printf("%-28s %7d %8.3f %8.3f %8.3f %7.3f  %.4f\n", r.name, r.scored, ratio, pl, r.mae/r.plin,
			float64(r.covered)/float64(r.scored), float64(r.anomalies)/float64(max(1, r.points)))
	}
	if len(ratios) == 0 {
		return
	}
	slices.Sort(ratios)
	slices.Sort(plr)
	fmt.Printf("median ours/naive %.3f  worst %.3f  median plin/naive %.3f  pooled coverage %.4f\n",
		ratios[len(ratios)/2], worst, plr[len(plr)/2], float64(cov)/float64(scored))
}
