package release

import (
	"os"
	"os/exec"
	"testing"

	"github.com/xgo-build/xgo-build/shim"
)

// needTool returns the path of a command a test needs; it skips the test when
// the command is missing, or fails it when CI is "true" (CI must never skip).
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (CI=true: not skipping); %s", name, install)
	}
	t.Skipf("%s is missing; %s", name, install)
	return ""
}

// mustPlatform parses a platform or fails the test.
func mustPlatform(t testing.TB, s string) shim.Platform {
	t.Helper()
	p, err := shim.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
