//go:build unix

package oci

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// within fails the test when f has not returned after ten seconds; f must not call
// t.FailNow.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("still running after 10s")
	}
}

// TestWriteLayoutOverFIFOs checks that a FIFO, or a link to /dev/zero, in the place of the
// old layout's index.json or of one of its blobs never stops WriteLayout: a FIFO index.json
// is refused at once, and a blob that is not a regular file is written anew.
func TestWriteLayoutOverFIFOs(t *testing.T) {
	idx := testIndex(t, "linux/amd64")
	m, _ := idx.IndexManifest()
	img, _ := idx.Image(m.Manifests[0].Digest)
	layers, _ := img.Layers()
	h, _ := layers[len(layers)-1].Digest()
	put := map[string]func(path string) error{
		"FIFO":              func(path string) error { return syscall.Mkfifo(path, 0o644) },
		"link to /dev/zero": func(path string) error { return os.Symlink("/dev/zero", path) },
	}
	for kind, mk := range put {
		for _, file := range []string{"index.json", filepath.Join("blobs", h.Algorithm, h.Hex)} {
			t.Run(kind+"/"+file, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "oci")
				if err := WriteLayout(dir, idx); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, file)
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				if err := mk(path); err != nil {
					t.Fatal(err)
				}
				var err error
				within(t, func() { err = WriteLayout(dir, idx) })
				if file == "index.json" {
					if err == nil {
						t.Fatal("an index.json that is not a file: replaced")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := validate.Index(readLayout(t, dir)); err != nil {
					t.Fatalf("validate.Index: %v", err)
				}
			})
		}
	}
}
