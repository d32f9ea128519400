//go:build !race

package rules

// raceEnabled: see stack_race_test.go.
const raceEnabled = false
