// Command servermon_backtest runs the exporter's forecast code on a recorded series and writes, for every input
// sample, the forecast made at that sample for the configured horizon:
//
//	go run ./cmd/servermon_backtest --input=FILE --horizon=1h > predictions.csv
//
// It uses forecast.NewSeries with forecast.DefaultConfig, except Step (the input's own step, or --step), Horizons
// (just --horizon), Coverage, Min and Max, and pushes the samples in time order, never looking ahead: the row of a
// sample depends only on that sample and the ones before it, so running on the first N rows of an ordered file
// gives the same rows as the full run (for N >= 33 rows, or with --step; see inferStep), but for the last step's
// when the N-th row is not the last of its step.
//
// The input is prepared first (prepareSeries): rows out of time order are sorted, and rows that fall into one step
// of the grid, with the same timestamp (an export across a daylight-saving change) or not, are merged as
// --input.duplicates says (last, mean, or error), each with one warning on stderr. Timestamps are snapped to the
// step grid through the first sample (see grid), so jittered timestamps still give one sample per step.
//
// Output CSV columns, one row per step with an observation: timestamp (the forecast origin, RFC 3339 UTC),
// target_timestamp (origin + horizon), value (the observation at the origin), forecast, lower, upper (point and
// interval bounds for the target made after pushing the origin's value; empty while warming up), anomaly_score,
// anomalous (0/1) for the observation at the origin (empty while not available).
//
// --summary prints to stderr what preparing the input did (observations, rows sorted, rows merged, gaps between
// steps), then, over the rows whose target step has an observation: the number of rows scored, the MAE, the MAE of
// the naive forecast (the value at the origin), their ratio, the MAE of PromQL's predict_linear(v[--baseline.range],
// horizon) and its ratio to naive, and the interval coverage.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/forecast"
	"github.com/servermon/servermon_exporter/internal/flagvalue"
)

// stepPrefix is how many timestamp differences at most inferStep looks at.
const stepPrefix = 32

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	input      string
	duplicates string
	horizon    time.Duration
	selector   string
	step       time.Duration
	summary    bool
	min, max   float64
	// minSet and maxSet tell whether --min and --max were given, which --target does not override.
	minSet, maxSet bool
	target         string
	coverage       float64
	plRange        time.Duration
	exitEarly      bool
	exitCode       int
}

