package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushManifests pushes the image manifests of idx to repo by digest, each with the blobs the
// registry lacks (in parallel, up to the jobs of opts), then the referrers of those manifests
// (as PushIndex does), and neither idx itself nor any tag: the part of a release that one job
// of several does, for an index pushed later (see PushIndex, which then finds every manifest
// there). The result's Digest is idx's, and its Tags are empty.
func PushManifests(ctx context.Context, repo name.Repository, idx v1.ImageIndex, opts []remote.Option, referrers ...v1.Image) (PushResult, error) {
	digest, err := idx.Digest()
	if err != nil {
		return PushResult{}, fmt.Errorf("pushing to %s: %w", repo, err)
	}
	res := PushResult{Digest: digest}
	m, err := idx.IndexManifest()
	if err != nil {
		return res, fmt.Errorf("pushing to %s: %w", repo, err)
	}
	blobs, err := pushedBlobs(idx, referrers)
	if err != nil {
		return res, fmt.Errorf("pushing to %s: %w", repo, err)
	}
	tally := &uploadTally{digests: map[string]bool{}}
	ctx = context.WithValue(ctx, tallyKey{}, tally)
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	p, err := remote.NewPusher(opts...)
	if err != nil {
		return res, fmt.Errorf("pushing to %s: %w", repo, err)
	}
	err = pushEach(ctx, p, repo, idx, m.Manifests)
	if err == nil && len(referrers) > 0 {
		err = pushReferrers(ctx, p, repo, referrers, opts)
	}
	res.count(blobs, tally)
	return res, err
}

// pushEach pushes the image manifests descs of idx, one after another, by digest.
func pushEach(ctx context.Context, p *remote.Pusher, repo name.Repository, idx v1.ImageIndex, descs []v1.Descriptor) error {
	for _, d := range descs {
		ref := repo.Digest(d.Digest.String())
		if !d.MediaType.IsImage() {
			return fmt.Errorf("pushing %s: a %s, not an image manifest", ref, d.MediaType)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		if err := p.Push(ctx, ref, img); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, Explain(err, repo.RegistryStr()))
		}
	}
	return nil
}
