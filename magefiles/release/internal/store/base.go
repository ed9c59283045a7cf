package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/shim"
)

// Base is the resolved base: "scratch" (an empty image) or "static" (see StaticLayer), both
// made without any network, or a remote image index or single-platform image.
type Base struct {
	Name   string          // as the user wrote it: "scratch", "static" or a reference
	Digest v1.Hash         // digest of the index or manifest fetched; zero for a Builtin base
	Repo   name.Repository // where it was fetched from; zero for a Builtin base

	Index v1.ImageIndex // a multi-platform base; nil otherwise
	Image v1.Image      // a single-platform base, the empty image for scratch, the static image
}

// LoadBase resolves ref: "scratch" and "static" without any network, anything else with at most one
// registry call for its index or manifest (the images themselves are read lazily, when
// used). With a cache directory, the base is read through the cache (see baseSource): a base
// named by digest that the cache holds needs no request, one named by tag a HEAD request.
func LoadBase(ctx context.Context, ref string, insecure bool, opts []remote.Option, cache Cache) (Base, error) {
	if ref == "scratch" {
		return Base{Name: ref, Image: empty.Image}, nil
	}
	if ref == Static {
		return staticBase(ctx)
	}
	r, err := registry.ParseRef(ref, insecure)
	if err != nil {
		return Base{}, fmt.Errorf("loading base image: %w", err)
	}
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	var b Base
	var mt types.MediaType
	if cache.Dir == "" {
		b, mt, err = remoteBase(r, opts)
	} else {
		b, mt, err = storedBase(ctx, r, cache, opts)
	}
	if err != nil {
		if digest, ok := registry.MissingManifest(err); ok && registry.HasRepository(ctx, r.Context(), opts) {
			return Base{}, fmt.Errorf("base image %q: its repository has no manifest %s: %w", ref, digest, err)
		}
		if registry.IsNotFound(err) {
			return Base{}, fmt.Errorf("base image %q does not exist: %w", ref, err)
		}
		return Base{}, fmt.Errorf("fetching base image %q: %w", ref, registry.Explain(err, r.Context().RegistryStr()))
	}
	if b.Index == nil && b.Image == nil {
		return Base{}, fmt.Errorf("base image %q is a %s, not an image or an image index", ref, mt)
	}
	b.Name, b.Repo = ref, r.Context()
	return b, nil
}

// remoteBase fetches the index or manifest of r from its registry; the images are read from
// there when used. Neither index nor image is set for another media type.
func remoteBase(r name.Reference, opts []remote.Option) (Base, types.MediaType, error) {
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return Base{}, "", err
	}
	b := Base{Digest: desc.Digest}
	switch {
	case desc.MediaType.IsIndex():
		b.Index, err = desc.ImageIndex()
	case desc.MediaType.IsImage():
		b.Image, err = desc.Image()
	}
	return b, desc.MediaType, err
}

// storedBase resolves r through the cache (see baseSource). Neither index nor image is set for
// another media type.
func storedBase(ctx context.Context, r name.Reference, cache Cache, opts []remote.Option) (Base, types.MediaType, error) {
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return Base{}, "", err
	}
	src := &baseSource{ctx: ctx, cache: cache, repo: r.Context(), puller: p}
	digest, mt, raw, err := src.resolve(r)
	if err != nil {
		return Base{}, "", err
	}
	b := Base{Digest: digest}
	switch {
	case mt.IsIndex():
		b.Index = &storedIndex{src: src, digest: digest, mediaType: mt, raw: raw}
	case mt.IsImage():
		b.Image = newStoredImage(src, digest, mt, raw)
	}
	return b, mt, nil
}

// baseEntry is one image of a base, with its normalised platform.
type baseEntry struct {
	platform shim.Platform
	digest   v1.Hash
	raw      string // the platform as the base spells it
}

