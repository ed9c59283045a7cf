package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindRoot(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "magefiles", "bench")
	other := filepath.Join(dir, "testdata", "hello")
	for _, d := range []string{sub, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/xgo-build/xgo-build\n\ngo 1.26.0\n"), 0o644)
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/hello\n"), 0o644)
	for _, from := range []string{dir, sub, other} {
		got, err := FindRoot(from)
		if err != nil || got != dir {
			t.Errorf("FindRoot(%q) = %q, %v; want %q", from, got, err, dir)
		}
	}
	if _, err := FindRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is not inside the github.com/xgo-build/xgo-build module") {
		t.Errorf("FindRoot outside the module: err = %v", err)
	}
}
