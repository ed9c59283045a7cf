package release

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/shim"
)

// mustPlatform parses a platform or fails the test.
func mustPlatform(t testing.TB, s string) shim.Platform {
	t.Helper()
	p, err := shim.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// created is the image time of the tests.
var created = time.Date(2026, 11, 30, 3, 4, 5, 0, time.UTC)

// writeBinary writes content as an executable file in a new directory and returns its path.
func writeBinary(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustLayer is oci.BinaryLayer, failing the test on an error.
func mustLayer(t testing.TB, path, name string, created time.Time) v1.Layer {
	t.Helper()
	l, err := oci.BinaryLayer(path, name, created)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// retyped is a layer under another media type (the same bytes).
type retyped struct {
	v1.Layer
	mediaType types.MediaType
}

// MediaType implements v1.Layer.
func (l retyped) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// digestOf returns l's digest or fails the test.
func digestOf(t testing.TB, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// readLayout reads the one index a layout at dir holds.
func readLayout(t testing.TB, dir string) v1.ImageIndex {
	t.Helper()
	idx, err := oci.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}
