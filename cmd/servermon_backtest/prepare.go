package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// Values of --input.duplicates: what to do with rows that fall into one forecast step.
const (
	duplicatesLast  = "last"
	duplicatesMean  = "mean"
	duplicatesError = "error"
)

// inputReport is what preparing the input found and changed, for the warnings and --summary.
type inputReport struct {
	observations int // points read
	outOfOrder   int // points with a timestamp before an earlier row's
	duplicates   int // points merged into another one of their step
	exact        int // of which with the same timestamp as that other
	gaps         int // runs of steps without an observation between the first and the last
	missingSteps int // steps in them
	longestGap   int // steps in the longest; it lies between longestFrom and longestTo
	longestFrom  time.Time
	longestTo    time.Time
}

// sortSeries puts pts in time order and returns how many were out of it: rows whose timestamp is before that of an
// earlier row. The sort is stable, so rows with one timestamp keep the input's order.
func sortSeries(pts []point) int {
	n := 0
	var latest time.Time
	for i, p := range pts {
		if i > 0 && p.T.Before(latest) {
			n++
		} else {
			latest = p.T
		}
	}
	if n > 0 {
		slices.SortStableFunc(pts, func(a, b point) int { return a.T.Compare(b.T) })
	}
	return n
}

// mergeSteps merges the points of pts (sorted) that fall into one step of the grid, exact duplicates and near ones
// alike: the forecast takes one value per step, and a second one would otherwise be dropped without a word. policy
// last keeps the latest point of the step (of equal timestamps, the last in the input), mean averages the step's
// values at its first timestamp, and error fails naming the first two. The merged points are counted in rep.
func mergeSteps(pts []point, g grid, policy string, rep *inputReport) ([]point, error) {
	out := pts[:0]
	for i := 0; i < len(pts); {
		j := i + 1
		k := g.index(pts[i].T)
		for j < len(pts) && g.index(pts[j].T) == k {
			j++
		}
		group := pts[i:j]
		i = j
		if len(group) == 1 {
			out = append(out, group[0])
			continue
		}
		rep.duplicates += len(group) - 1
		for m := 1; m < len(group); m++ {
			if group[m].T.Equal(group[m-1].T) {
				rep.exact++
			}
		}
		switch policy {
		case duplicatesError:
			return nil, fmt.Errorf("rows at %s and %s fall into one forecast step of %v; pass --input.duplicates=last or mean to merge them",
				group[0].T.Format(time.RFC3339Nano), group[1].T.Format(time.RFC3339Nano), g.step)
		case duplicatesMean:
			mean := 0.0
			for _, p := range group {
				mean += p.V / float64(len(group)) // divided first: a sum of large values could overflow
			}
			out = append(out, point{T: group[0].T, V: mean})
		default:
			out = append(out, group[len(group)-1])
		}
	}
	return out, nil
}

// findGaps counts the runs of grid steps without an observation between consecutive points of pts (one per step, in
// time order) into rep.
func findGaps(pts []point, g grid, rep *inputReport) {
	for i := 1; i < len(pts); i++ {
		missing := int(g.index(pts[i].T) - g.index(pts[i-1].T) - 1)
		if missing <= 0 {
			continue
		}
		rep.gaps++
		rep.missingSteps += missing
		if missing > rep.longestGap {
			rep.longestGap, rep.longestFrom, rep.longestTo = missing, pts[i-1].T, pts[i].T
		}
	}
}

// warn tells, once each, that rows were sorted or merged: the output then has fewer rows than the input, in another
// order.
func (rep inputReport) warn(w io.Writer, policy string, step time.Duration) {
	if rep.outOfOrder > 0 {
		fmt.Fprintf(w, "servermon_backtest: warning: %d rows out of time order; sorted them by timestamp\n", rep.outOfOrder)
	}
	if rep.duplicates > 0 {
		what := "kept the last row of each step"
		if policy == duplicatesMean {
			what = "averaged the rows of each step"
		}
		fmt.Fprintf(w, "servermon_backtest: warning: %d rows fall into a forecast step of %v with another row (%d with the same timestamp); %s (--input.duplicates=%s)\n",
			rep.duplicates, step, rep.exact, what, policy)
	}
}

// print writes the input part of --summary; every line is "name: number …", like the accuracy lines.
func (rep inputReport) print(w io.Writer, policy string, step time.Duration) {
	fmt.Fprintf(w, "observations: %d\n", rep.observations)
	fmt.Fprintf(w, "rows out of order: %d (sorted)\n", rep.outOfOrder)
	fmt.Fprintf(w, "duplicate rows: %d (%d with the same timestamp, the others in the same %v step; --input.duplicates=%s)\n",
		rep.duplicates, rep.exact, step, policy)
	if rep.gaps == 0 {
		fmt.Fprintln(w, "gaps: 0")
		return
	}
	fmt.Fprintf(w, "gaps: %d (%d steps without an observation; the longest, %d steps, between %s and %s)\n", rep.gaps,
		rep.missingSteps, rep.longestGap, rep.longestFrom.UTC().Format(time.RFC3339Nano), rep.longestTo.UTC().Format(time.RFC3339Nano))
}
