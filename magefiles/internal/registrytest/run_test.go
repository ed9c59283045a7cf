package registrytest

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// needBinary skips t (or fails it when CI is "true") when the registry binary is missing.
func needBinary(t *testing.T) {
	t.Helper()
	if _, err := findBinary(os.Getenv); err != nil {
		missing(t, os.Getenv, err.Error()+"; "+InstallHint)
	}
}

// leftovers lists the directories Run made under tmp that are still there.
func leftovers(t *testing.T, tmp string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(tmp, "registrytest-*"))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func TestRunServesAndCloseRemovesItsDirectory(t *testing.T) {
	needBinary(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r, err := Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Host(), "127.0.0.1:") || r.URL() != "http://"+r.Host() {
		t.Fatalf("Host() = %q, URL() = %q, want http://127.0.0.1:PORT", r.Host(), r.URL())
	}
	dir := filepath.Dir(r.StorageDir())
	if filepath.Dir(dir) != tmp {
		t.Fatalf("StorageDir() = %q, want it in a new directory under %s", r.StorageDir(), tmp)
	}
	servesUntil(t, r, "Close", r.Close)
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after Close, stat %s: %v, want it removed", dir, err)
	}
}

func TestRunWithDirLeavesTheDirectory(t *testing.T) {
	needBinary(t)
	dir := filepath.Join(t.TempDir(), "registry")
	r, err := Run(context.Background(), WithDir(dir), WithTLS())
	if err != nil {
		t.Fatal(err)
	}
	if r.StorageDir() != filepath.Join(dir, "storage") || r.CAFile() != filepath.Join(dir, "ca.pem") {
		t.Fatalf("StorageDir() = %q, CAFile() = %q, want them in %s", r.StorageDir(), r.CAFile(), dir)
	}
	if code, _ := get(t, &http.Client{Transport: r.Transport()}, r.URL()+"/v2/"); code != http.StatusOK {
		t.Fatalf("GET /v2/ = %d, want 200", code)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{r.StorageDir(), r.CAFile(), filepath.Join(dir, "config.yml")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("after Close: %v, want %s kept", err, p)
		}
	}
}

func TestRunCanceledCleansUp(t *testing.T) {
	needBinary(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := Run(ctx)
	if !errors.Is(err, context.Canceled) || r != nil {
		t.Fatalf("Run with a canceled context = %v, %v; want a context.Canceled error", r, err)
	}
	if dirs := leftovers(t, tmp); len(dirs) != 0 {
		t.Fatalf("Run left %v behind", dirs)
	}
}

func TestRunMissingBinaryIsAnError(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	want := filepath.Join(tmp, "no-registry")
	r, err := Run(context.Background(), WithGetenv(func(k string) string {
		if k == "XGO_TEST_REGISTRY" {
			return want
		}
		return ""
	}))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), want) || r != nil {
		t.Fatalf("Run with a missing XGO_TEST_REGISTRY = %v, %v; want a not-exist error naming it", r, err)
	}
	if dirs := leftovers(t, tmp); len(dirs) != 0 {
		t.Fatalf("Run left %v behind", dirs)
	}
}
