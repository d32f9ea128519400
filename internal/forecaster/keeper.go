package forecaster

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"time"

	"github.com/servermon/servermon_exporter/internal/statefile"
)

// Keeper keeps a forecaster's series in a state file, so that history and model state survive restarts.
type Keeper struct {
	f      *Forecaster
	file   *statefile.File
	logger *slog.Logger
}

// NewKeeper returns a keeper of f's state in file.
func NewKeeper(f *Forecaster, file *statefile.File, logger *slog.Logger) *Keeper {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Keeper{f: f, file: file, logger: logger}
}

// Load restores the series from the file. A missing file is a fresh start; a file that cannot be loaded leaves a
// fresh start too, logged and counted (the state file has moved a corrupt one aside). Series that cannot be used
// are skipped, counted and logged once. It returns what was restored.
func (k *Keeper) Load() LoadReport {
	payload, err := k.file.Load()
	if errors.Is(err, fs.ErrNotExist) {
		k.logger.Info("no forecast state file yet, starting fresh", "path", k.file.Path())
		return LoadReport{}
	}
	var report LoadReport
	if err == nil {
		report, err = k.f.UnmarshalState(payload)
	}
	if err != nil {
		k.f.StateLoadFailed()
		k.logger.Error("forecast state not loaded, starting fresh", "path", k.file.Path(), "err", err)
		return LoadReport{}
	}
	if report.Skipped > 0 {
		k.logger.Warn("forecast state: series left out", "skipped", report.Skipped, "first", report.FirstSkip)
	}
	k.logger.Info("forecast state loaded", "path", k.file.Path(), "series", report.Series)
	return report
}

// CheckWritable reports whether the state file can be saved, so that a path that cannot be written is reported at
// start rather than at the first save.
func (k *Keeper) CheckWritable() error { return k.file.CheckWritable() }

// Save writes the state file. A failure is logged, counted and returned; the previous file stays.
func (k *Keeper) Save() error {
	payload, err := k.f.MarshalState()
	if err == nil {
		err = k.file.Save(payload)
	}
	if err != nil {
		k.f.StateSaveFailed()
		k.logger.Error("saving forecast state", "path", k.file.Path(), "err", err)
	}
	return err
}

// Run saves the state file every interval until ctx is done.
func (k *Keeper) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = k.Save() // logged and counted
		}
	}
}
