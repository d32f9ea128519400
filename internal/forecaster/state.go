package forecaster

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/servermon/servermon_exporter/collector"
	"github.com/servermon/servermon_exporter/internal/wire"
)

// The forecaster's state payload, held by the state file (internal/statefile, which frames and checksums it), in
// internal/wire's little-endian encoding, version 2:
//
//	"SMFP" | u16 version | i64 step ns | u32 count | count × series
//	series = target | u16 labels | labels × (name | value) | u16 parts | parts × (u8 kind | part)
//
// where target, name, value and part are each a u32 length and that many bytes. A part of kind partSeries is a
// forecast.Series.MarshalBinary, of kind partFill a forecast.Fill.MarshalBinary (Fill targets), of kind
// partCapacity the f64 capacity of the ratio (collector.Gauge.Capacity). A series of a target this version does not know, with labels it cannot use, or
// whose parts it cannot read is skipped and counted, and so is a part of an unknown kind: the rest of the history
// loads, so a rollback keeps what it can use.
//
// Version 1, written before the per-series labels and parts, is still read:
//
//	"SMFS" | u16 version (1) | i64 step ns | u32 count | count × (target | device | forecast.Series)
const (
	payloadMagic   = "SMFP"
	payloadVersion = 2
	payloadV1Magic = "SMFS"
	// The kinds of parts: the series' forecast.Series, its forecast.Fill, and its capacity.
	partSeries   = 1
	partFill     = 2
	partCapacity = 3
	// maxStateSeries bounds the series a payload may declare; maxStateField bounds one name or label.
	maxStateSeries = 1 << 16
	maxStateField  = 4096
	maxStateLabels = 16
	maxStateParts  = 64
	maxSeriesBytes = 64 << 20
)

// ErrState is wrapped by the errors of a payload that cannot be loaded at all.
var ErrState = errors.New("malformed forecast state")

// MarshalState encodes every series for the state file.
func (f *Forecaster) MarshalState() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &wire.Writer{B: append([]byte(nil), payloadMagic...)}
	w.U16(payloadVersion)
	w.I64(int64(f.cfg.Step))
	// Labels the decoder would refuse (validLabel) are left out rather than written: one odd device name from
	// /proc/diskstats must not make every later start skip it.
	saved := make([]*series, 0, len(f.sorted))
	for _, s := range f.sorted {
		if validLabels(s.labelNames, s.labelValues) {
			saved = append(saved, s)
		}
	}
	w.U32(uint32(len(saved)))
	for _, s := range saved {
		part, err := s.fc.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("encoding the forecast of %s%s: %w", s.target.Name, s.labels, err)
		}
		w.String(s.target.Name)
		w.U16(uint16(len(s.labelNames)))
		for i, n := range s.labelNames {
			w.String(n)
			w.String(s.labelValues[i])
		}
		type typed struct {
			kind uint8
			b    []byte
		}
		parts := []typed{{partSeries, part}}
		if s.fill != nil {
			fill, err := s.fill.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("encoding the fill estimator of %s%s: %w", s.target.Name, s.labels, err)
			}
			parts = append(parts, typed{partFill, fill})
		}
		if s.capacity > 0 {
			c := &wire.Writer{}
			c.F64(s.capacity)
			parts = append(parts, typed{partCapacity, c.B})
		}
		w.U16(uint16(len(parts)))
		for _, p := range parts {
			w.U8(p.kind)
			w.Field(p.b)
		}
	}
	return w.B, nil
}

// LoadReport says what UnmarshalState restored.
type LoadReport struct {
	// Series is the number of series restored.
	Series int
	// Skipped is the number of series left out (see the payload's format), with the reason of the first.
	Skipped    int
	FirstSkip  string
	NewestStep time.Time
}

