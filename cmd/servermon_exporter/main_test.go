package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

// childEnv, when set in the environment of the test binary, makes it something other than the test suite: the
// exporter itself (childExporter), so tests can send a real process real signals without building a second binary,
// or one test function running alone as a child of the same test (its value is the role; see runChild).
const childEnv = "SERVERMON_RELIABILITY_CHILD"

const childExporter = "exporter"

// TestMain runs main() when asked to be the exporter, and otherwise the tests followed by a goroutine leak check:
// run() and the state saver start goroutines, and every one must be gone once the tests have stopped what they
// started.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == childExporter {
		main() // flags come from os.Args, exit status through os.Exit
		return
	}
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 && os.Getenv(childEnv) == "" {
		// The exporter makes no HTTP requests: client connections are the tests' own (one whose response body a
		// test left unread keeps its loops alive). Server-side goroutines are not ignored.
		if err := goleak.Find(
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		); err != nil {
			fmt.Fprintf(os.Stderr, "goroutine leak after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// childCommand returns a command running this test binary as a child in the given role: the exporter with args as
// its flags, or the single test named by args[0] (the test then sees its role through childRole).
func childCommand(t *testing.T, role string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if role != childExporter {
		args = append([]string{"-test.run=^" + args[0] + "$", "-test.count=1", "-test.v"}, args[1:]...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	return cmd
}
