package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The forecast state payload (wrapped by stateFile, which adds the checksum):
//
//	"SMFS" | version uint16 | step ns int64 | count uint32 | count × (name | device | series)
//
// where name, device and series are each a uint32 length followed by that many bytes, and series is
// forecast.Series.MarshalBinary. All integers are little-endian.
const (
	payloadMagic   = "SMFS"
	payloadVersion = 1
	// maxStateTargets bounds the number of series a payload may declare before anything is allocated.
	maxStateTargets = 1 << 16
)

var errBadState = errors.New("malformed forecast state")

func (f *forecaster) marshalState() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := append([]byte(payloadMagic), 0, 0)
	binary.LittleEndian.PutUint16(b[4:], payloadVersion)
	b = binary.LittleEndian.AppendUint64(b, uint64(f.cfg.step))
	// A device name the decoder would refuse (validDevice) is left out rather than written: one odd name from
	// /proc/diskstats must not make every later start discard the whole state.
	saved := make([]*target, 0, len(f.sorted))
	for _, t := range f.sorted {
		if validDevice(t.device) {
			saved = append(saved, t)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(saved)))
	for _, t := range saved {
		series, err := t.series.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("encoding forecast of %s %s: %w", t.name, t.device, err)
		}
		for _, field := range [][]byte{[]byte(t.name), []byte(t.device), series} {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(field)))
			b = append(b, field...)
		}
	}
	return b, nil
}

// unmarshalState replaces the targets with those of a payload. It validates everything before changing anything.
func (f *forecaster) unmarshalState(b []byte) error {
	r := stateReader{b: b}
	if string(r.bytes(4)) != payloadMagic {
		return fmt.Errorf("%w: bad magic", errBadState)
	}
	if v := r.uint16(); v != payloadVersion {
		return fmt.Errorf("%w: version %d, want %d", errBadState, v, payloadVersion)
	}
	if step := r.uint64(); r.err == nil && step != uint64(f.cfg.step) {
		return fmt.Errorf("%w: saved with a forecast step of %d ns, running with %s", errBadState, step, f.cfg.step)
	}
	n := r.uint32()
	if n > maxStateTargets {
		return fmt.Errorf("%w: %d series", errBadState, n)
	}
	fresh := &forecaster{cfg: f.cfg, hLabel: f.hLabel, targets: map[string]*target{}}
	for i := uint32(0); i < n && r.err == nil; i++ {
		name, device, series := string(r.field()), string(r.field()), r.field()
		if r.err != nil {
			break
		}
		if !knownTarget(name) || !validDevice(device) {
			return fmt.Errorf("%w: unknown series %q %q", errBadState, name, device)
		}
		t, err := fresh.target(name, device)
		if errors.Is(err, errDiskSeriesLimit) {
			continue // saved under a higher --forecast.max-disk-series
		}
		if err != nil {
			return err
		}
		if err := t.series.UnmarshalBinary(series); err != nil {
			return fmt.Errorf("%w: series %s %s: %w", errBadState, name, device, err)
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errBadState, len(r.b))
	}
	var resume time.Time
	for _, t := range fresh.sorted {
		if last, _, ok := t.series.Last(); ok && last.Add(f.cfg.step).After(resume) {
			resume = last.Add(f.cfg.step)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets, f.sorted, f.resumeAt, f.diskSeries = fresh.targets, fresh.sorted, resume, fresh.diskSeries
	return nil
}

func knownTarget(name string) bool {
	switch name {
	case "cpu_usage_ratio", "memory_usage_ratio", "swap_usage_ratio", "load1",
		"disk_utilization_ratio", "disk_read_bytes_per_second", "disk_write_bytes_per_second":
		return true
	}
	return false
}

// validDevice accepts what a kernel device name can be: short, printable, no label-breaking characters.
func validDevice(d string) bool {
	if len(d) > 255 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < 0x21 || d[i] > 0x7e || d[i] == '"' || d[i] == '\\' {
			return false
		}
	}
	return true
}

// stateReader reads little-endian fields, remembering the first error instead of panicking on short input.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("%w: truncated", errBadState)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *stateReader) uint16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *stateReader) uint32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *stateReader) uint64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *stateReader) field() []byte {
	n := r.uint32()
	if n > math.MaxInt32 {
		r.err = fmt.Errorf("%w: field of %d bytes", errBadState, n)
		return nil
	}
	return r.bytes(int(n))
}
