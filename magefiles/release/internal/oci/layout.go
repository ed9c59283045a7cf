// Package oci assembles the release's images: a binary's reproducible tar layer
// (BinaryLayer), an image of that layer on a base with the platform, entrypoint, time and
// annotations the release gives it (NewImage), the multi-platform index of those images
// (NewIndex), and the OCI image layout on disk, written beside the old one and renamed into
// place, with the layers kept in files linked instead of written again, the index first in
// index.json and the referrers of its images (their attestations) after it (WriteLayout,
// OpenLayout, OpenReferrers).
package oci

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/regfile"
)

// WriteLayout writes idx as an OCI image layout at dir: index.json lists idx
// first, so that `skopeo copy --all oci:dir ...` and crane take the whole
// multi-platform image, named by WithRefName, followed by the referrers given
// WithReferrers (as the OCI layout store of oras lists them); without
// referrers it is the one descriptor. The layout is written into a sibling
// directory named ".<dir>.incomplete-*" and renamed to dir only when it is
// complete; an existing dir is replaced only then. A failed write removes
// the sibling and leaves dir as it was.
//
// An existing dir is replaced only if it is empty or a layout this package
// wrote (see CheckReplaceable); anything else there is an error, before
// anything is written.
//
// Layers kept in files (those of the layer cache) are hard-linked from there,
// and blobs the existing layout already holds intact (same size and digest)
// from the existing layout, instead of being compressed and written again.
// Every file of the layout is made read-only (0444): a linked blob is the
// cache's file itself, and a write into it would change both.
func WriteLayout(dir string, idx v1.ImageIndex, opts ...LayoutOption) (err error) {
	var o layoutOptions
	for _, opt := range opts {
		opt(&o)
	}
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if err := CheckReplaceable(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".incomplete-")
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if err := linkLayerFiles(tmp, idx); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if err := reuseBlobs(dir, tmp, idx); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	var named []layout.Option
	if o.refName != "" {
		named = append(named, layout.WithAnnotations(map[string]string{refNameAnnotation: o.refName}))
	}
	if err := p.AppendIndex(idx, named...); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	for _, ref := range o.referrers {
		m, err := ref.Manifest()
		if err != nil {
			return fmt.Errorf("writing OCI layout %s: reading a referrer: %w", dir, err)
		}
		if m.Subject == nil {
			return fmt.Errorf("writing OCI layout %s: a referrer without a subject", dir)
		}
		if err := p.AppendImage(ref, layout.WithAnnotations(m.Annotations)); err != nil {
			return fmt.Errorf("writing OCI layout %s: %w", dir, err)
		}
	}
	if err := readOnly(tmp); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return replaceDir(tmp, dir)
}

// The files that mark a directory as an OCI image layout.
const (
	layoutMarker = "oci-layout"
	layoutIndex  = "index.json"
)

// refNameAnnotation names an entry of index.json: `skopeo inspect oci:dir:<name>` and
// `oras ... --oci-layout dir:<name>` select the entry by it.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// A LayoutOption adds to what WriteLayout writes.
type LayoutOption func(*layoutOptions)

type layoutOptions struct {
	refName   string
	referrers []v1.Image
}

// WithRefName names the index in index.json (org.opencontainers.image.ref.name), such as the
// release's first tag.
func WithRefName(name string) LayoutOption {
	return func(o *layoutOptions) { o.refName = name }
}

// WithReferrers writes the referrers (image manifests with a subject, such as attestations)
// into the layout, each listed in index.json after the index with its manifest's annotations
// and artifactType.
func WithReferrers(referrers ...v1.Image) LayoutOption {
	return func(o *layoutOptions) { o.referrers = append(o.referrers, referrers...) }
}

// CheckReplaceable returns nil when dir may be replaced by a new layout: it does not exist,
// is an empty directory, or is an OCI image layout as WriteLayout writes it (every version of
// it): a directory with an oci-layout file and an index.json that lists one image index,
// first, and after it nothing but referrers. Otherwise it returns one error naming dir, what
// is wrong with it and what to do.
func CheckReplaceable(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("refusing to replace %s: it is not an OCI image layout written by xgo-build (%s); move it away or remove it, or set XGO_DIST to another directory", dir, why)
	}
	if !fi.IsDir() {
		return refuse(fmt.Sprintf("it is %s, not a directory", fileKind(fi.Mode())))
	}
	names, err := readDirNames(dir)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil
	}
	if _, err := regfile.ReadFile(filepath.Join(dir, layoutMarker), 4<<10); err != nil {
		return refuse("no readable oci-layout file")
	}
	raw, err := regfile.ReadFile(filepath.Join(dir, layoutIndex), 4<<20)
	if err != nil {
		return refuse("no readable index.json")
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return refuse("index.json is not an image index")
	}
	if why := layoutShape(m); why != "" {
		return refuse(why)
	}
	return nil
}

// layoutShape says what keeps index.json m from being one that WriteLayout writes: an image
// index first, then only referrers (image manifests with an artifactType); "" when nothing.
// The subjects of the referrers are not looked at.
func layoutShape(m *v1.IndexManifest) string {
	shaped := len(m.Manifests) > 0 && m.Manifests[0].MediaType.IsIndex()
	for _, d := range m.Manifests[min(1, len(m.Manifests)):] {
		shaped = shaped && d.MediaType.IsImage() && d.ArtifactType != ""
	}
	if !shaped {
		return fmt.Sprintf("index.json lists %d manifests, not one image index and its referrers", len(m.Manifests))
	}
	return ""
}

