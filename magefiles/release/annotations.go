package release

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
)

// The OCI pre-defined annotation keys the release sets.
const (
	annotationCreated    = "org.opencontainers.image.created"
	annotationSource     = "org.opencontainers.image.source"
	annotationRevision   = "org.opencontainers.image.revision"
	annotationVersion    = "org.opencontainers.image.version"
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

// commonAnnotations are the annotations of the index and of every image.
func commonAnnotations(cfg config) map[string]string {
	m := map[string]string{annotationCreated: cfg.Created.Format(time.RFC3339)}
	for k, v := range map[string]string{annotationSource: cfg.Source, annotationRevision: cfg.Revision, annotationVersion: cfg.Version} {
		if v != "" {
			m[k] = v
		}
	}
	// scratch and static are made here: as a base.name, either would read as the reference of
	// an image on Docker Hub (docker.io/library/static), which it is not.
	if !store.Builtin(cfg.Base) {
		m[annotationBaseName] = cfg.Base
	}
	return m
}

// imageAnnotations are a platform image's annotations: base.digest is the digest of the base
// manifest the image was built on.
func imageAnnotations(cfg config, t target) map[string]string {
	m := commonAnnotations(cfg)
	if t.BaseDigest != (v1.Hash{}) {
		m[annotationBaseDigest] = t.BaseDigest.String()
	}
	return m
}

// indexAnnotations are the index's annotations: base.digest is the digest of the base index
// (or manifest) XGO_BASE resolved to; XGO_ANNOTATIONS' index: ones win over the release's.
func indexAnnotations(cfg config, base store.Base) map[string]string {
	m := commonAnnotations(cfg)
	if base.Digest != (v1.Hash{}) {
		m[annotationBaseDigest] = base.Digest.String()
	}
	return withOver(m, cfg.Image.Annotations.Index)
}
