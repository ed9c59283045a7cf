package checkout

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleProxy downloads the module from a ModuleProxy with go, as the README's example
// does in an engine (with nothing else to download, no engine and no network needed).
func TestModuleProxy(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartModuleProxy(root)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cmd := exec.Command("go", "mod", "download", "-json", ModulePath+"@latest")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOPROXY="+p.URL, "GONOSUMDB="+ModulePath, "GOFLAGS=-modcacherw",
		"GOMODCACHE="+filepath.Join(t.TempDir(), "mod"), "GO111MODULE=on", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = exit.Stderr
		}
		t.Fatalf("go mod download %s@latest: %v: %s%s", ModulePath, err, out, stderr)
	}
	var got struct{ Version, Dir string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("go mod download -json printed %q: %v", out, err)
	}
	if got.Version != p.Version {
		t.Errorf("go mod download got version %q, want %q", got.Version, p.Version)
	}
	for _, f := range []string{"go.mod", "go.sum", "cmd/xgo-build/main.go", "shim"} {
		if _, err := os.Stat(filepath.Join(got.Dir, f)); err != nil {
			t.Errorf("the downloaded module: %v", err)
		}
	}
	if n := p.Zips(); n != 1 {
		t.Errorf("the proxy served the zip %d times, want once", n)
	}
}

// TestExampleDockerfile checks that the README's example Dockerfile is one the engine tests
// and the bench can build, and that what is not is refused.
func TestExampleDockerfile(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExampleDockerfile(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	// Without the added line it is a block of the README.
	if block := strings.Replace(got, "\n"+ExampleArgs+"\n", "\n", 1); block == got ||
		!strings.Contains(string(readme), "```dockerfile\n"+block+"```\n") {
		t.Errorf("ExampleDockerfile returned what is not the README's block with %q added:\n%s", ExampleArgs, got)
	}
	for _, bad := range []string{
		"no heading\n```dockerfile\nFROM scratch\n```\n",
		ExampleHeading + ":\n```dockerfile\n# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang AS build\n" + ExampleInstall + "\n```\n",
		ExampleHeading + ":\n```dockerfile\nFROM golang AS build\n" + ExampleInstall + "\n```\n",
		ExampleHeading + ":\n```dockerfile\nFROM --platform=$BUILDPLATFORM golang AS build\nRUN go install example.com/x@latest\n```\n",
	} {
		if got, err := ExampleDockerfile(bad); err == nil {
			t.Errorf("ExampleDockerfile(%q) = %q, want an error", bad, got)
		}
	}
}
