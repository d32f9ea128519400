// Package forecast forecasts one regularly sampled series in process: point forecasts at several horizons with
// calibrated prediction intervals, the time until a threshold is reached, an anomaly score of the newest value and
// each horizon's measured accuracy against the naive forecast. It is pure computation (gonum for the linear
// algebra): no I/O, no Prometheus.
//
// Use a Resampler to turn irregular raw samples into step means, and push one value per step into a Series:
//
//	r := forecast.NewResampler(cfg.Step)
//	s, err := forecast.NewSeries(cfg)
//	...
//	if start, mean, done := r.Add(now, sample); done {
//		s.Push(start, mean)
//		p, ok := s.Forecast(0) // cfg.Horizons[0]
//	}
//
// A Series runs a bank of cheap models (naive, robust levels, rolling medians, damped trend, sliding least squares
// as in PromQL's predict_linear, daily harmonic regression, seasonal naive), scores every model's forecasts at
// every horizon against the values that arrive later, combines the recently best ones with a guard that falls
// back to naive where nothing beats it, and sets the intervals from the recorded errors of the published forecasts,
// normalised by the series' local volatility, with an online quantile tracker. docs/forecasting.md describes the
// method, its cost and its measured accuracy.
//
// For a filling resource (a filesystem's space or inodes) a Fill, fed the same steps, estimates the time until a
// threshold from the series' trend with steps, cleanup cycles and resizes left out; its SecondsUntil replaces the
// Series' for such targets. Series.Rescale, Fill.Rescale and Resampler.Rescale carry all three through a resize.
package forecast
