package release

import (
	"context"
	"strings"
	"testing"

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

// platformImageFor returns a random image whose config names platform p.
func platformImageFor(t testing.TB, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return withPlatform(t, img, p)
}

// withPlatform returns img with a config that names platform p.
func withPlatform(t testing.TB, img v1.Image, p v1.Platform) v1.Image {
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

// imagesOn puts a small binary for each platform on its image of base, with the base's
// layers fetched as a release fetches them.
func imagesOn(t testing.TB, base baseImage, platforms ...string) []oci.PlatformImage {
	t.Helper()
	var images []oci.PlatformImage
	for _, s := range platforms {
		p := mustPlatform(t, s)
		b, _, err := base.imageFor(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := oci.NewImage(b, mustLayer(t, writeBinary(t, "binary for "+s), "app", created),
			oci.ImageSpec{Platform: p, Entrypoint: []string{"/app"}, Created: created})
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

// baseIndex is a docker-style multi-platform base: amd64, arm64 spelled with
// variant v8, arm/v7, and an attestation entry (unknown/unknown).
func baseIndex(t testing.TB) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "unknown", Architecture: "unknown"},
	} {
		adds = append(adds, mutate.IndexAddendum{
			Add:        platformImageFor(t, p),
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.DockerManifestList), adds...)
}

// testOptions are remoteOptions for a loopback test registry.
func testOptions(testing.TB) []remote.Option {
	return registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy())
}

func TestLoadBaseScratch(t *testing.T) {
	// No options at all: scratch must not touch the network.
	b, err := loadBase(context.Background(), "scratch", false, nil, layerCache{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "scratch" || b.index != nil || b.Digest != (v1.Hash{}) {
		t.Fatalf("scratch base %+v", b)
	}
	if ps, err := b.platforms(); err != nil || ps != nil {
		t.Fatalf("platforms() = %v, %v; want nil", ps, err)
	}
	img, d, err := b.imageFor(mustPlatform(t, "linux/s390x"))
	if err != nil || img != empty.Image || d != (v1.Hash{}) {
		t.Fatalf("imageFor = %v, %v, %v; want the empty image", img, d, err)
	}
}

func TestLoadBaseIndex(t *testing.T) {
	reg := registrytest.Start(t)
	ctx := context.Background()
	ref := reg.Host() + "/base/multi:1"
	r, err := registry.ParseRef(ref, false)
	if err != nil {
		t.Fatal(err)
	}
	idx := baseIndex(t)
	if err := remote.WriteIndex(r, idx, testOptions(t)...); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	im, _ := idx.IndexManifest()
	for _, cache := range []layerCache{{}, {dir: t.TempDir()}} {
		t.Run(cacheName(cache), func(t *testing.T) { checkBaseIndex(t, ctx, ref, cache, want, im) })
	}
}

// cacheName names a test of a base read without a cache or through one.
func cacheName(c layerCache) string {
	if c.dir == "" {
		return "remote"
	}
	return "cached"
}

func checkBaseIndex(t *testing.T, ctx context.Context, ref string, cache layerCache, want v1.Hash, im *v1.IndexManifest) {
	b, err := loadBase(ctx, ref, false, testOptions(t), cache)
	if err != nil {
		t.Fatal(err)
	}
	if b.Digest != want || b.index == nil || b.Name != ref {
		t.Fatalf("base %s digest %s (index %v), want %s", b.Name, b.Digest, b.index != nil, want)
	}
	ps, err := b.platforms()
	if err != nil {
		t.Fatal(err)
	}
	if got := platformStrings(ps); got != "linux/amd64,linux/arm64,linux/arm/v7" {
		t.Fatalf("platforms() = %s", got)
	}
	for _, tc := range []struct {
		want  string
		entry int
	}{
		{"linux/arm64", 1}, // the base spells it linux/arm64/v8
		{"linux/aarch64", 1},
		{"linux/amd64", 0},
		{"linux/amd64/v3", 0}, // the default-variant image serves
		{"linux/arm64/v8.2", 1},
		{"linux/arm/v7", 2},
	} {
		img, d, err := b.imageFor(mustPlatform(t, tc.want))
		if err != nil {
			t.Errorf("imageFor(%s): %v", tc.want, err)
			continue
		}
		if d != im.Manifests[tc.entry].Digest {
			t.Errorf("imageFor(%s) digest %s, want entry %d %s", tc.want, d, tc.entry, im.Manifests[tc.entry].Digest)
		}
		if got, _ := img.Digest(); got != d {
			t.Errorf("imageFor(%s) image %s, digest %s", tc.want, got, d)
		}
	}
	_, _, err = b.imageFor(mustPlatform(t, "linux/s390x"))
	if err == nil || !strings.Contains(err.Error(), "has no linux/s390x image") ||
		!strings.Contains(err.Error(), "linux/amd64, linux/arm64, linux/arm/v7") || !strings.Contains(err.Error(), ref) {
		t.Fatalf("missing platform: %v, want an error naming it, the base and its platforms", err)
	}
	if _, _, err := b.imageFor(mustPlatform(t, "linux/arm/v6")); err == nil {
		t.Fatal("linux/arm/v6 on a base with only arm/v7: no error")
	}
}

func TestLoadBaseSingleImage(t *testing.T) {
	reg := registrytest.Start(t)
	ref := reg.Host() + "/base/single:1"
	r, err := registry.ParseRef(ref, false)
	if err != nil {
		t.Fatal(err)
	}
	img := platformImageFor(t, v1.Platform{OS: "linux", Architecture: "arm64"})
	if err := remote.Write(r, img, testOptions(t)...); err != nil {
		t.Fatal(err)
	}
	for _, cache := range []layerCache{{}, {dir: t.TempDir()}} {
		t.Run(cacheName(cache), func(t *testing.T) { checkBaseSingleImage(t, ref, cache, img) })
	}
}

func checkBaseSingleImage(t *testing.T, ref string, cache layerCache, img v1.Image) {
	b, err := loadBase(context.Background(), ref, false, testOptions(t), cache)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if b.index != nil || b.Digest != want {
		t.Fatalf("base digest %s index %v, want %s and no index", b.Digest, b.index != nil, want)
	}
	if ps, err := b.platforms(); err != nil || platformStrings(ps) != "linux/arm64" {
		t.Fatalf("platforms() = %v, %v", ps, err)
	}
	got, d, err := b.imageFor(mustPlatform(t, "linux/arm64"))
	if err != nil || d != want {
		t.Fatalf("imageFor(linux/arm64) = %s, %v; want %s", d, err, want)
	}
	if gd, _ := got.Digest(); gd != want {
		t.Fatalf("image digest %s, want %s", gd, want)
	}
	if _, _, err := b.imageFor(mustPlatform(t, "linux/amd64")); err == nil || !strings.Contains(err.Error(), "(it has: linux/arm64)") {
		t.Fatalf("imageFor(linux/amd64) on an arm64 image: %v", err)
	}
}

func TestLoadBaseMissing(t *testing.T) {
	reg := registrytest.Start(t)
	for _, cache := range []layerCache{{}, {dir: t.TempDir()}} {
		for _, ref := range []string{reg.Host() + "/no/such:1", reg.Host() + "/no/such@sha256:" + strings.Repeat("ab", 32)} {
			_, err := loadBase(context.Background(), ref, false, testOptions(t), cache)
			if err == nil || !strings.Contains(err.Error(), `base image "`+ref+`" does not exist`) {
				t.Errorf("%s: loadBase(%s): %v, want a does-not-exist error naming it", cacheName(cache), ref, err)
			}
		}
	}
	if _, err := loadBase(context.Background(), "Not A Reference", false, nil, layerCache{}); err == nil || !strings.Contains(err.Error(), `"Not A Reference"`) {
		t.Errorf("invalid reference: %v", err)
	}
}

func TestPickEntry(t *testing.T) {
	entries := func(ps ...string) []baseEntry {
		var es []baseEntry
		for _, p := range ps {
			es = append(es, baseEntry{platform: mustPlatform(t, p), raw: p})
		}
		return es
	}
	for _, tc := range []struct {
		base []string
		want string
		got  string // "" for no match
	}{
		{[]string{"linux/arm/v6", "linux/arm/v5"}, "linux/arm/v7", "linux/arm/v6"},
		{[]string{"linux/arm/v5"}, "linux/arm/v7", "linux/arm/v5"},
		{[]string{"linux/arm/v7"}, "linux/arm/v6", ""},
		{[]string{"linux/amd64", "linux/amd64/v3"}, "linux/amd64/v3", "linux/amd64/v3"},
		{[]string{"linux/amd64", "linux/amd64/v3"}, "linux/amd64/v2", "linux/amd64"},
		{[]string{"linux/amd64/v2"}, "linux/amd64", ""},
		{[]string{"linux/riscv64"}, "linux/riscv64/rva22u64", "linux/riscv64"},
		{[]string{"linux/amd64"}, "windows/amd64", ""},
	} {
		e, ok := pickEntry(entries(tc.base...), mustPlatform(t, tc.want))
		got := ""
		if ok {
			got = e.platform.String()
		}
		if got != tc.got {
			t.Errorf("base %v, want %s: picked %q, want %q", tc.base, tc.want, got, tc.got)
		}
	}
}

func platformStrings(ps []shim.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// TestImageForListsPlatformsOnce checks that a base with entries that normalise
// to the same platform (arm64 and arm64/v8) names it once when a platform is missing.
func TestImageForListsPlatformsOnce(t *testing.T) {
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{
		{OS: "linux", Architecture: "arm64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
	} {
		adds = append(adds, mutate.IndexAddendum{Add: platformImageFor(t, p), Descriptor: v1.Descriptor{Platform: &p}})
	}
	b := baseImage{Name: "registry.example/base:1", index: mutate.AppendManifests(empty.Index, adds...)}
	_, _, err := b.imageFor(mustPlatform(t, "linux/s390x"))
	if err == nil || !strings.HasSuffix(err.Error(), "(it has: linux/arm64)") {
		t.Fatalf("err = %v, want the base's platforms listed once: (it has: linux/arm64)", err)
	}
}
