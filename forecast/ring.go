package forecast

// ring is the bounded history: the newest len values, one per step, as float32 (4 bytes per step; the default
// 8d/1m history is 11520 steps = 45 KiB per series).
type ring struct {
	buf  []float32
	head int // index of the next write
	n    int // number of valid values, <= len(buf)
}

func newRing(capacity int) ring { return ring{buf: make([]float32, capacity)} }

func (r *ring) push(v float64) {
	r.buf[r.head] = float32(v)
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	if r.n < len(r.buf) {
		r.n++
	}
}

// back returns the value i steps before the newest (back(0) is the newest); i must be < r.n.
func (r *ring) back(i int) float64 {
	j := r.head - 1 - i
	if j < 0 {
		j += len(r.buf)
	}
	return float64(r.buf[j])
}

// copyNewest copies the newest min(len(dst), r.n) values (oldest first) into dst and returns how many.
func (r *ring) copyNewest(dst []float64) int {
	m := min(len(dst), r.n)
	for i := range m {
		dst[m-1-i] = r.back(i)
	}
	return m
}

func (r *ring) reset() { r.head, r.n = 0, 0 }
