package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushResult is what PushIndex did.
type PushResult struct {
	Digest        v1.Hash  // the index digest
	Tags          []string // the tags that now point at the index
	BlobsUploaded int      // layers and configs sent
	BlobsSkipped  int      // layers and configs the registry already had
	BytesUploaded int64
	BytesSkipped  int64
}

// PushIndex pushes idx to repo and then tags it: first every blob the registry
// lacks (in parallel, up to the jobs of opts) and every image manifest, by
// digest; then the referrers of those manifests (attestations, see
// referrers.go), when there are any; then the index, by digest; and only then each tag, so that no tag
// ever points at an index whose parts are not all present. A failure before the
// tags leaves no tag changed. Pushing an index the registry already has, with
// the referrers it lists, sends no blob.
func PushIndex(ctx context.Context, repo name.Repository, idx v1.ImageIndex, tags []string, opts []remote.Option, referrers ...v1.Image) (PushResult, error) {
	digest, err := idx.Digest()
	if err != nil {
		return PushResult{}, fmt.Errorf("pushing to %s: %w", repo, err)
	}
	res := PushResult{Digest: digest}
	ref := repo.Digest(digest.String())
	refs := make([]name.Tag, len(tags))
	for i, t := range tags {
		tag, err := name.NewTag(repo.Name()+":"+t, name.StrictValidation)
		if err != nil {
			return res, fmt.Errorf("pushing %s: invalid tag %q: %w", ref, t, err)
		}
		refs[i] = repo.Tag(tag.TagStr())
	}
	blobs, err := pushedBlobs(idx, referrers)
	if err != nil {
		return res, fmt.Errorf("pushing %s: %w", ref, err)
	}

	tally := &uploadTally{digests: map[string]bool{}}
	ctx = context.WithValue(ctx, tallyKey{}, tally)
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	p, err := remote.NewPusher(opts...)
	if err != nil {
		return res, fmt.Errorf("pushing %s: %w", ref, err)
	}
	if len(referrers) > 0 {
		// The manifests first, as the index push below would push them, then their
		// referrers: the push of the index then finds its children done.
		err = pushImages(repo, idx, append(opts[:len(opts):len(opts)], remote.Reuse(p)))
		if err == nil {
			err = pushReferrers(ctx, p, repo, referrers, opts)
		}
		if err != nil {
			res.count(blobs, tally)
			return res, err
		}
	}
	// Push writes the children (blobs, then each image manifest) before the
	// index itself, and skips them all when the registry has the index.
	err = p.Push(ctx, ref, idx)
	res.count(blobs, tally)
	if err != nil {
		return res, fmt.Errorf("pushing %s: %w", ref, Explain(err, repo.RegistryStr()))
	}
	for i, tag := range refs {
		if err := p.Push(ctx, tag, idx); err != nil {
			untried := make([]string, 0, len(refs)-i-1)
			for _, t := range refs[i+1:] {
				untried = append(untried, t.TagStr())
			}
			return res, &TagError{Index: ref, Pushed: slices.Clone(res.Tags), Tag: tag.TagStr(), Untried: untried,
				Err: Explain(err, repo.RegistryStr())}
		}
		res.Tags = append(res.Tags, tag.TagStr())
	}
	return res, nil
}

// pushImages pushes the image manifests of idx by digest, with their blobs, up to the jobs of
// opts at a time, as go-containerregistry pushes the children of an index.
func pushImages(repo name.Repository, idx v1.ImageIndex, opts []remote.Option) error {
	m, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("pushing to %s: %w", repo, err)
	}
	todo := make(map[name.Reference]remote.Taggable, len(m.Manifests))
	for _, d := range m.Manifests {
		ref := repo.Digest(d.Digest.String())
		if !d.MediaType.IsImage() {
			return fmt.Errorf("pushing %s: a %s, not an image manifest", ref, d.MediaType)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		todo[ref] = img
	}
	if err := remote.MultiWrite(todo, opts...); err != nil {
		return fmt.Errorf("pushing the image manifests to %s: %w", repo, Explain(err, repo.RegistryStr()))
	}
	return nil
}

