package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
)

// pushByDigest is the push of a release with XGO_PUSH_BY_DIGEST=true, one job of several that
// merge completes: it pushes the platform manifests of the image layout to the configured
// repository by digest, with the blobs the registry lacks, then their attestations, and no
// index and no tag (but those of the referrers tag scheme, on a registry without the
// referrers API); then it writes the digest record (see record.go), in GitHub Actions the
// step output record (its path), prints the summary, and writes the record's path as the
// run's result.
func (r *release) pushByDigest(ctx context.Context) error {
	cfg, e := r.cfg, r.env
	mounts, err := baseLayers(r.targets)
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.Dist, recordName(r.targets))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the previous %s: %w", path, err)
	}
	onDisk, err := oci.OpenLayout(r.layout)
	if err != nil {
		return err
	}
	m, err := onDisk.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading the index of %s: %w", r.layout, err)
	}
	referrers, err := oci.OpenReferrers(r.layout)
	if err != nil {
		return err
	}
	attached, err := referrersBySubject(referrers)
	if err != nil {
		return fmt.Errorf("reading the referrers of %s: %w", r.layout, err)
	}
	if len(m.Manifests) != len(r.targets) {
		return fmt.Errorf("%s: the index lists %d manifests, the release built %d", r.layout, len(m.Manifests), len(r.targets))
	}
	rec := digestRecord{
		Repository:       cfg.repo.Name(),
		Revision:         cfg.Revision,
		Version:          cfg.Version,
		Created:          m.Annotations[annotationCreated],
		Base:             cfg.Base,
		IndexAnnotations: m.Annotations,
	}
	if r.base.Digest.Hex != "" {
		rec.BaseDigest = r.base.Digest.String()
	}
	for i, d := range m.Manifests {
		t := r.targets[i]
		if d.Platform == nil || !d.Platform.Equals(*oci.PlatformOf(t.Platform)) {
			return fmt.Errorf("%s: manifest %d is not for %s", r.layout, i, t.Platform)
		}
		img, err := onDisk.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("reading the %s image of %s: %w", t.Platform, r.layout, err)
		}
		im, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("reading the %s image of %s: %w", t.Platform, r.layout, err)
		}
		rec.Platforms = append(rec.Platforms, pushedManifest{
			Platform: t.Platform.String(), Digest: d.Digest.String(), Size: d.Size, MediaType: string(d.MediaType),
			Annotations: im.Annotations, Build: r.rows[i], Referrers: attached[d.Digest],
		})
	}
	fmt.Fprintf(e.out, "pushing %d manifests by digest to %s: no index, no tag\n", len(m.Manifests), cfg.repo.Name())
	res, err := registry.PushManifests(ctx, cfg.repo, registry.Mountable(onDisk, r.base.Repo, cfg.repo, mounts), r.opts, referrers...)
	if err != nil {
		return withAttestationAdvice(err)
	}
	if err := writeRecord(path, rec); err != nil {
		return err
	}
	if err := r.summary(); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "uploaded %d blobs (%s), skipped %d the registry had (%s)\n",
		res.BlobsUploaded, formatSize(res.BytesUploaded), res.BlobsSkipped, formatSize(res.BytesSkipped))
	for _, p := range rec.Platforms {
		fmt.Fprintf(e.out, "pushed %s as %s@%s\n", p.Platform, rec.Repository, p.Digest)
	}
	fmt.Fprintf(e.out, "wrote %s: merge it with the other jobs' records (go tool mage merge)\n", path)
	if out := e.getenv("GITHUB_OUTPUT"); out != "" {
		var b strings.Builder
		if err := writeOutput(&b, "record", path); err != nil {
			return err
		}
		if err := appendFile(e.dir, "GITHUB_OUTPUT", out, []byte(b.String())); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(e.results(), path)
	return err
}
