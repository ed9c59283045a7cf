package release

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
)

// tagCheckTimeout bounds the question, after a stop, whether the tag being pushed went
// through: mage waits 5 s for a target it cancelled on SIGINT.
const tagCheckTimeout = 3 * time.Second

// settleTags returns the result of a push of tags (PushIndex's res and err) that a stop may
// have cut short while it tagged: the tag being pushed may have gone through, its answer lost.
// With every tag in place the push is complete and the error nil; else the error says which
// tags are there (partialTagsError). Any other result is returned as it is.
func settleTags(ctx context.Context, cfg config, tags []string, res registry.PushResult, err error) (registry.PushResult, error) {
	var tagErr *registry.TagError
	if err == nil || !errors.As(err, &tagErr) || stopCause(ctx) == nil {
		return res, err
	}
	res.Tags = tagsAfterStop(ctx, cfg, tagErr, res.Digest)
	if len(res.Tags) < len(tags) {
		return res, &partialTagsError{ref: tagErr.Index.String(), pushed: res.Tags, notPushed: tags[len(res.Tags):], err: err}
	}
	return res, nil
}

// tagsAfterStop returns the tags that point at the index digest after a push that a stop cut
// short while it tagged (tagErr): those pushed before, and the one being pushed when the
// registry has it, asked once with a context of its own (the run's is cancelled) for at most
// tagCheckTimeout.
func tagsAfterStop(ctx context.Context, cfg config, tagErr *registry.TagError, digest v1.Hash) []string {
	pushed := slices.Clone(tagErr.Pushed)
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), tagCheckTimeout)
	defer cancel()
	opts := registry.Options(check, 1, cfg.Insecure, registry.RetryPolicy{}, cfg.keychain)
	if ok, err := registry.TaggedAt(check, cfg.repo.Tag(tagErr.Tag), digest, opts); err == nil && ok {
		pushed = append(pushed, tagErr.Tag)
	}
	return pushed
}

// partialTagsError is a push stopped while it tagged the index: the index is in the registry,
// the tags pushed point at it, the others do not.
type partialTagsError struct {
	ref               string // repository@digest
	pushed, notPushed []string
	err               error
}

func (e *partialTagsError) Error() string { return e.err.Error() + "; " + e.state() }

func (e *partialTagsError) Unwrap() error { return e.err }

// state says what the push left in the registry.
func (e *partialTagsError) state() string {
	if len(e.pushed) == 0 {
		return fmt.Sprintf("%s was pushed, but none of its tags (%s)", e.ref, strings.Join(e.notPushed, ", "))
	}
	return fmt.Sprintf("%s was pushed and tagged %s, but not %s", e.ref, strings.Join(e.pushed, ", "), strings.Join(e.notPushed, ", "))
}
