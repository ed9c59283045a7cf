//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
)

// irregular are the files that may take the place of an entry or a blob: each puts one at
// path, or skips the test when it cannot.
var irregular = map[string]func(t *testing.T, path string){
	"FIFO": func(t *testing.T, path string) {
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
	},
	"link to /dev/zero": func(t *testing.T, path string) {
		if err := os.Symlink("/dev/zero", path); err != nil {
			t.Fatal(err)
		}
	},
	"unreadable": func(t *testing.T, path string) {
		if os.Geteuid() == 0 {
			t.Skip("running as root, which reads a file of mode 000: the directory case stands in")
		}
		if err := os.WriteFile(path, []byte("{}"), 0o000); err != nil {
			t.Fatal(err)
		}
	},
	"directory": func(t *testing.T, path string) {
		if err := os.MkdirAll(filepath.Join(path, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	},
}

// replaceWith removes the file at path and puts the irregular file kind in its place.
func replaceWith(t *testing.T, path, kind string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	irregular[kind](t, path)
}

// TestLayerCacheIrregularFiles checks that a FIFO, a link to /dev/zero, an unreadable file or
// a directory in the place of an entry or a blob is a missing entry: the lookup returns at
// once as a miss, the layer is made again and replaces it, and the next lookup is a hit.
func TestLayerCacheIrregularFiles(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 64<<10, 1)
	want := releasetest.Layer(t, bin, "app", releasetest.Created)
	places := map[string]func(c Cache) string{
		"entry": func(c Cache) string {
			matches, _ := filepath.Glob(filepath.Join(c.Dir, "entries", "*", "*.json"))
			if len(matches) != 1 {
				t.Fatalf("entries: %v", matches)
			}
			return matches[0]
		},
		"blob": func(c Cache) string { return c.blobPath(releasetest.Digest(t, want)) },
	}
	for place, pathOf := range places {
		for kind := range irregular {
			t.Run(place+"/"+kind, func(t *testing.T) {
				c := Cache{Dir: t.TempDir()}
				cacheLayer(t, c, bin, "app")
				replaceWith(t, pathOf(c), kind)
				for run, wantHit := range []bool{false, true} {
					var hit bool
					var err error
					releasetest.Within(t, 10*time.Second, func() {
						_, hit, err = c.Layer(bin, "app", releasetest.Created)
					})
					if err != nil || hit != wantHit {
						t.Fatalf("lookup %d: hit %v, %v; want hit %v and no error", run, hit, err, wantHit)
					}
				}
				if fi, err := os.Lstat(pathOf(c)); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("the %s was not made again: %v, %v", place, fi.Mode(), err)
				}
				l, _ := cacheLayer(t, c, bin, "app")
				sameLayer(t, l, want)
			})
		}
	}
}

// TestStoredBaseIrregularFiles checks the same of the blobs of a remote base: an index,
// image manifest, config or layer whose place in the cache holds an irregular file is
// fetched again at once, and the layout written is the one a fresh cache gives.
func TestStoredBaseIrregularFiles(t *testing.T) {
	_, digest, rec, opts, idx := storedBaseSetup(t)
	bin := releasetest.Binary(t, "binary for linux/amd64")
	amd64 := releasetest.Platform(t, "linux/amd64")
	// baseLayout is a release of bin on the base for linux/amd64 into dir, without t (it
	// runs in the goroutine of releasetest.Within).
	baseLayout := func(cache Cache, dir string) (v1.Hash, error) {
		base, err := LoadBase(context.Background(), digest, false, opts, cache)
		if err != nil {
			return v1.Hash{}, err
		}
		b, _, err := base.ImageFor(amd64)
		if err != nil {
			return v1.Hash{}, err
		}
		l, err := oci.BinaryLayer(bin, "app", releasetest.Created)
		if err != nil {
			return v1.Hash{}, err
		}
		img, err := oci.NewImage(b, l, oci.ImageSpec{Platform: amd64, Entrypoint: []string{"/app"}, Created: releasetest.Created})
		if err != nil {
			return v1.Hash{}, err
		}
		if err := oci.FetchLayerFiles(b); err != nil {
			return v1.Hash{}, err
		}
		x, err := oci.NewIndex([]oci.PlatformImage{{Platform: amd64, Image: img}}, nil)
		if err != nil {
			return v1.Hash{}, err
		}
		if err := oci.WriteLayout(dir, x); err != nil {
			return v1.Hash{}, err
		}
		return x.Digest()
	}
	want, err := baseLayout(Cache{}, filepath.Join(t.TempDir(), "oci"))
	if err != nil {
		t.Fatal(err)
	}

	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest) // linux/amd64
	if err != nil {
		t.Fatal(err)
	}
	im, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	indexDigest, _ := idx.Digest()
	places := map[string]struct {
		h    v1.Hash
		kind string // of the request that fetches it
	}{
		"index":    {indexDigest, "manifests"},
		"manifest": {m.Manifests[0].Digest, "manifests"},
		"config":   {im.Config.Digest, "blobs"},
		"layer":    {im.Layers[0].Digest, "blobs"},
	}
	for place, p := range places {
		for kind := range irregular {
			t.Run(place+"/"+kind, func(t *testing.T) {
				cache := Cache{Dir: t.TempDir()}
				if _, err := baseLayout(cache, filepath.Join(t.TempDir(), "oci")); err != nil {
					t.Fatal(err)
				}
				replaceWith(t, cache.blobPath(p.h), kind)
				before := len(rec.Requests())
				dir := filepath.Join(t.TempDir(), "oci")
				var got v1.Hash
				releasetest.Within(t, 10*time.Second, func() { got, err = baseLayout(cache, dir) })
				if err != nil || got != want {
					t.Fatalf("index %s, %v; want %s", got, err, want)
				}
				if err := validate.Index(releasetest.Layout(t, dir)); err != nil {
					t.Fatalf("the layout: %v", err)
				}
				if reqs := rec.Requests()[before:]; !slices.Contains(reqs, "GET /v2/base/multi/"+p.kind+"/"+p.h.String()) {
					t.Errorf("%s was not fetched again; requests %q", p.h, reqs)
				}
				if fi, err := os.Lstat(cache.blobPath(p.h)); err != nil || !fi.Mode().IsRegular() {
					t.Errorf("the %s was not stored again: %v, %v", place, fi.Mode(), err)
				}
			})
		}
	}
}