// readDirNames returns the names in the directory dir.
func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// fileKind names the type of file m describes, for an error.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a file"
	default:
		return "a special file"
	}
}

// readOnly makes every file under dir read-only (0444), leaving directories as they are.
func readOnly(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm() == 0o444 {
			return nil // a cache blob, linked: it may belong to another user
		}
		return os.Chmod(path, 0o444)
	})
}

// OpenLayout returns the image index that WriteLayout wrote at dir, reading
// its blobs from the files: pushing it sends the layers as they are on disk
// instead of compressing the binaries again.
func OpenLayout(dir string) (v1.ImageIndex, error) {
	p, m, err := openLayout(dir)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	return idx, nil
}

// OpenReferrers returns the referrers that WriteLayout wrote at dir beside the index, in the
// order of index.json; none for a layout without them. Each must have a subject.
func OpenReferrers(dir string) ([]v1.Image, error) {
	p, m, err := openLayout(dir)
	if err != nil {
		return nil, err
	}
	var refs []v1.Image
	for _, d := range m.Manifests[1:] {
		img, err := p.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
		}
		rm, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("reading OCI layout %s: referrer %s: %w", dir, d.Digest, err)
		}
		if rm.Subject == nil {
			return nil, fmt.Errorf("reading OCI layout %s: referrer %s has no subject", dir, d.Digest)
		}
		refs = append(refs, img)
	}
	return refs, nil
}

// openLayout returns the top index (index.json) of the layout at dir and its manifest, which must be as WriteLayout
// writes it (see layoutShape).
func openLayout(dir string) (v1.ImageIndex, *v1.IndexManifest, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	if why := layoutShape(m); why != "" {
		return nil, nil, fmt.Errorf("reading OCI layout %s: %s: WriteLayout writes the image index first, then only its referrers", dir, why)
	}
	return top, m, nil
}

// FileLayer is a layer whose compressed bytes are (or, once fetched, will be) a file that
// may be linked; BlobFile returns "" for a layer that is not kept in a file after all.
type FileLayer interface {
	BlobFile() (string, error)
}

// linkLayerFiles hard-links (or, across file systems, copies) into the layout at
// dst the layers of idx that are kept in files.
func linkLayerFiles(dst string, idx v1.ImageIndex) error {
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range m.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			fl, ok := l.(FileLayer)
			if !ok {
				continue
			}
			h, err := l.Digest()
			if err != nil {
				return err
			}
			to := filepath.Join(dst, "blobs", h.Algorithm, h.Hex)
			if _, err := os.Lstat(to); err == nil {
				continue
			}
			from, err := fl.BlobFile()
			if err != nil {
				return err
			}
			if from == "" {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				return err
			}
			if os.Link(from, to) == nil {
				continue
			}
			if err := copyFile(from, to); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies the file at src to a new file dst.
func copyFile(src, dst string) error {
	in, _, err := regfile.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// reuseBlobs hard-links into the layout at dst the config and layer blobs of
// idx that the layout at src holds with the right size and digest. A blob
// that is missing, damaged or cannot be linked is left to be written anew.
func reuseBlobs(src, dst string, idx v1.ImageIndex) error {
	if _, err := os.Stat(filepath.Join(src, "blobs")); err != nil {
		return nil
	}
	blobs, err := IndexBlobs(idx)
	if err != nil {
		return err
	}
	for h, size := range blobs {
		to := filepath.Join(dst, "blobs", h.Algorithm, h.Hex)
		if _, err := os.Lstat(to); err == nil {
			continue // linked from the layer cache
		}
		from := filepath.Join(src, "blobs", h.Algorithm, h.Hex)
		if !IntactBlob(from, h, size) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		_ = os.Link(from, to) // on failure the blob is written instead
	}
	return nil
}

// IntactBlob reports whether the file at path is a regular file (not a link to one) with the
// given size and digest. It never waits on a FIFO or reads a device.
func IntactBlob(path string, h v1.Hash, size int64) bool {
	f, fi, err := regfile.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi.Size() != size {
		return false
	}
	got, n, err := v1.SHA256(io.LimitReader(f, size+1))
	return err == nil && n == size && got == h
}

// replaceDir renames src to dst; an existing dst is moved aside first and
// removed once src is in place (or put back if the rename fails).
func replaceDir(src, dst string) error {
	if _, err := os.Lstat(dst); os.IsNotExist(err) {
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("writing OCI layout %s: %w", dst, err)
		}
		return nil
	}
	old, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".old-")
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dst, err)
	}
	aside := filepath.Join(old, "layout")
	if err := os.Rename(dst, aside); err != nil {
		os.Remove(old)
		return fmt.Errorf("writing OCI layout %s: moving the old layout aside: %w", dst, err)
	}
	if err := os.Rename(src, dst); err != nil {
		if rerr := os.Rename(aside, dst); rerr != nil {
			return fmt.Errorf("writing OCI layout %s: %w (and restoring the old one: %v)", dst, err, rerr)
		}
		os.Remove(old)
		return fmt.Errorf("writing OCI layout %s: %w", dst, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("writing OCI layout %s: removing the old layout: %w", dst, err)
	}
	return nil
}

// FetchLayerFiles makes sure the files of img's layers that are kept in files are there.
func FetchLayerFiles(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		if fl, ok := l.(FileLayer); ok {
			if _, err := fl.BlobFile(); err != nil {
				return err
			}
		}
	}
	return nil
}
