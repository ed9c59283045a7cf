package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/regfile"
)

// A remote base is read through the layer cache: its index, manifests and configs are kept
// there by digest, and its layers as files. A warm run then reads the base from disk: a base
// named by digest needs no request at all, one named by tag one HEAD request to learn its
// digest, and the layout links the base's layers instead of downloading them again. Every
// blob is checked against its digest before it is used (see Cache.smallBlob and
// Cache.remoteBlob).

// baseSource is where the parts of a stored base come from: the cache first, else the
// base's repository.
type baseSource struct {
	ctx    context.Context
	cache  Cache
	repo   name.Repository
	puller *remote.Puller // shared by every request, so the registry is pinged once
}

// resolve returns the digest, media type and manifest of ref: for a digest, from the cache
// when it holds the manifest; for a tag, the digest from one HEAD request, then the manifest
// from the cache or the registry.
func (s *baseSource) resolve(ref name.Reference) (v1.Hash, types.MediaType, []byte, error) {
	if d, ok := ref.(name.Digest); ok {
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			return v1.Hash{}, "", nil, err
		}
		raw, err := s.manifest(h)
		if err != nil {
			return v1.Hash{}, "", nil, err
		}
		return h, manifestMediaType(raw), raw, nil
	}
	if desc, err := s.puller.Head(s.ctx, ref); err == nil {
		raw, err := s.manifest(desc.Digest)
		if err != nil {
			return v1.Hash{}, "", nil, err
		}
		mt := desc.MediaType
		if mt == "" {
			mt = manifestMediaType(raw)
		}
		return desc.Digest, mt, raw, nil
	}
	// A HEAD answer carries no error details and some registries give no digest with it:
	// a GET says what is wrong, or serves the manifest.
	desc, err := s.puller.Get(s.ctx, ref)
	if err != nil {
		return v1.Hash{}, "", nil, err
	}
	raw, err := s.cache.smallBlob(desc.Digest, maxManifestSize, func() ([]byte, error) { return desc.Manifest, nil })
	return desc.Digest, desc.MediaType, raw, err
}

// manifest returns the manifest h of the base's repository.
func (s *baseSource) manifest(h v1.Hash) ([]byte, error) {
	return s.cache.smallBlob(h, maxManifestSize, func() ([]byte, error) {
		desc, err := s.puller.Get(s.ctx, s.repo.Digest(h.String()))
		if err != nil {
			return nil, err
		}
		return desc.Manifest, nil
	})
}

// blob returns the small blob h (a config) of the base's repository, whose descriptor
// declares size bytes: no more is read.
func (s *baseSource) blob(h v1.Hash, size int64) ([]byte, error) {
	return s.cache.smallBlob(h, max(size, 0), func() ([]byte, error) {
		rc, err := s.open(h)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, max(size, 0)+1))
		if err == nil && int64(len(data)) > size {
			err = tooLongError(h, size)
		}
		return data, err
	})
}

// tooLongError is the error of a blob h that the registry sent more of than the size bytes
// its descriptor declares.
func tooLongError(h v1.Hash, size int64) error {
	return fmt.Errorf("blob %s: the registry sent more than the %d bytes its descriptor declares", h, size)
}

// open starts reading blob h from the base's repository.
func (s *baseSource) open(h v1.Hash) (io.ReadCloser, error) {
	l, err := s.puller.Layer(s.ctx, s.repo.Digest(h.String()))
	if err != nil {
		return nil, err
	}
	return l.Compressed()
}

