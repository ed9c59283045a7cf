package bench

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestBaseIndex(t *testing.T) {
	var ps []v1.Platform
	for _, s := range Platforms {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, *p)
	}
	idx, err := baseIndex(ps)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("base index is not valid: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || len(m.Manifests) != len(Platforms) {
		t.Fatalf("index is %s with %d manifests, want an OCI index with %d", m.MediaType, len(m.Manifests), len(Platforms))
	}
	for i, d := range m.Manifests {
		if d.Platform == nil || d.Platform.String() != Platforms[i] {
			t.Errorf("manifest %d has platform %v, want %s", i, d.Platform, Platforms[i])
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Platform().String(); got != Platforms[i] {
			t.Errorf("image %d config says %s, want %s", i, got, Platforms[i])
		}
	}
	again, err := baseIndex(ps)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("base index digest changed between builds: %s, then %s", d1, d2)
	}
}
