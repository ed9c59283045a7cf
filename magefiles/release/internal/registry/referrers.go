package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
)

// Referrers (OCI 1.1) are image manifests with a subject, here the attestations of a
// release's platform manifests. A registry with the referrers API lists them by their
// subject itself; for one without it, go-containerregistry keeps the list in an index tagged
// sha256-<subject hex> (the referrers tag scheme), read, changed and written back as each
// referrer is pushed. remote.Referrers reads either.

// ReferrerError is the failure to push a referrer of one of the index's image manifests:
// nothing after it (the index, the tags) was pushed.
type ReferrerError struct {
	Subject      name.Digest // the manifest the referrer is about
	Referrer     v1.Hash
	ArtifactType string
	Err          error
}

func (e *ReferrerError) Error() string {
	return fmt.Sprintf("pushing the %s referrer %s of %s: %v", e.ArtifactType, e.Referrer, e.Subject, e.Err)
}

func (e *ReferrerError) Unwrap() error { return e.Err }

// pushReferrers pushes to repo each referrer the registry does not list yet for its subject:
// its blobs (those the registry lacks), then its manifest by digest, which go-containerregistry
// follows, on a registry without the referrers API, with the update of the tag scheme's index.
// The referrers of one subject go one after another (that index is read and written back),
// those of different subjects side by side. A referrer the registry lists already sends
// nothing, so a push made again sends no blob and no manifest.
func pushReferrers(ctx context.Context, p *remote.Pusher, repo name.Repository, referrers []v1.Image, opts []remote.Option) error {
	var subjects []v1.Hash
	bySubject := map[v1.Hash][]v1.Image{}
	for _, ref := range referrers {
		m, err := ref.Manifest()
		if err != nil {
			return fmt.Errorf("pushing to %s: reading a referrer: %w", repo, err)
		}
		if m.Subject == nil {
			return fmt.Errorf("pushing to %s: a referrer without a subject", repo)
		}
		if _, ok := bySubject[m.Subject.Digest]; !ok {
			subjects = append(subjects, m.Subject.Digest)
		}
		bySubject[m.Subject.Digest] = append(bySubject[m.Subject.Digest], ref)
	}
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return fmt.Errorf("pushing to %s: %w", repo, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	listOpts := append(opts[:len(opts):len(opts)], remote.Reuse(puller), remote.WithContext(gctx))
	for _, s := range subjects {
		g.Go(func() error {
			return pushReferrersOf(gctx, p, repo.Digest(s.String()), bySubject[s], listOpts)
		})
	}
	return g.Wait()
}

// pushReferrersOf pushes the referrers of subject that the registry does not list.
func pushReferrersOf(ctx context.Context, p *remote.Pusher, subject name.Digest, referrers []v1.Image, opts []remote.Option) error {
	repo := subject.Context()
	listed, err := remote.Referrers(subject, opts...)
	if err != nil {
		return fmt.Errorf("listing the referrers of %s: %w", subject, Explain(err, repo.RegistryStr()))
	}
	lm, err := listed.IndexManifest()
	if err != nil {
		return fmt.Errorf("listing the referrers of %s: %w", subject, err)
	}
	have := map[v1.Hash]bool{}
	for _, d := range lm.Manifests {
		have[d.Digest] = true
	}
	for _, ref := range referrers {
		d, err := ref.Digest()
		if err != nil {
			return fmt.Errorf("pushing a referrer of %s: %w", subject, err)
		}
		if have[d] {
			continue
		}
		if err := pushReferrer(ctx, p, repo, d, ref); err != nil {
			at, _ := partial.ArtifactType(ref)
			return &ReferrerError{Subject: subject, Referrer: d, ArtifactType: at, Err: Explain(err, repo.RegistryStr())}
		}
	}
	return nil
}

// pushReferrer uploads the blobs of ref the registry lacks and puts its manifest, digest d:
// put, not pushed only when missing, so that a manifest left by an earlier push cut short,
// before the tag scheme's index listed it, is listed now.
func pushReferrer(ctx context.Context, p *remote.Pusher, repo name.Repository, d v1.Hash, ref v1.Image) error {
	layers, err := ref.Layers()
	if err != nil {
		return err
	}
	cfg, err := partial.ConfigLayer(ref)
	if err != nil {
		return err
	}
	for _, l := range append(layers, cfg) {
		if err := p.Upload(ctx, repo, l); err != nil {
			return err
		}
	}
	return p.Put(ctx, repo.Digest(d.String()), ref)
}

// pushedBlobs returns the size of every config and layer blob a push of idx and referrers
// sends or skips, by digest.
func pushedBlobs(idx v1.ImageIndex, referrers []v1.Image) (map[v1.Hash]int64, error) {
	blobs, err := oci.IndexBlobs(idx)
	if err != nil {
		return nil, err
	}
	for _, ref := range referrers {
		m, err := ref.Manifest()
		if err != nil {
			return nil, fmt.Errorf("listing blobs: %w", err)
		}
		blobs[m.Config.Digest] = m.Config.Size
		for _, l := range m.Layers {
			blobs[l.Digest] = l.Size
		}
	}
	return blobs, nil
}
