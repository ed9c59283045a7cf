// Package attest makes the attestations of the release's platform images and the OCI
// artifacts that carry them: an SPDX 2.3 SBOM of the image's binary, made from the build
// information go stamped into it (SBOM), a SLSA provenance v1 in-toto statement of how the
// image was built (Provenance), and for each an OCI 1.1 image manifest with an artifactType,
// the empty config, one layer holding the document and the platform image manifest as its
// subject, so that registries list it as a referrer of the image (Referrers).
//
// Everything is reproducible: the documents hold no wall-clock time and nothing random (their
// times are the release's, SOURCE_DATE_EPOCH or the commit time), and the JSON is written in
// one canonical form, so the same commit built twice gives the same bytes and the same
// digests.
package attest

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xgo-build/xgo-build/shim"
)

// The artifact types and annotations of the attestations.
const (
	// SBOMType is the artifactType of the SBOM's manifest and the media type of its layer.
	SBOMType = "application/spdx+json"
	// ProvenanceType is the artifactType of the provenance's manifest and the media type of
	// its layer, an in-toto statement.
	ProvenanceType = "application/vnd.in-toto+json"
	// PredicateTypeAnnotation names the predicate of an in-toto statement on its manifest.
	PredicateTypeAnnotation = "in-toto.io/predicate-type"
	// SLSAProvenance is the predicate type of the provenance.
	SLSAProvenance = "https://slsa.dev/provenance/v1"
	// BuildType is the provenance's buildDefinition.buildType: a release of xgo-build, whose
	// external parameters are the platform, the main package, the go build flags, the
	// environment of the build and the base.
	BuildType = "https://github.com/xgo-build/xgo-build/release/v1"
)

// Build is one platform's build, as the attestations describe it.
type Build struct {
	Binary   string        // path of the built binary
	File     string        // its path in the image, such as /app
	Platform shim.Platform // the platform it was built for
	Main     string        // import path of the main package
	Flags    []string      // the go build flags: -trimpath and XGO_FLAGS, without -o
	Env      []string      // KEY=value: the variables of the build's environment that shape it
}

// Source is what the release was built from.
type Source struct {
	URL      string // https URL of the repository, "" when unknown
	Revision string // the commit, "" outside git
	Version  string // the git tag on the commit, "" when there is none
}

// Spec is what Referrers needs of one platform image.
type Spec struct {
	// Subject is the platform image manifest the attestations are about.
	Subject v1.Descriptor
	// Name is the subject's name in the provenance: the repository the image goes to, or
	// the image's name when there is none.
	Name       string
	Build      Build
	Source     Source
	Base       string    // the base as given: scratch, static or a reference
	BaseDigest v1.Hash   // the digest of the base's manifest for the platform; zero for none
	Created    time.Time // the release's time (SOURCE_DATE_EPOCH or the commit time)
	// Tool is the version of xgo-build that makes the release (see ToolVersion).
	Tool string
	// SBOM and Provenance say which attestations to make.
	SBOM, Provenance bool
}

// Referrers returns the attestations of spec's image as OCI artifacts whose subject is the
// image: the SBOM, then the provenance, each when spec asks for it.
func Referrers(spec Spec) ([]v1.Image, error) {
	subject := v1.Descriptor{MediaType: spec.Subject.MediaType, Size: spec.Subject.Size, Digest: spec.Subject.Digest}
	if !spec.SBOM && !spec.Provenance {
		return nil, nil
	}
	info, err := ReadBinary(spec.Build.Binary)
	if err != nil {
		return nil, fmt.Errorf("making the %s attestations: %w", spec.Build.Platform, err)
	}
	var refs []v1.Image
	if spec.SBOM {
		doc, err := SBOM(info, spec.Build, spec.Created, spec.Tool)
		if err != nil {
			return nil, fmt.Errorf("making the %s SBOM: %w", spec.Build.Platform, err)
		}
		img, err := Artifact(subject, SBOMType, doc, "sbom.spdx.json", createdAnnotation(spec.Created))
		if err != nil {
			return nil, fmt.Errorf("making the %s SBOM: %w", spec.Build.Platform, err)
		}
		refs = append(refs, img)
	}
	if spec.Provenance {
		doc, err := Provenance(spec, info)
		if err != nil {
			return nil, fmt.Errorf("making the %s provenance: %w", spec.Build.Platform, err)
		}
		annotations := createdAnnotation(spec.Created)
		annotations[PredicateTypeAnnotation] = SLSAProvenance
		img, err := Artifact(subject, ProvenanceType, doc, "provenance.intoto.json", annotations)
		if err != nil {
			return nil, fmt.Errorf("making the %s provenance: %w", spec.Build.Platform, err)
		}
		refs = append(refs, img)
	}
	return refs, nil
}

// createdAnnotation is the annotations of an attestation's manifest: its creation time, the
// release's.
func createdAnnotation(created time.Time) map[string]string {
	return map[string]string{"org.opencontainers.image.created": created.UTC().Format(time.RFC3339)}
}
