package registry

import (
	mrand "math/rand"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testIndex is an OCI index of one image per platform ("os/arch[/variant]") on one base of
// two random layers: each image has the base's layers, one layer of its own and its own
// config, so an index of n platforms has 2 + 2n blobs.
func testIndex(t testing.TB, platforms ...string) v1.ImageIndex {
	t.Helper()
	return seededIndex(t, 0, 512, 256, platforms...)
}

// seededIndex is testIndex with base layers of baseSize bytes and image layers of
// layerSize bytes, from seed when it is not 0 (the same seed gives the same digest), else
// random; the index carries the version annotation 1.0.0.
func seededIndex(t testing.TB, seed int64, baseSize, layerSize int64, platforms ...string) v1.ImageIndex {
	t.Helper()
	source := func(n int64) []random.Option {
		if seed == 0 {
			return nil
		}
		return []random.Option{random.WithSource(mrand.NewSource(seed*1000 + n))}
	}
	layers := int64(2)
	if seed != 0 {
		layers = 1
	}
	base, err := random.Image(baseSize, layers, source(0)...)
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	for i, s := range platforms {
		parts := strings.Split(s, "/")
		p := v1.Platform{OS: parts[0], Architecture: parts[1]}
		if len(parts) > 2 {
			p.Variant = parts[2]
		}
		layer, err := random.Layer(layerSize, types.DockerLayer, source(int64(i)+1)...)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(base, layer)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return mutate.Annotations(idx, map[string]string{"org.opencontainers.image.version": "1.0.0"}).(v1.ImageIndex)
}
