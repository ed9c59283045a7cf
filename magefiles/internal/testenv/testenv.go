// Package testenv is how a test asks for what a machine may lack (a command, a kernel
// feature): it skips the test, saying what is missing and how to get it, or fails it when CI
// is "true", since nothing may skip in CI.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Missing stops t because what is missing; how says how to get it.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (CI=true: not skipping): %s", what, how)
	}
	t.Skipf("%s is missing: %s", what, how)
}

// Command returns the path of the command name, or stops t (see Missing) when there is none
// on PATH; how says how to install it.
func Command(t testing.TB, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, how)
	}
	return p
}
