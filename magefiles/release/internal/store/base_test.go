package store

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
	"github.com/xgo-build/xgo-build/shim"
)

func TestLoadBaseScratch(t *testing.T) {
	// No options at all: scratch must not touch the network.
	b, err := LoadBase(context.Background(), "scratch", false, nil, Cache{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "scratch" || b.Index != nil || b.Digest != (v1.Hash{}) {
		t.Fatalf("scratch base %+v", b)
	}
	if ps, err := b.Platforms(); err != nil || ps != nil {
		t.Fatalf("platforms() = %v, %v; want nil", ps, err)
	}
	img, d, err := b.ImageFor(releasetest.Platform(t, "linux/s390x"))
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
	idx := releasetest.MultiPlatformBase(t)
	if err := remote.WriteIndex(r, idx, registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy())...); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	im, _ := idx.IndexManifest()
	for _, cache := range []Cache{{}, {Dir: t.TempDir()}} {
		t.Run(cacheName(cache), func(t *testing.T) { checkBaseIndex(t, ctx, ref, cache, want, im) })
	}
}

// cacheName names a test of a base read without a cache or through one.
func cacheName(c Cache) string {
	if c.Dir == "" {
		return "remote"
	}
	return "cached"
}

func checkBaseIndex(t *testing.T, ctx context.Context, ref string, cache Cache, want v1.Hash, im *v1.IndexManifest) {
	b, err := LoadBase(ctx, ref, false, registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy()), cache)
	if err != nil {
		t.Fatal(err)
	}
	if b.Digest != want || b.Index == nil || b.Name != ref {
		t.Fatalf("base %s digest %s (index %v), want %s", b.Name, b.Digest, b.Index != nil, want)
	}
	ps, err := b.Platforms()
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
		img, d, err := b.ImageFor(releasetest.Platform(t, tc.want))
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
	_, _, err = b.ImageFor(releasetest.Platform(t, "linux/s390x"))
	if err == nil || !strings.Contains(err.Error(), "has no linux/s390x image") ||
		!strings.Contains(err.Error(), "linux/amd64, linux/arm64, linux/arm/v7") || !strings.Contains(err.Error(), ref) {
		t.Fatalf("missing platform: %v, want an error naming it, the base and its platforms", err)
	}
	if _, _, err := b.ImageFor(releasetest.Platform(t, "linux/arm/v6")); err == nil {
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
	img := releasetest.Random(t, v1.Platform{OS: "linux", Architecture: "arm64"})
	if err := remote.Write(r, img, registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy())...); err != nil {
		t.Fatal(err)
	}
	for _, cache := range []Cache{{}, {Dir: t.TempDir()}} {
		t.Run(cacheName(cache), func(t *testing.T) { checkBaseSingleImage(t, ref, cache, img) })
	}
}

func checkBaseSingleImage(t *testing.T, ref string, cache Cache, img v1.Image) {
	b, err := LoadBase(context.Background(), ref, false, registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy()), cache)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if b.Index != nil || b.Digest != want {
		t.Fatalf("base digest %s index %v, want %s and no index", b.Digest, b.Index != nil, want)
	}
	if ps, err := b.Platforms(); err != nil || platformStrings(ps) != "linux/arm64" {
		t.Fatalf("platforms() = %v, %v", ps, err)
	}
	got, d, err := b.ImageFor(releasetest.Platform(t, "linux/arm64"))
	if err != nil || d != want {
		t.Fatalf("imageFor(linux/arm64) = %s, %v; want %s", d, err, want)
	}
	if gd, _ := got.Digest(); gd != want {
		t.Fatalf("image digest %s, want %s", gd, want)
	}
	if _, _, err := b.ImageFor(releasetest.Platform(t, "linux/amd64")); err == nil || !strings.Contains(err.Error(), "(it has: linux/arm64)") {
		t.Fatalf("imageFor(linux/amd64) on an arm64 image: %v", err)
	}
}

func TestLoadBaseMissing(t *testing.T) {
	reg := registrytest.Start(t)
	for _, cache := range []Cache{{}, {Dir: t.TempDir()}} {
		for _, ref := range []string{reg.Host() + "/no/such:1", reg.Host() + "/no/such@sha256:" + strings.Repeat("ab", 32)} {
			_, err := LoadBase(context.Background(), ref, false, registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy()), cache)
			if err == nil || !strings.Contains(err.Error(), `base image "`+ref+`" does not exist`) {
				t.Errorf("%s: LoadBase(%s): %v, want a does-not-exist error naming it", cacheName(cache), ref, err)
			}
		}
	}
	if _, err := LoadBase(context.Background(), "Not A Reference", false, nil, Cache{}); err == nil || !strings.Contains(err.Error(), `"Not A Reference"`) {
		t.Errorf("invalid reference: %v", err)
	}
}

func TestPickEntry(t *testing.T) {
	entries := func(ps ...string) []baseEntry {
		var es []baseEntry
		for _, p := range ps {
			es = append(es, baseEntry{platform: releasetest.Platform(t, p), raw: p})
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
		e, ok := pickEntry(entries(tc.base...), releasetest.Platform(t, tc.want))
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
		adds = append(adds, mutate.IndexAddendum{Add: releasetest.Random(t, p), Descriptor: v1.Descriptor{Platform: &p}})
	}
	b := Base{Name: "registry.example/base:1", Index: mutate.AppendManifests(empty.Index, adds...)}
	_, _, err := b.ImageFor(releasetest.Platform(t, "linux/s390x"))
	if err == nil || !strings.HasSuffix(err.Error(), "(it has: linux/arm64)") {
		t.Fatalf("err = %v, want the base's platforms listed once: (it has: linux/arm64)", err)
	}
}
