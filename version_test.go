package servermon

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/version"
)

func TestVersionIsTheVersionFile(t *testing.T) {
	b, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if got := Version(); got != strings.TrimSpace(string(b)) || !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(got) {
		t.Errorf("Version() = %q, VERSION holds %q", got, b)
	}
}

// TestStampVersion: a build without the release ldflags (a test binary is one) reports the source tree's version,
// not an empty one; a stamped build keeps its stamp.
func TestStampVersion(t *testing.T) {
	saved := version.Version
	t.Cleanup(func() { version.Version = saved })
	version.Version = ""
	StampVersion()
	if version.Version != Version() || !strings.Contains(version.Info(), "version="+Version()) {
		t.Errorf("after StampVersion: %s", version.Info())
	}
	version.Version = "9.9.9"
	StampVersion()
	if version.Version != "9.9.9" {
		t.Errorf("StampVersion replaced a release stamp with %q", version.Version)
	}
}