// openLayer starts reading the layer d of the image whose manifest is image. A foreign layer
// (one with URLs, as Windows bases have) may be kept only at its URLs: go-containerregistry's
// image tries them after the registry.
func (s *baseSource) openLayer(image v1.Hash, d v1.Descriptor) (io.ReadCloser, error) {
	if len(d.URLs) == 0 {
		return s.open(d.Digest)
	}
	desc, err := s.puller.Get(s.ctx, s.repo.Digest(image.String()))
	if err != nil {
		return nil, err
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	l, err := img.LayerByDigest(d.Digest)
	if err != nil {
		return nil, err
	}
	return l.Compressed()
}

// manifestMediaType reads the media type a manifest declares; a manifest without one is an
// OCI index when it lists manifests, else an OCI image manifest.
func manifestMediaType(raw []byte) types.MediaType {
	var m struct {
		MediaType types.MediaType   `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal(raw, &m) == nil && m.MediaType != "" {
		return m.MediaType
	}
	if m.Manifests != nil {
		return types.OCIImageIndex
	}
	return types.OCIManifestSchema1
}

// storedIndex is an image index of the base's repository, read through the cache.
type storedIndex struct {
	src       *baseSource
	digest    v1.Hash
	mediaType types.MediaType
	raw       []byte
}

var _ v1.ImageIndex = (*storedIndex)(nil)

// MediaType implements v1.ImageIndex.
func (x *storedIndex) MediaType() (types.MediaType, error) { return x.mediaType, nil }

// Digest implements v1.ImageIndex.
func (x *storedIndex) Digest() (v1.Hash, error) { return x.digest, nil }

// Size implements v1.ImageIndex.
func (x *storedIndex) Size() (int64, error) { return int64(len(x.raw)), nil }

// RawManifest implements v1.ImageIndex.
func (x *storedIndex) RawManifest() ([]byte, error) { return x.raw, nil }

// IndexManifest implements v1.ImageIndex.
func (x *storedIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(x.raw))
}

// child returns the descriptor of h in the index.
func (x *storedIndex) child(h v1.Hash) (v1.Descriptor, error) {
	m, err := x.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, d := range m.Manifests {
		if d.Digest == h {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("index %s has no manifest %s", x.digest, h)
}

// Image implements v1.ImageIndex: the image's manifest is read when first needed.
func (x *storedIndex) Image(h v1.Hash) (v1.Image, error) {
	d, err := x.child(h)
	if err != nil {
		return nil, err
	}
	return newStoredImage(x.src, h, d.MediaType, nil), nil
}

// ImageIndex implements v1.ImageIndex.
func (x *storedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, err := x.child(h)
	if err != nil {
		return nil, err
	}
	raw, err := x.src.manifest(h)
	if err != nil {
		return nil, err
	}
	return &storedIndex{src: x.src, digest: h, mediaType: d.MediaType, raw: raw}, nil
}

// storedImage is an image of the base's repository, read through the cache. Its layers are
// storedLayers, kept in files that the layout links.
type storedImage struct {
	v1.Image // partial's image over core
	core     *storedManifest
}

// newStoredImage returns the image h of src, with its manifest raw when it is already read.
func newStoredImage(src *baseSource, h v1.Hash, mt types.MediaType, raw []byte) *storedImage {
	core := &storedManifest{src: src, digest: h, mediaType: mt}
	if raw != nil {
		core.once.Do(func() { core.raw = raw })
	}
	img, _ := partial.CompressedToImage(core) // never fails
	core.img = img
	return &storedImage{Image: img, core: core}
}

// Layers implements v1.Image.
func (i *storedImage) Layers() ([]v1.Layer, error) {
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	ls := make([]v1.Layer, len(m.Layers))
	for k, d := range m.Layers {
		if ls[k], err = i.LayerByDigest(d.Digest); err != nil {
			return nil, err
		}
	}
	return ls, nil
}

// LayerByDigest implements v1.Image.
func (i *storedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		return partial.ConfigLayer(i)
	}
	return i.core.layer(h)
}

// LayerByDiffID implements v1.Image.
func (i *storedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	blob, err := partial.DiffIDToBlob(i, h)
	if err != nil {
		return nil, err
	}
	return i.LayerByDigest(blob)
}

// storedManifest is the partial.CompressedImageCore of a storedImage.
type storedManifest struct {
	src       *baseSource
	digest    v1.Hash
	mediaType types.MediaType
	img       v1.Image // partial's image over this core

	once sync.Once
	raw  []byte
	err  error

	configOnce sync.Once
	config     []byte
	configErr  error

	layersOnce sync.Once
	layers     []*storedLayer
	layersErr  error
}

// RawManifest implements partial.CompressedImageCore.
func (m *storedManifest) RawManifest() ([]byte, error) {
	m.once.Do(func() { m.raw, m.err = m.src.manifest(m.digest) })
	return m.raw, m.err
}

// MediaType implements partial.CompressedImageCore.
func (m *storedManifest) MediaType() (types.MediaType, error) {
	if m.mediaType != "" {
		return m.mediaType, nil
	}
	raw, err := m.RawManifest()
	if err != nil {
		return "", err
	}
	return manifestMediaType(raw), nil
}

// RawConfigFile implements partial.CompressedImageCore.
func (m *storedManifest) RawConfigFile() ([]byte, error) {
	m.configOnce.Do(func() {
		raw, err := m.RawManifest()
		if err != nil {
			m.configErr = err
			return
		}
		mf, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			m.configErr = err
			return
		}
		m.config, m.configErr = m.src.blob(mf.Config.Digest, mf.Config.Size)
	})
	return m.config, m.configErr
}

// LayerByDigest implements partial.CompressedImageCore.
func (m *storedManifest) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	return m.layer(h)
}

// layer returns the layer h of the image, its diff ID taken from the config. Every call
// for h returns the same layer, so its file is looked up once.
func (m *storedManifest) layer(h v1.Hash) (*storedLayer, error) {
	m.layersOnce.Do(func() {
		mf, err := m.img.Manifest()
		if err != nil {
			m.layersErr = err
			return
		}
		for _, d := range mf.Layers {
			diffID, err := partial.BlobToDiffID(m.img, d.Digest)
			if err != nil {
				m.layersErr = err
				return
			}
			m.layers = append(m.layers, &storedLayer{src: m.src, image: m.digest, desc: d, diffID: diffID})
		}
	})
	if m.layersErr != nil {
		return nil, m.layersErr
	}
	for _, l := range m.layers {
		if l.desc.Digest == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("image %s has no layer %s", m.digest, h)
}

// storedLayer is a layer of the base, kept in a file of the cache once first needed.
type storedLayer struct {
	src    *baseSource
	image  v1.Hash // the manifest that lists the layer
	desc   v1.Descriptor
	diffID v1.Hash

	once sync.Once
	path string
	err  error
}

// Digest implements v1.Layer.
func (l *storedLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }

// DiffID implements v1.Layer.
func (l *storedLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size implements v1.Layer.
func (l *storedLayer) Size() (int64, error) { return l.desc.Size, nil }

// MediaType implements v1.Layer.
func (l *storedLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

// Compressed implements v1.Layer.
func (l *storedLayer) Compressed() (io.ReadCloser, error) {
	path, err := l.BlobFile()
	if err != nil {
		return nil, err
	}
	f, _, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Uncompressed implements v1.Layer.
func (l *storedLayer) Uncompressed() (io.ReadCloser, error) {
	ext, err := partial.CompressedToLayer(l)
	if err != nil {
		return nil, err
	}
	return ext.Uncompressed()
}

// blobFile returns the cache's file holding the layer, fetching it on first use.
func (l *storedLayer) BlobFile() (string, error) {
	l.once.Do(func() {
		h := l.desc.Digest
		l.path, l.err = l.src.cache.remoteBlob(h, l.desc.Size, func() (io.ReadCloser, error) { return l.src.openLayer(l.image, l.desc) })
		if l.err != nil {
			l.err = fmt.Errorf("fetching base layer %s: %w", h, l.err)
		}
	})
	return l.path, l.err
}

// smallBlob returns the bytes of blob h (a manifest or config) of at most limit bytes: the
// cache's copy when it is a regular file that hashes to h, else what fetch returns, checked
// and stored. Small blobs are hashed on every read.
func (c Cache) smallBlob(h v1.Hash, limit int64, fetch func() ([]byte, error)) ([]byte, error) {
	if c.Dir != "" && h.Algorithm == "sha256" {
		if data, ok := readFile(c.blobPath(h), limit); ok {
			if got, _, err := v1.SHA256(bytes.NewReader(data)); err == nil && got == h {
				c.touch(c.blobPath(h))
				return data, nil
			}
		}
	}
	data, err := fetch()
	if err != nil {
		return nil, err
	}
	if got, _, err := v1.SHA256(bytes.NewReader(data)); err != nil || got != h {
		return nil, fmt.Errorf("blob %s: the registry sent data with digest %s", h, got)
	}
	if c.Dir != "" {
		_ = c.putBlob(h, int64(len(data)), bytes.NewReader(data)) // a failure costs a request next time
	}
	return data, nil
}

// remoteBlob returns the path of the cache's file holding blob h of size bytes. A file that
// hashes to h (see checkBlob) is used as it is; a missing or damaged one is read from open,
// checked and stored in its place.
func (c Cache) remoteBlob(h v1.Hash, size int64, open func() (io.ReadCloser, error)) (string, error) {
	if c.checkBlob(h, size) {
		return c.blobPath(h), nil
	}
	rc, err := open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	if err := c.putBlob(h, size, rc); err != nil {
		return "", err
	}
	return c.blobPath(h), nil
}

// putBlob stores the size bytes of r as blob h, checking them against h as they are written.
func (c Cache) putBlob(h v1.Hash, size int64, r io.Reader) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", h.Algorithm)
	}
	tmp, err := c.tempBlob()
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	// At most one byte more than declared is read: enough to know the registry sent more.
	got, n, err := v1.SHA256(io.TeeReader(io.LimitReader(r, max(size, 0)+1), tmp))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n > size {
		return tooLongError(h, size)
	}
	if got != h || n != size {
		return fmt.Errorf("the registry sent %d bytes with digest %s, want %d bytes with digest %s", n, got, size, h)
	}
	return c.commitBlob(tmp.Name(), h)
}
