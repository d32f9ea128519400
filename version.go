// Package servermon holds what every binary of the module shares: the release version, from the VERSION file
// that the Makefile and promu stamp release builds with.
package servermon

import (
	_ "embed"
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

//go:embed VERSION
var release string

// Version returns the release version of the source tree, e.g. "0.1.0".
func Version() string { return strings.TrimSpace(release) }

// StampVersion fills in prometheus/common/version for a build made without the release ldflags (go run, go
// build): the source tree's version, and the revision and time Go recorded, if any. A binary calls it once, first
// thing in main; it leaves a release build's stamp alone.
func StampVersion() {
	if version.Version != "" {
		return
	}
	version.Version = Version()
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			version.Revision = s.Value
		case "vcs.time":
			version.BuildDate = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				version.Revision += "-modified"
			}
		}
	}
}
