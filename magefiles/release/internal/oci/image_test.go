package oci

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// randomBase returns a docker-typed random image with two layers and a config
// that sets Env, User, WorkingDir, Cmd and history.
func randomBase(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin", "BASE=1"}
	cf.Config.User = "65532:65532"
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.History = []v1.History{{CreatedBy: "base layer 1"}, {CreatedBy: "base layer 2"}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestBuildImage(t *testing.T) {
	base := randomBase(t)
	layer := mustLayer(t, writeBinary(t, "binary"), "app", created)
	spec := ImageSpec{
		Platform:   mustPlatform(t, "linux/arm/v7"),
		Entrypoint: []string{"/app"},
		Created:    created,
		Annotations: map[string]string{
			"org.opencontainers.image.revision":  "abc123",
			"org.opencontainers.image.base.name": "example/base:1",
		},
	}
	img, err := NewImage(base, layer, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s, config %s; want OCI", m.MediaType, m.Config.MediaType)
	}
	baseM, _ := base.Manifest()
	if len(m.Layers) != len(baseM.Layers)+1 {
		t.Fatalf("%d layers, want %d", len(m.Layers), len(baseM.Layers)+1)
	}
	for i, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %d media type %s, want %s", i, l.MediaType, types.OCILayer)
		}
		if i < len(baseM.Layers) && l.Digest != baseM.Layers[i].Digest {
			t.Errorf("base layer %d digest %s, want %s (same bytes)", i, l.Digest, baseM.Layers[i].Digest)
		}
	}
	if d := m.Layers[len(m.Layers)-1].Digest; d != digestOf(t, layer) {
		t.Errorf("top layer %s, want the binary layer %s", d, digestOf(t, layer))
	}
	if !reflect.DeepEqual(m.Annotations, spec.Annotations) {
		t.Errorf("annotations %v, want %v", m.Annotations, spec.Annotations)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "arm" || cf.Variant != "v7" {
		t.Errorf("config platform %s/%s/%s, want linux/arm/v7", cf.OS, cf.Architecture, cf.Variant)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created %v, want %v", cf.Created, created)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/app"}) || cf.Config.Cmd != nil {
		t.Errorf("entrypoint %q cmd %q, want [/app] and no cmd", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if !reflect.DeepEqual(cf.Config.Env, []string{"PATH=/usr/local/bin:/usr/bin", "BASE=1"}) ||
		cf.Config.User != "65532:65532" || cf.Config.WorkingDir != "/home/nonroot" {
		t.Errorf("base env/user/workdir lost: %q %q %q", cf.Config.Env, cf.Config.User, cf.Config.WorkingDir)
	}
	if len(cf.History) != 3 || cf.History[2].CreatedBy != "xgo-build" || !cf.History[2].Created.Time.Equal(created) {
		t.Errorf("history %+v, want the base's two entries and one of xgo-build", cf.History)
	}
	if len(cf.RootFS.DiffIDs) != 3 {
		t.Errorf("%d diff IDs, want 3", len(cf.RootFS.DiffIDs))
	}
	bcf, _ := base.ConfigFile()
	if bcf.Architecture == "arm" || bcf.Config.Cmd == nil {
		t.Error("buildImage changed the base's config")
	}
}

func TestBuildImageScratch(t *testing.T) {
	layer := mustLayer(t, writeBinary(t, "binary"), "app", created)
	img, err := NewImage(empty.Image, layer, ImageSpec{
		Platform:   mustPlatform(t, "linux/amd64/v3"),
		Entrypoint: []string{"/app"},
		Created:    created,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	cf, _ := img.ConfigFile()
	if cf.OS != "linux" || cf.Architecture != "amd64" || cf.Variant != "v3" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config %s/%s/%s with %d layers, want linux/amd64/v3 with 1", cf.OS, cf.Architecture, cf.Variant, len(cf.RootFS.DiffIDs))
	}
	m, _ := img.Manifest()
	if m.Annotations != nil {
		t.Errorf("annotations %v, want none", m.Annotations)
	}
}

func TestBuildImageIsReproducible(t *testing.T) {
	base := randomBase(t)
	p := writeBinary(t, "binary")
	spec := ImageSpec{Platform: mustPlatform(t, "linux/arm64"), Entrypoint: []string{"/app"}, Created: created,
		Annotations: map[string]string{"a": "1", "b": "2"}}
	var digests []v1.Hash
	for range 2 {
		img, err := NewImage(base, mustLayer(t, p, "app", created), spec)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Fatalf("same inputs, digests %s and %s", digests[0], digests[1])
	}
}
