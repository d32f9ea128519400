//go:build race

package rules

// raceEnabled: this test binary runs with the race detector, so the stack test builds the exporter with it too
// and fails on any race it reports.
const raceEnabled = true