// run is main without the process: it returns the exit status (0 ok, 1 failure, 2 bad usage).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	app := kingpin.New("servermon_backtest", inputHelp)
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	app.Terminate(func(code int) { o.exitEarly, o.exitCode = true, code })
	app.HelpFlag.Short('h')
	app.Flag("input", `Recorded series: CSV "timestamp,value" or Prometheus /api/v1/query_range JSON (see above); "-" reads stdin.`).Required().StringVar(&o.input)
	app.Flag("input.duplicates", "Rows that fall into one forecast step (the same timestamp, or one a fraction of a step after another): keep the last, average them (mean), or fail (error).").
		Default(duplicatesLast).SetValue(enumFlag("input.duplicates", &o.duplicates, duplicatesLast, duplicatesMean, duplicatesError))
	app.Flag("horizon", "Forecast horizon, a multiple of the step.").Default("1h").SetValue(durationFlag("horizon", &o.horizon))
	app.Flag("series", `Label selector picking one series of a Prometheus JSON response, e.g. instance="a",job="b".`).StringVar(&o.selector)
	app.Flag("step", "Forecast step (default: the input's step, the median of its first up to 32 positive timestamp differences).").SetValue(durationFlag("step", &o.step))
	app.Flag("summary", "Print to stderr the rows sorted and merged and the gaps of the input, then MAE, naive MAE, their ratio, a predict_linear baseline and the interval coverage.").BoolVar(&o.summary)
	app.Flag("min", "Lower physical bound of the series (forecasts and bounds are clamped).").Default("-Inf").IsSetByUser(&o.minSet).SetValue(floatFlag("min", &o.min))
	app.Flag("max", "Upper physical bound of the series.").Default("+Inf").IsSetByUser(&o.maxSet).SetValue(floatFlag("max", &o.max))
	app.Flag("target", "The exporter's forecast target the series is of ("+targetNames()+"): its bounds, as the exporter forecasts it, unless --min or --max say otherwise.").
		SetValue(enumFlag("target", &o.target, strings.Split(targetNames(), ", ")...))
	app.Flag("coverage", "Nominal coverage of the prediction intervals.").Default(strconv.FormatFloat(forecast.DefaultCoverage, 'g', -1, 64)).SetValue(floatFlag("coverage", &o.coverage))
	app.Flag("baseline.range", "Range of the predict_linear baseline in --summary.").Default("1h").SetValue(durationFlag("baseline.range", &o.plRange))
	_, err := app.Parse(args)
	if o.exitEarly { // --help and friends printed what was asked; kingpin goes on parsing after that
		return o.exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "servermon_backtest: error: %v, try --help\n", err)
		return 2
	}
	if t := collector.TargetByName(o.target); t != nil {
		if !o.minSet {
			o.min = t.Min
		}
		if !o.maxSet {
			o.max = t.Max
		}
	}
	if err := backtest(o, stdin, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "servermon_backtest: error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// inputHelp is the tool's --help text: what it does and what input it takes.
const inputHelp = `Backtest the servermon_exporter forecast on a recorded series; writes one CSV row per step to stdout.

CSV input: the first line must be the header "timestamp,value" (either case; spaces around a field and double
quotes around it are allowed), then one "timestamp,value" row per line; blank lines may only follow the data.
Timestamps: RFC 3339 (2024-03-01T10:00:00Z, fraction and offset optional, no offset meaning UTC),
"2024-03-01 10:00:00" (the same, with a space), or Unix seconds (1709287200, decimals allowed). An empty or NaN
value is a missing observation.

Prometheus input: the JSON of /api/v1/query_range; --series picks one series of several.

Rows out of time order are sorted; rows in one forecast step are merged (--input.duplicates). Both are warned
about on stderr, and counted with the gaps in --summary.`

// targetNames lists the exporter's forecast targets, for --target.
func targetNames() string {
	var names []string
	for _, t := range collector.Targets() {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

func durationFlag(name string, dst *time.Duration) kingpin.Value {
	return flagvalue.Of(name, dst, time.ParseDuration)
}

func enumFlag(name string, dst *string, values ...string) kingpin.Value {
	return flagvalue.Of(name, dst, func(s string) (string, error) {
		if !slices.Contains(values, s) {
			return "", fmt.Errorf("want one of %s", strings.Join(values, ", "))
		}
		return s, nil
	})
}

func floatFlag(name string, dst *float64) kingpin.Value {
	return flagvalue.Of(name, dst, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

// usageError marks errors caused by flag values rather than by the input or the output.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func backtest(o options, stdin io.Reader, stdout, stderr io.Writer) error {
	in := stdin
	if o.input != "-" {
		f, err := os.Open(o.input)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		in = f
	}
	pts, err := readSeries(in, o.selector)
	if err != nil {
		return fmt.Errorf("read %s: %w", o.input, err)
	}
	rep := inputReport{observations: len(pts), outOfOrder: sortSeries(pts)}
	step := o.step
	if step == 0 {
		if step, err = inferStep(pts); err != nil {
			return usageError{fmt.Errorf("%w; pass --step", err)}
		}
		if o.horizon%step != 0 {
			return usageError{fmt.Errorf("horizon %v is not a multiple of the input's step %v (the median of its first timestamp differences); pass --step", o.horizon, step)}
		}
	}
	g := newGrid(pts[0].T, step)
	if pts, err = mergeSteps(pts, g, o.duplicates, &rep); err != nil {
		return fmt.Errorf("read %s: %w", o.input, err)
	}
	findGaps(pts, g, &rep)
	rep.warn(stderr, o.duplicates, step)
	cfg := forecast.DefaultConfig()
	cfg.Step = step
	cfg.Horizons = []time.Duration{o.horizon}
	cfg.Coverage = o.coverage
	cfg.Min, cfg.Max = o.min, o.max
	s, err := forecast.NewSeries(cfg)
	if err != nil {
		return usageError{fmt.Errorf("step %v, horizon %v: %w", step, o.horizon, err)}
	}

	w := bufio.NewWriterSize(stdout, 64<<10)
	if _, err := w.WriteString("timestamp,target_timestamp,value,forecast,lower,upper,anomaly_score,anomalous\n"); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	rows := make([]row, len(pts))
	var line []byte
	for i, p := range pts {
		r := &rows[i]
		if s.Push(g.time(g.index(p.T)), p.V) {
			r.pred, r.ok = s.Forecast(0)
			r.score, r.anomalous, r.hasScore = s.Anomaly()
		}
		line = appendRow(line[:0], p, o.horizon, r)
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if o.summary {
		rep.print(stderr, o.duplicates, step)
		sum := summarise(pts, rows, g, o.horizon, o.plRange)
		sum.print(stderr, o.coverage, o.plRange)
	}
	return nil
}

// row is what the series produced at one input sample.
type row struct {
	pred      forecast.Prediction
	ok        bool
	score     float64
	anomalous bool
	hasScore  bool
}

func appendRow(b []byte, p point, horizon time.Duration, r *row) []byte {
	b = p.T.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ',')
	b = p.T.Add(horizon).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ',')
	b = strconv.AppendFloat(b, p.V, 'g', -1, 64)
	if r.ok {
		for _, v := range []float64{r.pred.Point, r.pred.Lower, r.pred.Upper} {
			b = append(b, ',')
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	} else {
		b = append(b, ",,,"...)
	}
	if r.hasScore {
		b = append(b, ',')
		b = strconv.AppendFloat(b, r.score, 'g', -1, 64)
		if r.anomalous {
			b = append(b, ",1"...)
		} else {
			b = append(b, ",0"...)
		}
	} else {
		b = append(b, ",,"...)
	}
	return append(b, '\n')
}

// inferStep is the median of the first up to stepPrefix positive differences between consecutive timestamps of
// pts (sorted). It looks only at a bounded prefix (the first stepPrefix+1 samples at most) so that the step, and
// hence every output row, of a run on the first N >= stepPrefix+1 rows of an ordered file equals that of the full
// run.
func inferStep(pts []point) (time.Duration, error) {
	var d []time.Duration
	for i := 1; i < len(pts) && len(d) < stepPrefix; i++ {
		if dt := pts[i].T.Sub(pts[i-1].T); dt > 0 {
			d = append(d, dt)
		}
	}
	if len(d) == 0 {
		return 0, errors.New("cannot infer the step from fewer than two distinct timestamps")
	}
	slices.Sort(d)
	return d[(len(d)-1)/2], nil
}

// summary holds the accuracy of one backtest.
type summary struct {
	scored, covered        int
	mae, naive             float64
	plScored               int
	plMAE, plNaiveSameRows float64
}

// summarise scores every row with a forecast against the observation in the grid step of its target time. The
// predict_linear baseline uses the samples in (origin − plRange, origin] and is scored on the rows where both it
// and our forecast exist.
func summarise(pts []point, rows []row, g grid, horizon, plRange time.Duration) summary {
	first := make(map[int64]float64, len(pts))
	for _, p := range pts {
		first[g.index(p.T)] = p.V // one point per step: mergeSteps
	}
	var sm summary
	var xs, ys []float64
	lo := 0
	for i, p := range pts {
		r := rows[i]
		if !r.ok {
			continue
		}
		truth, ok := first[g.index(p.T.Add(horizon))]
		if !ok {
			continue
		}
		sm.scored++
		sm.mae += math.Abs(truth - r.pred.Point)
		sm.naive += math.Abs(truth - p.V)
		if truth >= r.pred.Lower && truth <= r.pred.Upper {
			sm.covered++
		}
		for lo < i && !pts[lo].T.After(p.T.Add(-plRange)) {
			lo++
		}
		xs, ys = xs[:0], ys[:0]
		for _, q := range pts[lo : i+1] {
			xs = append(xs, q.T.Sub(p.T).Seconds())
			ys = append(ys, q.V)
		}
		if pl, ok := forecast.PredictLinear(xs, ys, 0, horizon.Seconds()); ok && !math.IsNaN(pl) {
			sm.plScored++
			sm.plMAE += math.Abs(truth - pl)
			sm.plNaiveSameRows += math.Abs(truth - p.V)
		}
	}
	return sm
}

// grid snaps timestamps to the step grid through the first sample: index(t) = round((t − first)/step), and step
// index i starts at base + i·step with base = the first timestamp rounded to a multiple of step since the epoch.
// Rounding relative to the first sample keeps a jittered series (299 s, 301 s, …) on consecutive steps where
// flooring each timestamp would put two samples into one step and leave the next one empty. The first sample
// alone defines the grid, so a prefix of a file gets the same grid as the whole file.
type grid struct {
	first, base time.Time
	step        time.Duration
}

func newGrid(first time.Time, step time.Duration) grid {
	base := time.Unix(0, int64(math.Round(float64(first.UnixNano())/float64(step)))*int64(step)).UTC()
	return grid{first: first, base: base, step: step}
}

func (g grid) index(t time.Time) int64 {
	return int64(math.Round(float64(t.Sub(g.first)) / float64(g.step)))
}

func (g grid) time(i int64) time.Time { return g.base.Add(time.Duration(i) * g.step) }

func (sm summary) print(w io.Writer, coverage float64, plRange time.Duration) {
	if sm.scored == 0 {
		fmt.Fprintln(w, "rows scored: 0 (no forecast has its target in the input)")
		return
	}
	n := float64(sm.scored)
	fmt.Fprintf(w, "rows scored: %d\n", sm.scored)
	fmt.Fprintf(w, "MAE: %s\n", fmtF(sm.mae/n))
	fmt.Fprintf(w, "naive MAE: %s\n", fmtF(sm.naive/n))
	fmt.Fprintf(w, "MAE ratio (forecast/naive): %s\n", fmtF(sm.mae/sm.naive))
	if sm.plScored > 0 {
		fmt.Fprintf(w, "predict_linear[%v] MAE: %s (%d rows)\n", plRange, fmtF(sm.plMAE/float64(sm.plScored)), sm.plScored)
		fmt.Fprintf(w, "predict_linear ratio (predict_linear/naive): %s\n", fmtF(sm.plMAE/sm.plNaiveSameRows))
	}
	fmt.Fprintf(w, "interval coverage: %s (nominal %s)\n", fmtF(float64(sm.covered)/n), fmtF(coverage))
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