// TagError is the failure of PushIndex to push a tag, once the index and everything it
// holds are in the registry: the tags before it point at the index; the failed one may or
// may not (its answer may be what was lost); the ones after it were not tried.
type TagError struct {
	Index   name.Digest // the index, pushed
	Pushed  []string    // the tags pushed before the failure, in order
	Tag     string      // the tag whose push failed
	Untried []string    // the tags after it
	Err     error
}

func (e *TagError) Error() string {
	msg := fmt.Sprintf("tagging %s as %s: %v", e.Index, e.Tag, e.Err)
	if len(e.Pushed) > 0 {
		msg += "; tags pushed before it: " + strings.Join(e.Pushed, ", ")
	}
	return msg
}

func (e *TagError) Unwrap() error { return e.Err }

// TaggedAt reports whether tag points at digest, asking the registry once (a HEAD request)
// with opts and ctx.
func TaggedAt(ctx context.Context, tag name.Tag, digest v1.Hash, opts []remote.Option) (bool, error) {
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	desc, err := remote.Head(tag, opts...)
	if err != nil {
		if IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading tag %s: %w", tag, Explain(err, tag.RegistryStr()))
	}
	return desc.Digest == digest, nil
}

// count splits blobs into those this push uploaded and those it skipped.
func (r *PushResult) count(blobs map[v1.Hash]int64, t *uploadTally) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, size := range blobs {
		if t.digests[h.String()] {
			r.BlobsUploaded++
			r.BytesUploaded += size
		} else {
			r.BlobsSkipped++
			r.BytesSkipped += size
		}
	}
}

// uploadTally collects the digests of the blob uploads a push completed; the
// transport of Options records them through the request context.
type uploadTally struct {
	mu      sync.Mutex
	digests map[string]bool
}

type tallyKey struct{}

// recordUpload notes a completed upload of the blob digest in ctx's tally, if any.
func recordUpload(ctx context.Context, digest string) {
	t, ok := ctx.Value(tallyKey{}).(*uploadTally)
	if !ok || digest == "" {
		return
	}
	t.mu.Lock()
	t.digests[digest] = true
	t.mu.Unlock()
}

// Mountable returns idx, to be pushed to the repository to, with every layer whose digest is
// in layers made a remote.MountableLayer of the repository from when both are in one
// registry, so that the push mounts those blobs instead of uploading them. For another
// registry (or no from) it returns idx: blobs cannot be mounted across registries.
func Mountable(idx v1.ImageIndex, from, to name.Repository, layers map[v1.Hash]bool) v1.ImageIndex {
	if len(layers) == 0 || from.RepositoryStr() == "" || from.RegistryStr() != to.RegistryStr() {
		return idx
	}
	return mountIndex{imageIndex: idx, from: from, layers: layers}
}

// imageIndex names v1.ImageIndex where it is embedded beside an ImageIndex method.
type imageIndex = v1.ImageIndex

// mountIndex is an index whose images' layers may be mounted (see Mountable).
type mountIndex struct {
	imageIndex
	from   name.Repository
	layers map[v1.Hash]bool
}

// Image implements v1.ImageIndex.
func (x mountIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.imageIndex.Image(h)
	if err != nil {
		return nil, err
	}
	return mountImage{Image: img, index: x}, nil
}

// ImageIndex implements v1.ImageIndex.
func (x mountIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	child, err := x.imageIndex.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return mountIndex{imageIndex: child, from: x.from, layers: x.layers}, nil
}

// mountImage is an image whose layers may be mounted (see Mountable).
type mountImage struct {
	v1.Image
	index mountIndex
}

// Layers implements v1.Image.
func (i mountImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for k, l := range ls {
		out[k] = l
		if d, err := l.Digest(); err == nil && i.index.layers[d] {
			out[k] = &remote.MountableLayer{Layer: l, Reference: i.index.from.Digest(d.String())}
		}
	}
	return out, nil
}
