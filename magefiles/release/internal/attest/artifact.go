package attest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyConfig is the content of the OCI empty descriptor, the config of an artifact.
var emptyConfig = []byte("{}")

// titleAnnotation names a layer's file, as oras pull names the file it writes.
const titleAnnotation = "org.opencontainers.image.title"

// Artifact returns the OCI 1.1 artifact manifest of doc: an image manifest with artifactType,
// the empty config (application/vnd.oci.empty.v1+json, "{}"), one layer holding doc (of media
// type artifactType, titled title), the subject and the annotations, as the referrers API
// lists it.
func Artifact(subject v1.Descriptor, artifactType string, doc []byte, title string, annotations map[string]string) (v1.Image, error) {
	layer := static.NewLayer(doc, types.MediaType(artifactType))
	ld, err := partial.Descriptor(layer)
	if err != nil {
		return nil, err
	}
	ld.Annotations = map[string]string{titleAnnotation: title}
	cfgDigest, cfgSize, err := v1.SHA256(bytes.NewReader(emptyConfig))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        v1.Descriptor{MediaType: types.OCIEmptyJSON, Size: cfgSize, Digest: cfgDigest, Data: emptyConfig},
		Layers:        []v1.Descriptor{*ld},
		Subject:       &subject,
		Annotations:   maps.Clone(annotations),
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("writing the artifact manifest: %w", err)
	}
	return partial.CompressedToImage(&artifact{manifest: raw, layer: layer, layerDigest: ld.Digest, config: cfgDigest})
}

// artifact is the core of an artifact image: its manifest, its one layer and the empty config.
type artifact struct {
	manifest    []byte
	layer       v1.Layer
	layerDigest v1.Hash
	config      v1.Hash
}

// RawConfigFile implements partial.CompressedImageCore.
func (a *artifact) RawConfigFile() ([]byte, error) { return emptyConfig, nil }

// MediaType implements partial.CompressedImageCore.
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// RawManifest implements partial.CompressedImageCore.
func (a *artifact) RawManifest() ([]byte, error) { return a.manifest, nil }

// LayerByDigest implements partial.CompressedImageCore.
func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	switch h {
	case a.layerDigest:
		return a.layer, nil
	case a.config:
		return static.NewLayer(emptyConfig, types.OCIEmptyJSON), nil
	}
	return nil, fmt.Errorf("the artifact has no blob %s", h)
}
