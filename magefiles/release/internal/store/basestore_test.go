package store

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
)

// storedBaseSetup pushes baseIndex to a registry and returns its tag and digest references,
// the options of requests that rec records, and the pushed index.
func storedBaseSetup(t *testing.T) (tag, digest string, rec *releasetest.Recorder, opts []remote.Option, idx v1.ImageIndex) {
	t.Helper()
	repo, rec, opts := releasetest.Registry(t)
	base, err := name.NewRepository(repo.RegistryStr()+"/base/multi", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx = releasetest.MultiPlatformBase(t)
	if err := remote.WriteIndex(base.Tag("1"), idx, opts...); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return base.Name() + ":1", base.Name() + "@" + d.String(), rec, opts, idx
}

// layoutFromBase loads ref through cache, puts one binary per platform on it and writes the
// image layout to a new directory; it returns the directory, the index and the requests the
// whole run made.
func layoutFromBase(t *testing.T, ref string, cache Cache, rec *releasetest.Recorder, opts []remote.Option) (string, v1.ImageIndex, []string) {
	t.Helper()
	before := len(rec.Requests())
	base, err := LoadBase(context.Background(), ref, false, opts, cache)
	if err != nil {
		t.Fatal(err)
	}
	images := releasetest.On(t, base.ImageFor, "linux/amd64", "linux/arm64", "linux/arm/v7")
	idx, err := oci.NewIndex(images, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	if err := oci.WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	return dir, idx, rec.Requests()[before:]
}

// TestStoredBase checks that a base read through the cache gives the very images a base read
// from the registry gives, and that a warm run asks the registry for nothing when the base is
// named by digest and only for the tag's digest when it is named by tag.
func TestStoredBase(t *testing.T) {
	tag, digest, rec, opts, _ := storedBaseSetup(t)
	_, want, _ := layoutFromBase(t, tag, Cache{}, rec, opts)
	wantDigest, _ := want.Digest()

	cache := Cache{Dir: t.TempDir()}
	for _, tc := range []struct {
		name, ref string
		warm      []string // the requests of a warm run
	}{
		{"tag", tag, []string{"HEAD /v2/base/multi/manifests/1"}},
		{"digest", digest, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for run := range 2 {
				dir, idx, reqs := layoutFromBase(t, tc.ref, cache, rec, opts)
				if got, _ := idx.Digest(); got != wantDigest {
					t.Fatalf("run %d: index %s, want %s as built on the base read from the registry", run, got, wantDigest)
				}
				onDisk := releasetest.Layout(t, dir)
				if err := validate.Index(onDisk); err != nil {
					t.Fatalf("run %d: the layout: %v", run, err)
				}
				if got, _ := onDisk.Digest(); got != wantDigest {
					t.Fatalf("run %d: layout index %s, want %s", run, got, wantDigest)
				}
				if run == 1 && !slices.Equal(withoutPing(reqs), tc.warm) {
					t.Errorf("a warm run made the requests %q, want %q", reqs, tc.warm)
				}
			}
		})
	}
}

// withoutPing drops the registry pings from reqs.
func withoutPing(reqs []string) []string {
	return slices.DeleteFunc(slices.Clone(reqs), func(r string) bool { return r == "GET /v2/" })
}

// TestStoredBaseDamaged checks that a cached base manifest, config or layer that no longer
// has its digest is fetched again, never used.
func TestStoredBaseDamaged(t *testing.T) {
	_, digest, rec, opts, idx := storedBaseSetup(t)
	cache := Cache{Dir: t.TempDir()}
	_, want, _ := layoutFromBase(t, digest, cache, rec, opts)
	wantDigest, _ := want.Digest()

	im := releasetest.FirstManifest(t, idx)
	d, _ := idx.Digest()
	for _, h := range []v1.Hash{d, im.Config.Digest, im.Layers[0].Digest} {
		// The same size and time, other bytes.
		releasetest.DamageInPlace(t, cache.blobPath(h))
	}
	dir, got, reqs := layoutFromBase(t, digest, cache, rec, opts)
	if gd, _ := got.Digest(); gd != wantDigest {
		t.Fatalf("index %s on a damaged cache, want %s", gd, wantDigest)
	}
	if err := validate.Index(releasetest.Layout(t, dir)); err != nil {
		t.Fatalf("the layout: %v", err)
	}
	for _, h := range []v1.Hash{d, im.Config.Digest, im.Layers[0].Digest} {
		kind := "manifests"
		if h != d {
			kind = "blobs"
		}
		if !slices.Contains(reqs, "GET /v2/base/multi/"+kind+"/"+h.String()) {
			t.Errorf("damaged blob %s was not fetched again; requests %q", h, reqs)
		}
		if !oci.IntactBlob(cache.blobPath(h), h, sizeOf(t, cache.blobPath(h))) {
			t.Errorf("the cache still holds a damaged %s", h)
		}
	}
}

func sizeOf(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestStoredBaseForeignLayer checks that a base layer kept only at its URLs (a foreign layer,
// as Windows bases have), which the registry does not hold, is looked for at its URLs.
// go-containerregistry refuses URLs on private and loopback addresses, and a test may use
// nothing else: the refusal shows the URL was tried.
func TestStoredBaseForeignLayer(t *testing.T) {
	repo, rec, opts := releasetest.Registry(t, registrytest.WithForeignLayers())
	layer, err := random.Layer(512, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	base, err := mutate.Append(mutate.MediaType(empty.Image, types.DockerManifestSchema2),
		mutate.Addendum{Layer: retyped{layer, types.DockerForeignLayer}, MediaType: types.DockerForeignLayer, URLs: []string{"http://127.0.0.1:9/layer"}})
	if err != nil {
		t.Fatal(err)
	}
	base = releasetest.WithPlatform(t, base, v1.Platform{OS: "linux", Architecture: "amd64"})
	ref := repo.RegistryStr() + "/base/foreign:1"
	r, err := registry.ParseRef(ref, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, base, opts...); err != nil { // the foreign layer is not uploaded
		t.Fatal(err)
	}
	h, _ := layer.Digest()
	for _, req := range rec.Requests() {
		if strings.Contains(req, h.Hex) && !strings.HasPrefix(req, "HEAD ") {
			t.Fatalf("the foreign layer went to the registry: %s", req)
		}
	}
	b, err := LoadBase(context.Background(), ref, false, opts, Cache{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := b.ImageFor(releasetest.Platform(t, "linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	err = oci.FetchLayerFiles(img)
	if err == nil || !strings.Contains(err.Error(), "foreign layer URL") || !strings.Contains(err.Error(), h.String()) {
		t.Fatalf("fetching the foreign layer: %v, want go-containerregistry's refusal of its loopback URL", err)
	}
}

// TestStoredBaseReadsNoMoreThanDeclared serves a base whose registry sends an endless body
// for one blob, a config or a layer: the run reads at most one byte more than the blob's
// descriptor declares and fails saying the registry sent more.
func TestStoredBaseReadsNoMoreThanDeclared(t *testing.T) {
	for _, kind := range []string{"config", "layer"} {
		t.Run(kind, func(t *testing.T) {
			reg := registrytest.Start(t)
			img, err := random.Image(326, 1)
			if err != nil {
				t.Fatal(err)
			}
			img = releasetest.WithPlatform(t, img, v1.Platform{OS: "linux", Architecture: "amd64"})
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			blob := m.Config
			if kind == "layer" {
				blob = m.Layers[0]
			}
			target, err := url.Parse(reg.URL())
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(target)
			var served atomic.Int64
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+blob.Digest.String()) {
					proxy.ServeHTTP(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/octet-stream")
				chunk := make([]byte, 32<<10)
				for served.Load() < 256<<20 {
					n, err := w.Write(chunk)
					served.Add(int64(n))
					if err != nil {
						return
					}
				}
			}))
			t.Cleanup(front.Close)
			ref := strings.TrimPrefix(front.URL, "http://") + "/base/long:1"
			r, err := registry.ParseRef(ref, false)
			if err != nil {
				t.Fatal(err)
			}
			opts := registry.Options(context.Background(), 2, false, registry.DefaultRetryPolicy())
			if err := remote.Write(r, img, opts...); err != nil {
				t.Fatal(err)
			}
			base, err := LoadBase(context.Background(), ref, false, opts, Cache{Dir: t.TempDir()})
			if err == nil {
				var b v1.Image
				if b, _, err = base.ImageFor(releasetest.Platform(t, "linux/amd64")); err == nil {
					if _, err = b.ConfigFile(); err == nil {
						err = oci.FetchLayerFiles(b)
					}
				}
			}
			want := fmt.Sprintf("blob %s: the registry sent more than the %d bytes its descriptor declares", blob.Digest, blob.Size)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("reading a base whose %s never ends: %v, want %q", kind, err, want)
			}
			if n := served.Load(); n >= 64<<20 {
				t.Fatalf("the run read %d bytes of a %d-byte %s", n, blob.Size, kind)
			}
		})
	}
}
