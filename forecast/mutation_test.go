package forecast

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/servermon/servermon_exporter/internal/seriesgen"
)

// TestUnmarshalMutations is a deterministic complement of FuzzUnmarshal for every test run: random byte mutations
// of a valid state must either be rejected or give a usable series.
func TestUnmarshalMutations(t *testing.T) {
	cfg := smallConfig()
	s := fed(t, cfg, seriesgen.TrendCycleARSpikesShifts(rand.New(rand.NewPCG(1, 1)), 200, t0, cfg.Step))
	base, _ := s.MarshalBinary()
	r := rand.New(rand.NewPCG(7, 7))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		b := bytes.Clone(base)
		for range 1 + r.IntN(4) {
			i := r.IntN(len(b))
			switch r.IntN(3) {
			case 0:
				b[i] ^= 1 << r.IntN(8)
			case 1:
				b[i] = byte(r.IntN(256))
			default:
				b[i] = 0xff
			}
		}
		fuzzState(t, cfg, b)
	}
}
