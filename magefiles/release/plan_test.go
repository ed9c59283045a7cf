package release

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
	"github.com/xgo-build/xgo-build/shim"
)

func TestParsePlatformList(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"", strings.Join(defaultPlatforms, ","), ""},
		{"all", "all", ""},
		{" ALL ", "all", ""},
		{"linux/amd64", "linux/amd64", ""},
		{"linux/arm64,linux/amd64", "linux/arm64,linux/amd64", ""},
		{"linux/arm, linux/arm/v7 ,linux/armhf", "linux/arm/v7", ""},
		{"linux/x86_64,linux/amd64/v1,linux/amd64/v3", "linux/amd64,linux/amd64/v3", ""},
		{"linux/aarch64,linux/arm64/v8", "linux/arm64", ""},
		{",", "", "no platforms given"},
		{" ", "", "no platforms given"},
		{"linux/amd64,", "", "empty entry in the list"},
		{"all,all", "", `"all" cannot be combined with other platforms`},
		{"linux/amd64,all", "", `"all" cannot be combined with other platforms`},
		{"linux/arm/v9", "", `invalid platform "linux/arm/v9"`},
		{"linux", "", `invalid platform "linux"`},
		{"linux/amd64/v2/x", "", `invalid platform "linux/amd64/v2/x"`},
	}
	for _, tt := range tests {
		got, err := parsePlatformList(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parsePlatformList(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("parsePlatformList(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParsePlatformList checks that the XGO_PLATFORMS parser never panics, that a list it
// accepts has no duplicates and only canonical platforms, and that its String form parses back
// to the same list.
func FuzzParsePlatformList(f *testing.F) {
	for _, s := range []string{"", "all", "linux/amd64", "linux/arm,linux/arm/v7", " , ", "LINUX/AARCH64", "wasi/wasm,linux/386/sse2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pl, err := parsePlatformList(s)
		if err != nil {
			return
		}
		if pl.All != (pl.List == nil) {
			t.Fatalf("parsePlatformList(%q) = %+v: All and List disagree", s, pl)
		}
		seen := map[shim.Platform]bool{}
		for _, p := range pl.List {
			q, err := shim.Parse(p.String())
			if err != nil || q != p || seen[p] {
				t.Fatalf("parsePlatformList(%q): %v is not canonical or repeated (%v)", s, p, err)
			}
			seen[p] = true
		}
		again, err := parsePlatformList(pl.String())
		if err != nil || again.String() != pl.String() {
			t.Fatalf("parsePlatformList(%q) = %s, which parses to %s, %v", s, pl, again, err)
		}
	})
}

// testBase is a multi-platform base index with one random image per platform (spelled as a
// registry would spell them) and an attestation entry.
func testBase(t *testing.T, platforms ...v1.Platform) store.Base {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	att, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
	idx := mutate.AppendManifests(empty.Index, adds...)
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return store.Base{Name: "registry.example/base:1", Digest: d, Index: idx}
}

func mustList(t *testing.T, s string) platformList {
	t.Helper()
	pl, err := parsePlatformList(s)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func TestPlanTargets(t *testing.T) {
	base := testBase(t,
		v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
		v1.Platform{OS: "linux", Architecture: "arm64"},
	)
	m, err := base.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}

	targets, err := planTargets(mustList(t, "all"), base)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets {
		got = append(got, tg.Platform.String())
	}
	if strings.Join(got, ",") != "linux/amd64,linux/arm64,linux/arm/v7" {
		t.Errorf("all = %s, want linux/amd64,linux/arm64,linux/arm/v7 (base order, no duplicate, no attestation)", got)
	}
	for i, tg := range targets[:2] {
		if tg.BaseDigest != m.Manifests[i].Digest {
			t.Errorf("%s: base digest %s, want the base's manifest %s", tg.Platform, tg.BaseDigest, m.Manifests[i].Digest)
		}
		d, err := tg.Base.Digest()
		if err != nil || d != tg.BaseDigest {
			t.Errorf("%s: base image digest %s, %v; want %s", tg.Platform, d, err, tg.BaseDigest)
		}
	}

	targets, err = planTargets(mustList(t, "linux/arm/v7,linux/amd64"), base)
	if err != nil || len(targets) != 2 || targets[0].Platform.String() != "linux/arm/v7" {
		t.Errorf("explicit list: %v, %v", targets, err)
	}

	_, err = planTargets(mustList(t, "linux/amd64,linux/s390x"), base)
	want := `XGO_PLATFORMS="linux/amd64,linux/s390x": base image "registry.example/base:1" has no linux/s390x image (it has: linux/amd64, linux/arm64, linux/arm/v7`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("missing platform: error = %v\nwant %s", err, want)
	}
}

func TestPlanTargetsScratch(t *testing.T) {
	scratch := store.Base{Name: "scratch", Image: empty.Image}
	targets, err := planTargets(mustList(t, ""), scratch)
	if err != nil || len(targets) != 8 {
		t.Fatalf("default platforms on scratch: %d targets, %v", len(targets), err)
	}
	for _, tg := range targets {
		if tg.Base == nil || tg.BaseDigest != (v1.Hash{}) {
			t.Errorf("%s: base %v, digest %v; want the empty image and no digest", tg.Platform, tg.Base, tg.BaseDigest)
		}
	}
	_, err = planTargets(mustList(t, "all"), scratch)
	if err == nil || !strings.Contains(err.Error(), `XGO_PLATFORMS="all" needs a base image index`) {
		t.Errorf("all on scratch: error = %v", err)
	}
}

// The static base, like scratch, serves every platform with one image and no digest.
func TestPlanTargetsStatic(t *testing.T) {
	static, err := store.LoadBase(t.Context(), store.Static, false, nil, store.Cache{})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := planTargets(mustList(t, ""), static)
	if err != nil || len(targets) != 8 {
		t.Fatalf("default platforms on static: %d targets, %v", len(targets), err)
	}
	for _, tg := range targets {
		if tg.Base != static.Image || tg.BaseDigest != (v1.Hash{}) {
			t.Errorf("%s: base %v, digest %v; want the static image and no digest", tg.Platform, tg.Base, tg.BaseDigest)
		}
	}
	_, err = planTargets(mustList(t, "all"), static)
	if err == nil || !strings.Contains(err.Error(), `needs a base image index to take the platforms from, but XGO_BASE is static`) {
		t.Errorf("all on static: error = %v", err)
	}
	if m := commonAnnotations(config{Base: store.Static}); m[annotationBaseName] != "" {
		t.Errorf("static base: base.name annotation %q, want none", m[annotationBaseName])
	}
}

func TestPlanTargetsSingleManifestBase(t *testing.T) {
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", "arm64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	base := store.Base{Name: "registry.example/single:1", Digest: d, Image: img}

	_, err = planTargets(mustList(t, "linux/amd64,linux/arm64"), base)
	want := `XGO_BASE="registry.example/single:1" is a single-platform image, but 2 platforms are requested (linux/amd64,linux/arm64)`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("several platforms: error = %v\nwant %s...", err, want)
	}
	targets, err := planTargets(mustList(t, "linux/arm64"), base)
	if err != nil || len(targets) != 1 || targets[0].BaseDigest != d {
		t.Errorf("its own platform: %v, %v", targets, err)
	}
	targets, err = planTargets(mustList(t, "all"), base)
	if err != nil || len(targets) != 1 || targets[0].Platform.String() != "linux/arm64" {
		t.Errorf("all: %v, %v", targets, err)
	}
	_, err = planTargets(mustList(t, "linux/amd64"), base)
	if err == nil || !strings.Contains(err.Error(), "has no linux/amd64 image (it has: linux/arm64)") {
		t.Errorf("another platform: error = %v", err)
	}
}
