package main

import (
	"math"
	"math/rand/v2"
	"time"
)

// sampleInterval is the exporter's filesystem sampling interval (--sample.slow-interval).
const sampleInterval = 5 * time.Second

// scrapeEvery is how many samples apart node_exporter is scraped for the node-mixin side: once a minute.
const scrapeEvery = int(time.Minute / sampleInterval)

// start is the first sample's time, a Monday 00:00 UTC; promtool's unit tests start at the Unix epoch, also a
// midnight, so times of day agree on both sides.
var start = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// run is one generated filesystem: the bytes at every 5 s sample and what really happens.
type run struct {
	scenario string
	seed     uint64
	// size and avail are node_filesystem_size_bytes and node_filesystem_avail_bytes, one per sample; reserved is
	// the root-reserved share of the size (ext4's 5 %, or 0), so df's Use% is used/(used+avail) =
	// 1 − avail/(size·(1 − reserved)).
	size, avail []float64
	reserved    float64
	// fills reports that the filesystem truly fills (avail reaches 0) during the run; onset is the sample at which
	// the growth that fills it starts and full the first sample with avail 0 (both −1 when it never fills).
	fills       bool
	onset, full int
	// scoreFrom is the first sample that counts: for the sawtooth scenarios the end of the second cleanup, when a
	// forecaster has seen one whole cycle (before it, the first cycles look like fills to anything without
	// history; they are reported separately as a fresh start), else 0.
	scoreFrom int
	// truth is the usage without noise, once a minute.
	truth  []float32
	params string
}

// usage is df's Use% of sample i.
func (r *run) usage(i int) float64 { return 1 - r.avail[i]/(r.size[i]*(1-r.reserved)) }

// scenarios in report order; fill scenarios are marked in newRun.
var scenarios = []string{
	"steady_fill", "new_node", "daily_cleanup", "weekly_gc", "temp_burst", "log_rotation", "resize", "static_high",
	"resize_fill", "cleanup_stops",
}

// fillScenario reports whether a scenario's filesystem fills.
func fillScenario(name string) bool {
	return name == "steady_fill" || name == "resize_fill" || name == "cleanup_stops"
}

// sawtoothScenario reports whether a scenario is defined by recurring cleanups (scored from the second one).
func sawtoothScenario(name string) bool {
	return name == "daily_cleanup" || name == "cleanup_stops" || name == "weekly_gc" || name == "log_rotation"
}

// gen builds a run: the scenario sets a deterministic path of used bytes per sample (as a fraction of the usable
// size), and shared noise is added on top: an AR(1) of temporary files (standard deviation and correlation time
// drawn per run) and white noise of small writes.
type gen struct {
	r        *rand.Rand
	n        int     // samples
	usable   float64 // size·(1 − reserved), bytes, at the start
	size     float64
	reserved float64   // share of the size reserved for root
	path     []float64 // used bytes / usable (before noise) per sample
	sizes    []float64 // size per sample (resizes)
	onset    int
	drops    []int // samples at which a cleanup ends
	arSD     float64
	arPhi    float64
	whiteSD  float64
}

func hoursN(h float64) int { return int(math.Round(h * 3600 / sampleInterval.Seconds())) }

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(uniform(r, math.Log(lo), math.Log(hi)))
}

func newGen(r *rand.Rand, days float64) *gen {
	g := &gen{r: r, n: hoursN(days * 24), onset: -1}
	g.size = math.Round(logUniform(r, 20e9, 4e12))
	if r.IntN(2) == 0 {
		g.reserved = 0.05
	}
	g.usable = g.size * (1 - g.reserved)
	g.path = make([]float64, g.n)
	g.sizes = make([]float64, g.n)
	for i := range g.sizes {
		g.sizes[i] = g.size
	}
	g.arSD = logUniform(r, 2e-4, 3e-3)
	tau := uniform(r, 5, 60) * 60 / sampleInterval.Seconds() // correlation time in samples
	g.arPhi = math.Exp(-1 / tau)
	g.whiteSD = logUniform(r, 2e-5, 3e-4)
	return g
}

// activity is a daily modulation of write rates (more during the day), mean 1, amplitude a.
func activity(i int, a float64) float64 {
	h := float64(i) * sampleInterval.Hours()
	return 1 + a*math.Sin(2*math.Pi*(h-9)/24)
}

