package tools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModulesRequireThePins checks that the module that builds buildkitd requires BuildKit at
// the pinned version, and that a module behind its pin is refused with a way out.
func TestModulesRequireThePins(t *testing.T) {
	pkg, version, _ := strings.Cut(BuildkitdModule, "@")
	mod, err := modules.ReadFile("modules/buildkitd.mod")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeModule(dir, "buildkitd", mod, pkg, version); err != nil {
		t.Fatalf("writeModule for %s: %v", BuildkitdModule, err)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("writeModule wrote no %s: %v", f, err)
		}
	}
	err = writeModule(t.TempDir(), "buildkitd", mod, pkg, "v0.1.0")
	if err == nil || !strings.Contains(err.Error(), "regenerate") {
		t.Errorf("writeModule with another pin: %v, want an error saying to regenerate the module", err)
	}
}

func TestVersionVariable(t *testing.T) {
	for pkg, want := range map[string]string{
		"github.com/moby/buildkit/cmd/buildkitd":               "github.com/moby/buildkit/version.Version",
		"github.com/docker/buildx/cmd/buildx":                  "github.com/docker/buildx/version.Version",
		"github.com/distribution/distribution/v3/cmd/registry": "",
		"github.com/moby/buildkitx/cmd/x":                      "",
	} {
		if got := versionVariable(pkg); got != want {
			t.Errorf("versionVariable(%q) = %q, want %q", pkg, got, want)
		}
	}
}
