package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/cache"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
	"github.com/xgo-build/xgo-build/shim"
)

// benchPlatforms are the platforms BenchmarkWarmBase builds on the base.
var benchPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}

// BenchmarkWarmBase measures the warm part of a release that reads a remote base named by
// tag, with the base's blobs already on disk: resolve the base, take its image for three
// platforms, put a binary on each, and write the image layout. Two ways side by side:
//
//   - store: this package's base store (LoadBase through the cache): one HEAD for the tag's
//     digest, the index, manifests and configs read from the cache by digest, and the layers
//     hard-linked into the layout;
//   - ggcr-cache: go-containerregistry's remote index with pkg/v1/cache's filesystem cache,
//     which keeps layers only: the index, each manifest and each config are fetched again,
//     and the layers are copied into the layout, as that cache's layers are not files the
//     layout can link.
//
// The base has two 4 MiB layers a platform (about a distroless or alpine base). The registry
// is on loopback, so the requests/op metric is what a registry across a network would add:
// each one a round trip.
func BenchmarkWarmBase(b *testing.B) {
	reg := registrytest.Start(b)
	policy := registry.DefaultRetryPolicy()
	rec := &releasetest.Recorder{Next: registry.NewTransport(false, policy)}
	opts := append(registry.Options(context.Background(), 4, false, policy), remote.WithTransport(rec))
	repo, err := name.NewRepository(reg.Host()+"/base/bench", name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	for _, s := range benchPlatforms {
		p := oci.PlatformOf(releasetest.Platform(b, s))
		img, err := random.Image(4<<20, 2)
		if err != nil {
			b.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: releasetest.WithPlatform(b, img, *p), Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := remote.WriteIndex(repo.Tag("1"), idx, opts...); err != nil {
		b.Fatal(err)
	}
	tag := repo.Tag("1")

	run := func(b *testing.B, imageFor func() func(shim.Platform) (v1.Image, v1.Hash, error)) {
		releasetest.On(b, imageFor(), benchPlatforms...) // the cold run fills the cache
		out := b.TempDir()
		n, before := 0, len(rec.Requests())
		for b.Loop() {
			images := releasetest.On(b, imageFor(), benchPlatforms...)
			ix, err := oci.NewIndex(images, nil)
			if err != nil {
				b.Fatal(err)
			}
			n++
			if err := oci.WriteLayout(filepath.Join(out, fmt.Sprint(n)), ix); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(rec.Requests())-before)/float64(n), "requests/op")
	}

	b.Run("store", func(b *testing.B) {
		c := Cache{Dir: b.TempDir()}
		run(b, func() func(shim.Platform) (v1.Image, v1.Hash, error) {
			base, err := LoadBase(context.Background(), tag.String(), false, opts, c)
			if err != nil {
				b.Fatal(err)
			}
			return base.ImageFor
		})
	})
	b.Run("ggcr-cache", func(b *testing.B) {
		fs := cache.NewFilesystemCache(b.TempDir())
		run(b, func() func(shim.Platform) (v1.Image, v1.Hash, error) {
			ix, err := remote.Index(tag, opts...)
			if err != nil {
				b.Fatal(err)
			}
			ix = cache.ImageIndex(ix, fs)
			return func(p shim.Platform) (v1.Image, v1.Hash, error) {
				m, err := ix.IndexManifest()
				if err != nil {
					return nil, v1.Hash{}, err
				}
				want := oci.PlatformOf(p)
				for _, d := range m.Manifests {
					if d.Platform != nil && d.Platform.Equals(*want) {
						img, err := ix.Image(d.Digest)
						return img, d.Digest, err
					}
				}
				return nil, v1.Hash{}, fmt.Errorf("no %s image in the base", p)
			}
		})
	})
}