// finish adds the noise and turns the path into bytes.
func (g *gen) finish(name string, seed uint64, params string) *run {
	ru := &run{scenario: name, seed: seed, size: g.sizes, avail: make([]float64, g.n), onset: -1, full: -1,
		reserved: g.reserved, params: params}
	if sawtoothScenario(name) {
		ru.scoreFrom = g.n // never scored with fewer than two cleanups
		if len(g.drops) >= 2 {
			ru.scoreFrom = g.drops[1]
		}
	}
	ru.truth = make([]float32, 0, g.n/scrapeEvery+1)
	ar := 0.0
	innov := g.arSD * math.Sqrt(1-g.arPhi*g.arPhi)
	for i := range g.n {
		if i%scrapeEvery == 0 {
			ru.truth = append(ru.truth, float32(g.path[i]*g.usable/(g.sizes[i]*(1-g.reserved))))
		}
		ar = g.arPhi*ar + innov*g.r.NormFloat64()
		usable := math.Round(g.sizes[i] * (1 - g.reserved))
		used := g.path[i]*g.usable + (ar+g.whiteSD*g.r.NormFloat64())*usable
		used = math.Round(min(max(used, 0), usable))
		ru.avail[i] = usable - used
		if ru.avail[i] == 0 && ru.full < 0 {
			ru.full = i
		}
	}
	ru.fills = fillScenario(name)
	if ru.fills {
		ru.onset = g.onset
		if ru.full < 0 {
			panic(name + ": a fill scenario did not fill")
		}
	}
	return ru
}

// linearFill writes the path from sample from at level u0, growing at rate per sample (modulated by the daily
// activity) until full, and full after that; it returns the sample at which the path reaches 1.
func (g *gen) linearFill(from int, u0, rate, act float64) int {
	u, end := u0, -1
	for i := from; i < g.n; i++ {
		u = min(1.002, u+rate*activity(i, act)) // slightly past 1 so the noise cannot keep it below full
		g.path[i] = u
		if u >= 1 && end < 0 {
			end = i
		}
	}
	return end
}

