package shim

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCommandDependencies keeps the xgo-build binary small: it runs inside every docker
// build, so the release pipeline's dependencies must never enter it.
func TestCommandDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../cmd/xgo-build").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	forbidden := []string{
		"github.com/google/go-containerregistry",
		"github.com/magefile/mage",
		"golang.org/x/sync",
		"golang.org/x/mod",
		"github.com/rogpeppe/go-internal",
		"github.com/xgo-build/xgo-build/magefiles",
	}
	required := map[string]bool{
		"github.com/alecthomas/kong":                   false,
		"github.com/xgo-build/xgo-build/shim":          false,
		"github.com/xgo-build/xgo-build/cmd/xgo-build": false,
	}
	for _, dep := range deps {
		for _, bad := range forbidden {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("cmd/xgo-build depends on %s", dep)
			}
		}
		if _, ok := required[dep]; ok {
			required[dep] = true
		}
		// Outside the standard library only kong and this module are allowed.
		if first, _, _ := strings.Cut(dep, "/"); strings.Contains(first, ".") &&
			!strings.HasPrefix(dep, "github.com/alecthomas/kong") &&
			!strings.HasPrefix(dep, "github.com/xgo-build/xgo-build/") {
			t.Errorf("cmd/xgo-build depends on %s, outside the standard library and kong", dep)
		}
	}
	for dep, seen := range required {
		if !seen {
			t.Errorf("go list -deps does not list %s: the check above proves nothing", dep)
		}
	}
}

// TestNoInitWork keeps package shim from doing work when xgo-build starts: its tables are
// static data, so the runtime's init trace shows no allocation for the package (or no line
// at all, when the package has nothing to initialise).
func TestNoInitWork(t *testing.T) {
	shim := shimBinary(t)
	cmd := exec.Command(shim, "--xgo-version")
	cmd.Env = withEnv(os.Environ(), []string{"GODEBUG=inittrace=1"})
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("xgo-build --xgo-version: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "init runtime @") {
		t.Fatalf("GODEBUG=inittrace=1 printed no init trace:\n%s", stderr.String())
	}
	const prefix = "init github.com/xgo-build/xgo-build/shim @"
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, prefix) && !strings.HasSuffix(line, " 0 bytes, 0 allocs") {
			t.Errorf("package shim allocates at init: %s", line)
		}
	}
}
