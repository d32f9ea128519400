package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults used by DefaultConfig.
const (
	// DefaultStep is the resampling step.
	DefaultStep = time.Minute
	// DefaultHistory is eight days, so a daily cycle is learnt from a week of data plus a margin.
	DefaultHistory = 8 * 24 * time.Hour
	// DefaultCoverage is the nominal coverage of the prediction intervals.
	DefaultCoverage = 0.95
	// DefaultAnomalyThreshold is the score above which a value is anomalous. The score is
	// |value − one-step forecast| / max(1.4826·MAD, Q₀.₉₉/2.576) of the recent one-step errors (see anomalyState): a
	// robust z-score, so for Gaussian noise P(score > 4) ≈ 6·10⁻⁵ per step and a clean Gaussian series flags well
	// under 0.1 % of its steps (TestAnomalyGaussianFalsePositives); on heavy-tailed and bursty series a value must
	// also exceed 1.55 × the 99th percentile of the recent errors, so their ordinary bursts flag at most 1 % of the
	// steps (TestAnomalyFlagRatePerGenerator).
	DefaultAnomalyThreshold = 4.0
)

// Limits checked by Config.Validate.
const (
	// MinHistory is the shortest history accepted: a daily cycle needs at least one day to be seen.
	MinHistory = 24 * time.Hour
	// MinHistorySteps is the least number of steps a history must hold, and a series must have seen (real or
	// gap-filled) before any forecast is published. With minScored it makes a horizon of k steps available after
	// max(MinHistorySteps, k + minScored) steps: 92 s for a 1 m horizon at a 1 s step, 1 h 32 m for a 1 h horizon
	// at the default 1 m step.
	MinHistorySteps = 60
	// MaxHistorySteps bounds History/Step so one series cannot ask for more than 16 MiB of history.
	MaxHistorySteps = 1 << 22
	// MaxHorizonSteps bounds each horizon in steps; pending forecasts cost (models+4)·4 bytes per horizon step.
	MaxHorizonSteps = 1 << 18
)

// ErrInvalidConfig is wrapped by every error returned from Config.Validate.
var ErrInvalidConfig = errors.New("invalid forecast config")

// Config of one forecast series. Horizons are independent: results for one horizon do not depend on which other
// horizons are configured (the backtest runs with one horizon, the exporter with four, and they agree).
type Config struct {
	// Step is the resampling step: one value per Step, aligned to multiples of Step since the Unix epoch.
	Step time.Duration
	// History is how much history is kept (rounded down to whole steps). It must be at least MinHistory and hold at
	// least MinHistorySteps steps. Weekly harmonics are used only when History >= 14 days.
	History time.Duration
	// Horizons are the forecast horizons, each a positive multiple of Step, at most History, without duplicates.
	Horizons []time.Duration
	// Coverage is the nominal coverage of the prediction intervals, in (0, 1).
	Coverage float64
	// AnomalyThreshold is the score above which Anomaly reports the newest value as anomalous (see
	// DefaultAnomalyThreshold).
	AnomalyThreshold float64
	// Min and Max are physical bounds: forecasts and interval bounds are clamped to [Min, Max]
	// (ratios 0..1, rates 0..+Inf). Use -Inf/+Inf for unbounded.
	Min, Max float64
}

// DefaultConfig returns Step 1m, History 8d, Horizons 5m/1h/6h/24h, Coverage 0.95, AnomalyThreshold 4 and unbounded
// Min/Max.
func DefaultConfig() Config {
	return Config{
		Step:             DefaultStep,
		History:          DefaultHistory,
		Horizons:         []time.Duration{5 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour},
		Coverage:         DefaultCoverage,
		AnomalyThreshold: DefaultAnomalyThreshold,
		Min:              math.Inf(-1),
		Max:              math.Inf(1),
	}
}

// Validate reports the first problem of c, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if c.Step <= 0 {
		return bad("step %v must be positive", c.Step)
	}
	if c.History < MinHistory {
		return bad("history %v is shorter than %v", c.History, MinHistory)
	}
	steps := int64(c.History / c.Step)
	if steps < MinHistorySteps {
		return bad("history %v holds %d steps of %v, need at least %d", c.History, steps, c.Step, MinHistorySteps)
	}
	if steps > MaxHistorySteps {
		return bad("history %v holds %d steps of %v, more than the maximum %d", c.History, steps, c.Step, MaxHistorySteps)
	}
	if len(c.Horizons) == 0 {
		return bad("no horizons")
	}
	seen := make(map[time.Duration]bool, len(c.Horizons))
	for _, h := range c.Horizons {
		switch {
		case h <= 0:
			return bad("horizon %v must be positive", h)
		case h%c.Step != 0:
			return bad("horizon %v is not a multiple of step %v", h, c.Step)
		case h > c.History:
			return bad("horizon %v is longer than history %v", h, c.History)
		case int64(h/c.Step) > MaxHorizonSteps:
			return bad("horizon %v is %d steps, more than the maximum %d", h, int64(h/c.Step), MaxHorizonSteps)
		case seen[h]:
			return bad("horizon %v given twice", h)
		}
		seen[h] = true
	}
	if !(c.Coverage > 0 && c.Coverage < 1) {
		return bad("coverage %v must be in (0, 1)", c.Coverage)
	}
	if !(c.AnomalyThreshold > 0) || math.IsInf(c.AnomalyThreshold, 1) {
		return bad("anomaly threshold %v must be positive and finite", c.AnomalyThreshold)
	}
	if math.IsNaN(c.Min) || math.IsNaN(c.Max) || !(c.Min < c.Max) {
		return bad("bounds [%v, %v] must satisfy min < max", c.Min, c.Max)
	}
	return nil
}
