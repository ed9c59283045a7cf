package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestModuleProxy downloads the module from a moduleProxy with go, as the cross Dockerfile's
// `go install ...@latest` does in the engine (nothing else is downloaded: no network needed).
func TestModuleProxy(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	p, err := startModuleProxy(root)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	cmd := command{Dir: t.TempDir(), Env: withEnv(os.Environ(), "GOPROXY="+p.URL, "GONOSUMDB="+modulePath, "GOFLAGS=-modcacherw",
		"GOMODCACHE="+filepath.Join(t.TempDir(), "mod"), "GO111MODULE=on", "GOWORK=off"),
		Args: []string{"go", "mod", "download", "-json", modulePath + "@latest"}}
	out, err := cmd.run(context.Background())
	if err != nil {
		t.Fatal(err)
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
}
