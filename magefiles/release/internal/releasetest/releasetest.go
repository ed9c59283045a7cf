// Package releasetest holds what the tests of the release's packages build on: random
// images that name a platform, a docker-style multi-platform base, small binaries and their
// layers, images of those binaries on a base, and a registry whose requests are recorded.
package releasetest

import (
	"archive/tar"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/shim"
)

// Created is the image time of the tests.
var Created = time.Date(2026, 11, 30, 3, 4, 5, 0, time.UTC)

// Platform parses a platform or fails the test.
func Platform(t testing.TB, s string) shim.Platform {
	t.Helper()
	p, err := shim.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WithPlatform returns img with a config that names platform p.
func WithPlatform(t testing.TB, img v1.Image, p v1.Platform) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Random returns a random one-layer image whose config names platform p.
func Random(t testing.TB, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return WithPlatform(t, img, p)
}

// MultiPlatformBase is a docker-style multi-platform base: amd64, arm64 spelled with
// variant v8, arm/v7, and an attestation entry (unknown/unknown).
func MultiPlatformBase(t testing.TB) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "unknown", Architecture: "unknown"},
	} {
		adds = append(adds, mutate.IndexAddendum{Add: Random(t, p), Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.DockerManifestList), adds...)
}

// Binary writes content as an executable file named app in a new directory and returns its
// path.
func Binary(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Layer is oci.BinaryLayer, failing the test on an error.
func Layer(t testing.TB, path, name string, created time.Time) v1.Layer {
	t.Helper()
	l, err := oci.BinaryLayer(path, name, created)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// On puts a small binary for each platform on the base image imageFor returns for it (a
// base's ImageFor), with the base's layers fetched as a release fetches them.
func On(t testing.TB, imageFor func(shim.Platform) (v1.Image, v1.Hash, error), platforms ...string) []oci.PlatformImage {
	t.Helper()
	var images []oci.PlatformImage
	for _, s := range platforms {
		p := Platform(t, s)
		b, _, err := imageFor(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := oci.NewImage(b, Layer(t, Binary(t, "binary for "+s), "app", Created),
			oci.ImageSpec{Platform: p, Entrypoint: []string{"/app"}, Created: Created})
		if err != nil {
			t.Fatal(err)
		}
		if err := oci.FetchLayerFiles(b); err != nil {
			t.Fatal(err)
		}
		images = append(images, oci.PlatformImage{Platform: p, Image: img})
	}
	return images
}

// Recorder is an http.RoundTripper that logs the requests sent through it
// ("GET /v2/team/app/blobs/sha256:...").
type Recorder struct {
	Next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return r.Next.RoundTrip(req)
}

// Requests returns the requests logged so far.
func (r *Recorder) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// Registry starts a registry (see registrytest.Start) and returns the repository team/app in
// it and the options of a release's registry calls, whose requests rec records.
func Registry(t *testing.T, opts ...registrytest.Option) (repo name.Repository, rec *Recorder, ropts []remote.Option) {
	t.Helper()
	reg := registrytest.Start(t, opts...)
	repo, err := registry.ParseRepo(reg.Host()+"/team/app", false)
	if err != nil {
		t.Fatal(err)
	}
	policy := registry.DefaultRetryPolicy()
	rec = &Recorder{Next: registry.NewTransport(false, policy)}
	ropts = append(registry.Options(context.Background(), 4, false, policy), remote.WithTransport(rec))
	return repo, rec, ropts
}

// Digest returns l's digest or fails the test.
func Digest(t testing.TB, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Layout reads the one index the OCI layout at dir holds.
func Layout(t testing.TB, dir string) v1.ImageIndex {
	t.Helper()
	idx, err := oci.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// TopLayerFile copies the file name (with or without a leading /) from the top layer of img
// to path, executable, and returns its tar header.
func TopLayerFile(t testing.TB, img v1.Image, name, path string) *tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("finding %s in the top layer: %v", name, err)
		}
		if strings.TrimPrefix(hdr.Name, "/") != name {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return hdr
	}
}

// DamageInPlace changes one byte in the middle of the file at path, writing into the file
// itself (every hard link of it sees the change), and puts back its mode and times: only
// its bytes tell the damage.
func DamageInPlace(t testing.TB, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if now, err := os.Stat(path); err != nil || now.Size() != fi.Size() || !now.ModTime().Equal(fi.ModTime()) {
		t.Fatalf("the damaged %s does not keep its size and time: %v", path, err)
	}
}

// Within fails the test when f has not returned after d: a regression that hangs (on a FIFO,
// say) fails instead of stopping the whole test binary. f runs in its own goroutine and must
// not call t.FailNow.
func Within(t testing.TB, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
	}
}

// FirstManifest returns the manifest of the first image idx lists.
func FirstManifest(t testing.TB, idx v1.ImageIndex) *v1.Manifest {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return im
}