// UnmarshalState replaces the series with those of a payload written by MarshalState. A payload that cannot be
// read at all (another step, a truncated or malformed structure) changes nothing and returns an error wrapping
// ErrState; series it cannot use are skipped and counted.
func (f *Forecaster) UnmarshalState(b []byte) (LoadReport, error) {
	fresh, report, err := f.decodeState(b)
	if err != nil {
		return LoadReport{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.series, f.sorted, f.perGroup, f.resumeAt = fresh.series, fresh.sorted, fresh.perGroup, report.NewestStep
	f.byGauge = map[*collector.Gauge]*series{}
	f.stateSkipped += float64(report.Skipped)
	return report, nil
}

// decodeState decodes a payload into a new forecaster of f's configuration.
func (f *Forecaster) decodeState(b []byte) (*Forecaster, LoadReport, error) {
	r := wire.NewReader(b, ErrState)
	magic := string(r.Take(4, "magic"))
	version := r.U16("version")
	switch {
	case r.Err() != nil:
		return nil, LoadReport{}, r.Err()
	case magic == payloadMagic && version == payloadVersion, magic == payloadV1Magic && version == 1:
	default:
		return nil, LoadReport{}, fmt.Errorf("%w: magic %q version %d, want %q version %d or %q version 1", ErrState, magic, version, payloadMagic, payloadVersion, payloadV1Magic)
	}
	if step := r.I64("step"); r.Err() == nil && step != int64(f.cfg.Step) {
		return nil, LoadReport{}, fmt.Errorf("%w: saved with a forecast step of %s, running with %s", ErrState, time.Duration(step), f.cfg.Step)
	}
	n := r.Count("series count", maxStateSeries)
	fresh := &Forecaster{cfg: f.cfg, logger: f.logger, hLabel: f.hLabel, series: map[string]*series{}, perGroup: map[string]int{}}
	var report LoadReport
	skip := func(why string) {
		if report.Skipped == 0 {
			report.FirstSkip = why
		}
		report.Skipped++
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		var e entry
		if version == 1 {
			e = readEntryV1(r)
		} else {
			e = readEntry(r)
		}
		if r.Err() != nil {
			break
		}
		if why := fresh.restore(e); why != "" {
			skip(why)
		}
	}
	r.End()
	if err := r.Err(); err != nil {
		return nil, LoadReport{}, err
	}
	for _, s := range fresh.sorted {
		if last, _, ok := s.fc.Last(); ok && last.Add(f.cfg.Step).After(report.NewestStep) {
			report.NewestStep = last.Add(f.cfg.Step)
		}
	}
	report.Series = len(fresh.sorted)
	return fresh, report, nil
}

// entry is one series of a payload, as read.
type entry struct {
	target             string
	labelNames, values []string
	series, fill       []byte // the partSeries and partFill parts, nil when absent
	capacity           []byte // the partCapacity part
	unknownParts       int
}

func readEntry(r *wire.Reader) entry {
	e := entry{target: r.String("target", maxStateField)}
	nl := int(r.U16("label count"))
	if r.Err() == nil && nl > maxStateLabels {
		r.Fail("%d labels", nl)
	}
	for range nl {
		e.labelNames = append(e.labelNames, r.String("label name", maxStateField))
		e.values = append(e.values, r.String("label value", maxStateField))
	}
	np := int(r.U16("part count"))
	if r.Err() == nil && np > maxStateParts {
		r.Fail("%d parts", np)
	}
	for range np {
		kind := r.U8("part kind")
		part := r.Field("part", maxSeriesBytes)
		switch {
		case kind == partSeries && e.series == nil:
			e.series = part
		case kind == partFill && e.fill == nil:
			e.fill = part
		case kind == partCapacity && e.capacity == nil:
			e.capacity = part
		default:
			e.unknownParts++
		}
	}
	return e
}

func readEntryV1(r *wire.Reader) entry {
	e := entry{target: r.String("target", maxStateField)}
	if device := r.String("device", maxStateField); device != "" {
		e.labelNames, e.values = []string{"device"}, []string{device}
	}
	e.series = r.Field("series", maxSeriesBytes)
	return e
}

// restore adds the series of e, or says why it cannot.
func (f *Forecaster) restore(e entry) string {
	t := collector.TargetByName(e.target)
	switch {
	case t == nil:
		return fmt.Sprintf("unknown target %q", e.target)
	case !validLabels(e.labelNames, e.values) || t.PerDevice() != (len(e.values) > 0):
		return fmt.Sprintf("target %s: labels %q=%q", e.target, e.labelNames, e.values)
	case e.series == nil:
		return fmt.Sprintf("target %s: no series", e.target)
	}
	s, err := f.add(t, e.labelNames, e.values)
	if errors.Is(err, errSeriesLimit) {
		return fmt.Sprintf("target %s: over --forecast.max-%s-series", e.target, t.Group.Name) // saved under a higher limit
	}
	if err == nil {
		err = s.fc.UnmarshalBinary(e.series)
	}
	if err != nil {
		f.remove(s)
		return fmt.Sprintf("target %s%s: %v", e.target, s.labels, err)
	}
	// A fill estimator saved with other windows, or unreadable, starts afresh: it learns again within hours, and
	// the series' history is worth keeping without it.
	if s.fill != nil && e.fill != nil {
		_ = s.fill.UnmarshalBinary(e.fill)
	}
	if e.capacity != nil {
		r := wire.NewReader(e.capacity, ErrState)
		c := r.F64("capacity", true)
		if r.End(); r.Err() == nil && c > 0 {
			s.capacity = c
		}
	}
	if e.unknownParts > 0 {
		return fmt.Sprintf("target %s%s: %d parts of an unknown kind left out", e.target, s.labels, e.unknownParts)
	}
	return ""
}

// remove drops s. Called with mu held, or on a forecaster no other goroutine sees.
func (f *Forecaster) remove(s *series) {
	if s == nil {
		return
	}
	delete(f.series, seriesKey(s.target.Name, s.labels))
	if s.target.PerDevice() {
		f.perGroup[s.target.Group.Name]--
	}
	for i, x := range f.sorted {
		if x == s {
			f.sorted = append(f.sorted[:i], f.sorted[i+1:]...)
			break
		}
	}
}

// validLabels accepts label names of the Prometheus syntax, other than the forecaster's own, and values of valid
// UTF-8 without control characters, as device and mount names are.
func validLabels(names, values []string) bool {
	if len(names) != len(values) || len(names) > maxStateLabels {
		return false
	}
	for i, n := range names {
		if !validLabelName(n) || n == "target" || n == "horizon" || n == "bound" || n == "threshold" || !validLabelValue(values[i]) {
			return false
		}
	}
	return true
}

func validLabelName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validLabelValue(v string) bool {
	return len(v) <= maxStateField && utf8.ValidString(v) && !strings.ContainsFunc(v, unicode.IsControl)
}

// StateLoadFailed counts a state file that could not be loaded.
func (f *Forecaster) StateLoadFailed() {
	f.mu.Lock()
	f.stateLoadErrors++
	f.mu.Unlock()
}

// StateSaveFailed counts a failed save of the state file.
func (f *Forecaster) StateSaveFailed() {
	f.mu.Lock()
	f.stateSaveErrors++
	f.mu.Unlock()
}
