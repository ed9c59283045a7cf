package oci

import (
	"fmt"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/xgo-build/xgo-build/shim"
)

// PlatformImage is one image of an index and the platform it runs on.
type PlatformImage struct {
	Platform shim.Platform
	Image    v1.Image
	// Referrers are the image's attestations, artifacts whose subject is Image; they are
	// not part of the index (NewIndex leaves them out): WriteLayout and the push carry them.
	Referrers []v1.Image
}

// NewIndex returns an OCI image index of images, in the given order, each
// descriptor carrying its full platform (variant included), with annotations
// on the index. Two images for one platform are an error.
func NewIndex(images []PlatformImage, annotations map[string]string) (v1.ImageIndex, error) {
	seen := make(map[shim.Platform]bool, len(images))
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, pi := range images {
		if seen[pi.Platform] {
			return nil, fmt.Errorf("building the index: platform %s appears twice", pi.Platform)
		}
		seen[pi.Platform] = true
		mt, err := pi.Image.MediaType()
		if err != nil {
			return nil, fmt.Errorf("building the index: reading the %s image: %w", pi.Platform, err)
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        imageWithoutArtifactType{pi.Image},
			Descriptor: v1.Descriptor{MediaType: mt, Platform: PlatformOf(pi.Platform)},
		})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	if len(annotations) > 0 {
		idx = mutate.Annotations(idx, maps.Clone(annotations)).(v1.ImageIndex)
	}
	return idx, nil
}

// imageWithoutArtifactType keeps go-containerregistry from writing the config
// media type as "artifactType" into the index descriptor of an ordinary image:
// the field is meant for artifacts, and tools that predate it (skopeo 1.9)
// rewrite such an index, changing its digest, instead of copying it as is.
type imageWithoutArtifactType struct{ v1.Image }

// ArtifactType implements partial.withArtifactType.
func (imageWithoutArtifactType) ArtifactType() (string, error) { return "", nil }

// PlatformOf converts a shim.Platform to an OCI platform: os, architecture and
// the canonical variant ("v7" for arm, "v3" for amd64/v3, "" for a default).
func PlatformOf(p shim.Platform) *v1.Platform {
	return &v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.Variant}
}

// IndexBlobs returns the size of every config and layer blob under idx, by digest.
func IndexBlobs(idx v1.ImageIndex) (map[v1.Hash]int64, error) {
	blobs := map[v1.Hash]int64{}
	var walk func(v1.ImageIndex) error
	walk = func(idx v1.ImageIndex) error {
		m, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range m.Manifests {
			switch {
			case d.MediaType.IsIndex():
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return err
				}
				if err := walk(child); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				img, err := idx.Image(d.Digest)
				if err != nil {
					return err
				}
				im, err := img.Manifest()
				if err != nil {
					return err
				}
				blobs[im.Config.Digest] = im.Config.Size
				for _, l := range im.Layers {
					blobs[l.Digest] = l.Size
				}
			}
		}
		return nil
	}
	if err := walk(idx); err != nil {
		return nil, fmt.Errorf("listing blobs: %w", err)
	}
	return blobs, nil
}
