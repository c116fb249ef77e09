package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// Unavailable ends a test whose real component (a program, a library)
// cannot be had, for the reason err: it fails under CI=true, where make
// test has installed every component, and is skipped otherwise, saying
// what to install. No test swaps a mock in for the missing component.
func Unavailable(tb testing.TB, err error, install string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%v (CI=true, so this is a failure; make test installs %s)", err, install)
	}
	tb.Skipf("%v; install %s to run this test", err, install)
}

// LookPath returns the path of the program name, or ends the test through
// [Unavailable] when it is not installed; install names what provides it.
func LookPath(tb testing.TB, name, install string) string {
	tb.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		Unavailable(tb, err, install)
	}
	return bin
}
