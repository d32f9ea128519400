package collector

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: the sampler starts reader goroutines, and a
// read stuck past its timeout must still end once it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