func newRun(name string, seed uint64, quick bool) *run {
	r := rand.New(rand.NewPCG(seed, uint64(len(name))*0x9e3779b97f4a7c15+uint64(name[0])))
	days := map[string]float64{"steady_fill": 0, "new_node": 4, "daily_cleanup": 8, "weekly_gc": 24,
		"temp_burst": 4, "log_rotation": 8, "resize": 8, "static_high": 6, "resize_fill": 0, "cleanup_stops": 0}[name]
	if quick {
		days = map[string]float64{"new_node": 1, "daily_cleanup": 3, "weekly_gc": 4, "temp_burst": 1.5,
			"log_rotation": 4, "resize": 2, "static_high": 1.5}[name]
	}
	switch name {
	case "steady_fill":
		u0 := uniform(r, 0.2, 0.6)
		startH := uniform(r, 36, 84)
		tf := logUniform(r, 3, 7*24) // hours from the onset to full
		if quick {
			startH, tf = uniform(r, 10, 16), logUniform(r, 3, 16)
		}
		act := uniform(r, 0, 0.6)
		g := newGen(r, (startH+tf*1.3+6)/24)
		g.onset = hoursN(startH)
		for i := range g.onset {
			g.path[i] = u0
		}
		g.linearFill(g.onset, u0, (1-u0)/float64(hoursN(tf)), act)
		return g.finish(name, seed, fmtParams("u0=%.2f start=%.0fh full_in=%.1fh", u0, startH, tf))

	case "new_node":
		u0, at, d, up := uniform(r, 0.02, 0.1), uniform(r, 5.0/60, 1), uniform(r, 1, 5), uniform(r, 0.6, 0.72)
		g := newGen(r, days)
		a, b := hoursN(at), hoursN(at+d)
		slow := uniform(r, 0, 0.005) / float64(hoursN(24)) // slight growth afterwards, per sample
		for i := range g.n {
			switch {
			case i < a:
				g.path[i] = u0
			case i < b:
				g.path[i] = u0 + (up-u0)*float64(i-a)/float64(b-a)
			default:
				g.path[i] = up + slow*float64(i-b)
			}
		}
		return g.finish(name, seed, fmtParams("fill %.2f→%.2f in %.1fh", u0, up, d))

	case "daily_cleanup", "cleanup_stops":
		base := uniform(r, 0.3, 0.55)
		amount := uniform(r, 0.12, min(0.3, (0.85-base)/1.15))
		cleanH := uniform(r, 0, 6)               // time of day of the cleanup
		frac := uniform(r, 0.1, 0.9)             // share of the day in which the growth happens
		startOff := uniform(r, 0.5, 24*(1-frac)) // growth begins this long after the cleanup
		failDay := -1
		if name == "cleanup_stops" {
			failDay = 3 + r.IntN(3)
			if quick {
				failDay = 2
			}
			days = float64(failDay) + 1 + (1-base)/amount*1.3 + 2
		}
		g := newGen(r, days)
		u := base
		day := -1
		var amt float64
		var dropFrom float64
		var dropLeft int
		for i := range g.n {
			h := float64(i) * sampleInterval.Hours()
			d := int(math.Floor((h - cleanH) / 24))
			if d != day { // a new cycle: today's amount, and the cleanup unless it has stopped
				day = d
				amt = amount * uniform(r, 0.85, 1.15)
				if failDay < 0 || d < failDay {
					if d >= 0 {
						dropFrom, dropLeft = u, hoursN(uniform(r, 1, 15)/60)+1
						if u-base > 0.01 {
							g.drops = append(g.drops, i+dropLeft)
						}
					}
				} else if g.onset < 0 {
					g.onset = i
				}
			}
			into := h - cleanH - 24*float64(d) // hours since this cycle's cleanup time
			grow := 24 * frac
			if into >= startOff && into < startOff+grow {
				u += amt / float64(hoursN(24*frac))
			}
			if dropLeft > 0 {
				dropLeft--
				target := base * uniform(r, 0.995, 1.005)
				u = target + (dropFrom-target)*float64(dropLeft)/float64(dropLeft+1)
			}
			g.path[i] = min(u, 1.002)
		}
		return g.finish(name, seed, fmtParams("base=%.2f +%.2f/day over %.0f%% of it, cleanup %.1fh fail_day=%d",
			base, amount, 100*frac, cleanH, failDay))

	case "weekly_gc":
		low := uniform(r, 0.6, 0.72)
		high := min(0.85, low+uniform(r, 0.08, 0.15))
		period := uniform(r, 4, 8) * 24 // hours for a cycle
		deploys := uniform(r, 2, 8)     // image pulls per day
		jumpShare := uniform(r, 0.3, 0.8)
		perHour := (high - low) / period
		smooth := perHour * (1 - jumpShare) / float64(hoursN(1))
		meanJump := perHour * jumpShare * 24 / deploys
		g := newGen(r, days)
		u := uniform(r, low, high)
		pend, pendLeft := 0.0, 0
		gcLeft := 0
		gcStep := 0.0
		for i := range g.n {
			u += smooth * activity(i, 0.5)
			if r.Float64() < deploys/24/float64(hoursN(1)) {
				pend, pendLeft = meanJump*r.ExpFloat64(), hoursN(uniform(r, 1, 5)/60)+1
			}
			if pendLeft > 0 {
				u += pend / float64(pendLeft)
				pend -= pend / float64(pendLeft)
				pendLeft--
			}
			if gcLeft == 0 && u >= high {
				gcLeft = hoursN(uniform(r, 5, 20)/60) + 1
				gcStep = (u - low*uniform(r, 0.99, 1.01)) / float64(gcLeft)
				g.drops = append(g.drops, i+gcLeft)
			}
			if gcLeft > 0 {
				u -= gcStep
				gcLeft--
			}
			g.path[i] = u
		}
		return g.finish(name, seed, fmtParams("gc %.2f→%.2f every ~%.1fd, %.1f pulls/day", high, low, period/24, deploys))

	case "static_high":
		u0 := uniform(r, 0.85, 0.93)
		g := newGen(r, days)
		walk := uniform(r, 0.0005, 0.002) / math.Sqrt(float64(hoursN(24))) // random walk, per day
		u := u0
		for i := range g.n {
			u += walk * r.NormFloat64()
			u = min(max(u, u0-0.01), u0+0.01)
			g.path[i] = u
		}
		return g.finish(name, seed, fmtParams("flat at %.2f", u0))

	case "temp_burst":
		u0 := uniform(r, 0.3, 0.6)
		g := newGen(r, days)
		for i := range g.n {
			g.path[i] = u0
		}
		nb := 1 + r.IntN(3)
		desc := fmtParams("base=%.2f", u0)
		for range nb {
			at := hoursN(uniform(r, 36, 84))
			if quick {
				at = hoursN(uniform(r, 8, 30))
			}
			size := uniform(r, 0.1, min(0.3, 0.85-u0))
			write := hoursN(uniform(r, 1, 30)/60) + 1
			hold := hoursN(uniform(r, 5.0/60, 3))
			del := hoursN(uniform(r, 5, 120)/3600) + 1
			for j := 0; j < write+hold+del && at+j < g.n; j++ {
				var add float64
				switch {
				case j < write:
					add = size * float64(j+1) / float64(write)
				case j < write+hold:
					add = size
				default:
					add = size * float64(write+hold+del-j-1) / float64(del)
				}
				g.path[at+j] += add
			}
			desc += fmtParams(" +%.2f in %.0fm held %.1fh", size, float64(write)*sampleInterval.Minutes(),
				float64(hold)*sampleInterval.Hours())
		}
		return g.finish(name, seed, desc)

	case "log_rotation":
		base := uniform(r, 0.3, 0.6)
		keep := 5 + r.IntN(10)
		sizeBased := r.IntN(2) == 0
		rate := uniform(r, 0.002, 0.02) // per hour at mean activity
		var limit float64
		if sizeBased {
			limit = uniform(r, 0.02, 0.08)
		} else {
			limit = rate * 24 * 1.6
		}
		// keep the peak (base + active log + archives) below 0.85
		maxLog := (0.85 - base) / (1 + 0.1*float64(keep))
		if limit > maxLog {
			rate *= maxLog / limit
			limit = maxLog
		}
		g := newGen(r, days)
		active, archives := 0.0, []float64{}
		rotH := 6.0 + 25.0/60 // Debian's cron.daily
		lastDay := 0
		for i := range g.n {
			active += rate / float64(hoursN(1)) * activity(i, 0.8)
			h := float64(i) * sampleInterval.Hours()
			rotate := false
			if sizeBased {
				rotate = active >= limit
			} else if d := int(math.Floor((h - rotH) / 24)); d > lastDay-1 && h >= rotH {
				rotate, lastDay = true, d+1
			}
			if rotate {
				g.drops = append(g.drops, i)
				archives = append(archives, 0.1*active)
				active = 0
				if len(archives) > keep {
					archives = archives[1:]
				}
			}
			u := base + active
			for _, a := range archives {
				u += a
			}
			g.path[i] = u
		}
		kind := "daily"
		if sizeBased {
			kind = fmtParams("at %.3f", limit)
		}
		return g.finish(name, seed, fmtParams("base=%.2f logs %.3f/h rotated %s, keep %d", base, rate, kind, keep))

	case "resize", "resize_fill":
		u0 := uniform(r, 0.7, 0.82)
		daily := uniform(r, 0.001, 0.005)
		factor := uniform(r, 1.25, 3)
		atH := uniform(r, 36, 84)
		if quick {
			atH = uniform(r, 15, 30)
		}
		var fillAfter, tf float64
		if name == "resize_fill" {
			fillAfter, tf = uniform(r, 1, 8), logUniform(r, 6, 4*24)
			days = (atH + fillAfter + tf*1.3 + 6) / 24
		}
		g := newGen(r, days)
		at := hoursN(atH)
		per := daily / float64(hoursN(24))
		for i := range g.n {
			g.path[i] = u0 + per*float64(i) // as a share of the original usable size
			if i >= at {
				g.sizes[i] = math.Round(g.size * factor)
			}
		}
		// The path is a share of the original usable size; after the resize the same bytes are a smaller share.
		if name == "resize_fill" {
			g.onset = at + hoursN(fillAfter)
			usableNew := math.Round(g.size*factor) * (1 - g.reserved)
			uNew := g.path[g.onset] * g.usable / usableNew
			rate := (1 - uNew) / float64(hoursN(tf)) * usableNew / g.usable
			for i := g.onset; i < g.n; i++ {
				g.path[i] = g.path[i-1] + rate
				if g.path[i]*g.usable >= usableNew {
					g.path[i] = 1.002 * usableNew / g.usable
				}
			}
		}
		ru := g.finish(name, seed, fmtParams("u0=%.2f +%.3f/day, size ×%.2f at %.0fh, fill %.1fh later in %.0fh",
			u0, daily, factor, atH, fillAfter, tf))
		return ru
	}
	panic("unknown scenario " + name)
}