// entries lists the images of the base with a platform Go can build for, in
// the base's order. Attestations (unknown/unknown), entries without a platform
// and platforms Go has no port for are left out.
func (b Base) entries() ([]baseEntry, error) {
	if b.Index != nil {
		m, err := b.Index.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading base image %q: %w", b.Name, err)
		}
		var out []baseEntry
		for _, d := range m.Manifests {
			if d.Platform == nil || !d.MediaType.IsImage() {
				continue
			}
			if e, ok := entryFor(d.Platform, d.Digest); ok {
				out = append(out, e)
			}
		}
		return out, nil
	}
	if Builtin(b.Name) || b.Image == nil {
		return nil, nil
	}
	cf, err := b.Image.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading base image %q: %w", b.Name, err)
	}
	if e, ok := entryFor(cf.Platform(), b.Digest); ok {
		return []baseEntry{e}, nil
	}
	return nil, nil
}

func entryFor(p *v1.Platform, digest v1.Hash) (baseEntry, bool) {
	if p == nil || p.OS == "unknown" || p.Architecture == "unknown" {
		return baseEntry{}, false
	}
	raw := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		raw += "/" + p.Variant
	}
	sp, err := shim.Parse(raw)
	if err != nil {
		return baseEntry{}, false
	}
	return baseEntry{platform: sp, digest: digest, raw: raw}, true
}

// platforms lists the base's platforms, normalised, in the base's order,
// without duplicates or attestation entries; nil for a Builtin base (which suits any
// platform).
func (b Base) Platforms() ([]shim.Platform, error) {
	es, err := b.entries()
	if err != nil {
		return nil, err
	}
	var out []shim.Platform
	seen := make(map[shim.Platform]bool, len(es))
	for _, e := range es {
		if !seen[e.platform] {
			seen[e.platform] = true
			out = append(out, e.platform)
		}
	}
	return out, nil
}

// ImageFor returns the base's image for p and its manifest digest (zero for a
// Builtin base, which serves every platform with one image). Platforms match after normalisation (linux/arm64/v8 is
// linux/arm64); when the base has no image for p's exact variant, its image
// for the arch's default variant serves (linux/amd64 for linux/amd64/v3), and
// for arm the next lower variant (arm/v6 for arm/v7). Otherwise it is an error
// that names p and lists the base's platforms.
func (b Base) ImageFor(p shim.Platform) (v1.Image, v1.Hash, error) {
	if Builtin(b.Name) {
		if b.Image == nil {
			return empty.Image, v1.Hash{}, nil
		}
		return b.Image, v1.Hash{}, nil
	}
	es, err := b.entries()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	e, ok := pickEntry(es, p)
	if !ok {
		have := make([]string, 0, len(es))
		for _, e := range es {
			// arm64 and arm64/v8 entries are one platform once normalised: list it once.
			if s := e.platform.String(); !slices.Contains(have, s) {
				have = append(have, s)
			}
		}
		list := strings.Join(have, ", ")
		if list == "" {
			list = "no platform Go can build for"
		}
		return nil, v1.Hash{}, fmt.Errorf("base image %q has no %s image (it has: %s)", b.Name, p, list)
	}
	if b.Index == nil {
		return b.Image, b.Digest, nil
	}
	img, err := b.Index.Image(e.digest)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading the %s image of base %q: %w", p, b.Name, err)
	}
	return img, e.digest, nil
}

// pickEntry finds the entry for p: the exact platform, else a compatible one.
func pickEntry(es []baseEntry, p shim.Platform) (baseEntry, bool) {
	for _, want := range compatible(p) {
		for _, e := range es {
			if e.platform == want {
				return e, true
			}
		}
	}
	return baseEntry{}, false
}

// compatible lists the platforms whose base image can carry a binary for p,
// best first: p itself, then for arm the lower variants, else the arch's
// default variant.
func compatible(p shim.Platform) []shim.Platform {
	out := []shim.Platform{p}
	if p.Arch == "arm" {
		for _, v := range []string{"v7", "v6", "v5"} {
			if v < p.Variant {
				out = append(out, shim.Platform{OS: p.OS, Arch: p.Arch, Variant: v})
			}
		}
		return out
	}
	if p.Variant != "" {
		out = append(out, shim.Platform{OS: p.OS, Arch: p.Arch})
	}
	return out
}
