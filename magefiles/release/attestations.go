package release

import (
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/attest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
)

// Each platform image gets its attestations as OCI referrers, made beside the image by the
// assembler (see package attest): an SPDX SBOM of its binary (XGO_SBOM) and a SLSA provenance
// of its build (XGO_PROVENANCE). They go into dist/oci after the index, are pushed after the
// image manifests and before the index, and release.json names them per platform.

// parseSwitch parses the value of XGO_SBOM or XGO_PROVENANCE: on or off (or true or false),
// in any case.
func parseSwitch(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, errors.New("must be on or off")
}

// attestations returns the referrers of img, the image of target t made from the binary of
// r, that cfg asks for: the SBOM, then the provenance.
func attestations(cfg config, t target, r buildResult, img v1.Image) ([]v1.Image, error) {
	if !cfg.SBOM && !cfg.Provenance {
		return nil, nil
	}
	subject, err := describe(img)
	if err != nil {
		return nil, fmt.Errorf("making the %s attestations: %w", t.Platform, err)
	}
	name := strings.ToLower(cfg.Name)
	if cfg.Repo != "" {
		name = cfg.repo.Name()
	}
	return attest.Referrers(attest.Spec{
		Subject: subject,
		Name:    name,
		Build: attest.Build{
			Binary:   r.Path,
			File:     "/" + cfg.Name + exeSuffix(t.Platform.OS),
			Platform: t.Platform,
			Main:     cfg.Main,
			Flags:    r.Flags,
			Env:      r.Env,
		},
		Source:     attest.Source{URL: cfg.Source, Revision: cfg.Revision, Version: cfg.Version},
		Base:       cfg.Base,
		BaseDigest: t.BaseDigest,
		Created:    cfg.Created,
		Tool:       attest.ToolVersion(),
		SBOM:       cfg.SBOM,
		Provenance: cfg.Provenance,
	})
}

// describe returns the descriptor of img: media type, size and digest.
func describe(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: size, Digest: d}, nil
}

// attestationDigests returns the manifest digests of the SBOM and the provenance of im, ""
// for one it has not.
func attestationDigests(im oci.PlatformImage) (sbom, provenance string, err error) {
	for _, ref := range im.Referrers {
		m, err := ref.Manifest()
		if err != nil {
			return "", "", fmt.Errorf("reading the %s attestations: %w", im.Platform, err)
		}
		d, err := ref.Digest()
		if err != nil {
			return "", "", fmt.Errorf("reading the %s attestations: %w", im.Platform, err)
		}
		switch m.ArtifactType {
		case attest.SBOMType:
			sbom = d.String()
		case attest.ProvenanceType:
			provenance = d.String()
		}
	}
	return sbom, provenance, nil
}

// referrersOf returns the referrers of every image, in the order of the images.
func referrersOf(images []oci.PlatformImage) []v1.Image {
	var refs []v1.Image
	for _, im := range images {
		refs = append(refs, im.Referrers...)
	}
	return refs
}

// withAttestationAdvice adds to the failure of a push to push an attestation how to release
// without them, for a registry that refuses OCI artifacts.
func withAttestationAdvice(err error) error {
	var refErr *registry.ReferrerError
	if !errors.As(err, &refErr) {
		return err
	}
	return fmt.Errorf("%w (nothing after it was pushed: not the index, not a tag; a registry that refuses OCI artifacts takes the release without them, with XGO_SBOM=off and XGO_PROVENANCE=off)", err)
}
