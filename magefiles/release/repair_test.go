package release

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
)

// TestImageRepairsADamagedLayout checks that the binary's layer, which dist/oci and the layer
// cache share (a hard link), is made again by the next image run when its bytes changed with
// its size and time kept, written through either name: that run's layout is intact, and so is
// the cache. The layout's files are read-only.
func TestImageRepairsADamagedLayout(t *testing.T) {
	for _, where := range []string{"dist/oci", "the cache"} {
		t.Run(where, func(t *testing.T) {
			dir := writeModule(t, map[string]string{"main.go": mainGo})
			cache := filepath.Join(t.TempDir(), "cache")
			env := lockRunEnv(dir, io.Discard, map[string]string{"XGO_CACHE": cache})
			if err := run(t.Context(), env, stageImage); err != nil {
				t.Fatal(err)
			}
			layoutDir := filepath.Join(dir, "dist", "oci")
			h, size := topLayer(t, layoutDir)
			inLayout := filepath.Join(layoutDir, "blobs", h.Algorithm, h.Hex)
			inCache := filepath.Join(cache, "blobs", h.Algorithm, h.Hex)
			for _, p := range []string{inLayout, inCache} {
				if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o444 {
					t.Fatalf("%s: %v, %v; want a read-only file", p, fi.Mode(), err)
				}
			}
			damaged := inLayout
			if where == "the cache" {
				damaged = inCache
			}
			releasetest.DamageInPlace(t, damaged)
			if oci.IntactBlob(inLayout, h, size) {
				t.Fatal("the damage did not reach dist/oci: the test no longer damages a shared file")
			}

			if err := run(t.Context(), env, stageImage); err != nil {
				t.Fatalf("the run after the damage: %v", err)
			}
			if err := validate.Index(releasetest.Layout(t, layoutDir)); err != nil {
				t.Errorf("the layout of the run after the damage: %v", err)
			}
			for _, p := range []string{inLayout, inCache} {
				if !oci.IntactBlob(p, h, size) {
					t.Errorf("%s is still damaged", p)
				}
			}
		})
	}
}

// topLayer returns the digest and size of the top layer (the binary) of the first image in
// the layout at dir.
func topLayer(t *testing.T, dir string) (v1.Hash, int64) {
	t.Helper()
	idx := releasetest.Layout(t, dir)
	im := releasetest.FirstManifest(t, idx)
	top := im.Layers[len(im.Layers)-1]
	return top.Digest, top.Size
}
