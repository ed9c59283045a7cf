package oci

import (
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testImages builds one image per platform on a random base, each with its own binary.
func testImages(t testing.TB, platforms ...string) []PlatformImage {
	t.Helper()
	base := randomBase(t)
	var out []PlatformImage
	for _, s := range platforms {
		p := mustPlatform(t, s)
		layer := mustLayer(t, writeBinary(t, "binary for "+s), "app", created)
		img, err := NewImage(base, layer, ImageSpec{Platform: p, Entrypoint: []string{"/app"}, Created: created})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, PlatformImage{Platform: p, Image: img})
	}
	return out
}

func TestBuildIndex(t *testing.T) {
	images := testImages(t, "linux/amd64", "linux/arm/v7", "linux/arm64/v8.2", "linux/amd64/v3", "linux/s390x")
	ann := map[string]string{"org.opencontainers.image.version": "1.2.3"}
	idx, err := NewIndex(images, ann)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex {
		t.Errorf("media type %s, want %s", m.MediaType, types.OCIImageIndex)
	}
	if !reflect.DeepEqual(m.Annotations, ann) {
		t.Errorf("annotations %v, want %v", m.Annotations, ann)
	}
	want := []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm", Variant: "v7"},
		{OS: "linux", Architecture: "arm64", Variant: "v8.2"},
		{OS: "linux", Architecture: "amd64", Variant: "v3"},
		{OS: "linux", Architecture: "s390x"},
	}
	if len(m.Manifests) != len(want) {
		t.Fatalf("%d manifests, want %d", len(m.Manifests), len(want))
	}
	for i, d := range m.Manifests {
		if d.Platform == nil || !reflect.DeepEqual(*d.Platform, want[i]) {
			t.Errorf("manifest %d platform %+v, want %+v", i, d.Platform, want[i])
		}
		if d.MediaType != types.OCIManifestSchema1 || d.ArtifactType != "" {
			t.Errorf("manifest %d media type %s, artifact type %q; want an OCI manifest and no artifact type", i, d.MediaType, d.ArtifactType)
		}
		if dg, _ := images[i].Image.Digest(); d.Digest != dg {
			t.Errorf("manifest %d digest %s, want %s (the given order)", i, d.Digest, dg)
		}
		// The config of each image agrees with its descriptor.
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if got := cf.Platform(); got == nil || got.OS != want[i].OS || got.Architecture != want[i].Architecture || got.Variant != want[i].Variant {
			t.Errorf("manifest %d config platform %+v, want %+v", i, got, want[i])
		}
	}
}

func TestBuildIndexRejectsDuplicatePlatforms(t *testing.T) {
	images := testImages(t, "linux/arm64", "linux/arm64/v8")
	_, err := NewIndex(images, nil)
	if err == nil || !strings.Contains(err.Error(), "linux/arm64 appears twice") {
		t.Fatalf("err = %v, want a duplicate platform error", err)
	}
}

func TestOCIPlatform(t *testing.T) {
	for in, want := range map[string]v1.Platform{
		"linux/amd64":       {OS: "linux", Architecture: "amd64"},
		"linux/amd64/v1":    {OS: "linux", Architecture: "amd64"},
		"linux/arm":         {OS: "linux", Architecture: "arm", Variant: "v7"},
		"linux/armhf":       {OS: "linux", Architecture: "arm", Variant: "v7"},
		"linux/arm/v6":      {OS: "linux", Architecture: "arm", Variant: "v6"},
		"linux/aarch64/v8":  {OS: "linux", Architecture: "arm64"},
		"linux/arm64/v9":    {OS: "linux", Architecture: "arm64", Variant: "v9.0"},
		"wasi/wasm":         {OS: "wasip1", Architecture: "wasm"},
		"linux/386/sse2":    {OS: "linux", Architecture: "386"},
		"windows/x86_64/v2": {OS: "windows", Architecture: "amd64", Variant: "v2"},
	} {
		if got := PlatformOf(mustPlatform(t, in)); !reflect.DeepEqual(*got, want) {
			t.Errorf("ociPlatform(%s) = %+v, want %+v", in, *got, want)
		}
	}
}
