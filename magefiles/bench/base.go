package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// baseIndex builds the base both sides of the release comparison put their binaries on: an OCI
// index with one image per platform, each a single small layer holding /etc/xgo-bench-base
// (its platform), the same bytes on every run.
func baseIndex(platforms []v1.Platform) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		content := []byte(p.String() + "\n")
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range []*tar.Header{
			{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, ModTime: time.Unix(0, 0), Format: tar.FormatPAX},
			{Typeflag: tar.TypeReg, Name: "etc/xgo-bench-base", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX},
		} {
			if err := tw.WriteHeader(h); err != nil {
				return nil, err
			}
		}
		tw.Write(content)
		if err := tw.Close(); err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("building the base layer for %s: %w", p, err)
		}
		// Wrapped: tarball's layer descriptor carries empty, non-nil annotations, which would
		// make the in-memory manifest differ from the one pushed.
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), bareLayer{layer})
		if err != nil {
			return nil, err
		}
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
		cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
		cfg.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
		img, err = mutate.ConfigFile(img, cfg)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}},
		})
	}
	return idx, nil
}

// pushBase pushes the base index for platforms to host/base:latest and returns its reference
// by digest.
func pushBase(ctx context.Context, host string, platforms []string) (string, error) {
	var ps []v1.Platform
	for _, s := range platforms {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return "", fmt.Errorf("parsing platform %q: %w", s, err)
		}
		ps = append(ps, *p)
	}
	idx, err := baseIndex(ps)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(host+"/base:latest", name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return host + "/base@" + d.String(), nil
}

// checkIndex fetches ref and checks that it is an index with an image for every platform; it
// returns the index digest.
func checkIndex(ctx context.Context, ref string, platforms []string) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", ref, err)
	}
	idx, err := remote.Index(r, remote.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", ref, err)
	}
	have := map[string]bool{}
	for _, d := range m.Manifests {
		if d.Platform != nil {
			have[d.Platform.String()] = true
		}
	}
	for _, p := range platforms {
		if !have[p] {
			return "", fmt.Errorf("%s has no image for %s", ref, p)
		}
	}
	d, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// bareLayer is a layer whose descriptor is derived from its digest, size and media type only.
type bareLayer struct{ v1.Layer }
