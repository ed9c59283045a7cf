// Package oci assembles the release's images: a binary's reproducible tar layer
// (BinaryLayer), an image of that layer on a base with the platform, entrypoint, time and
// annotations the release gives it (NewImage), the multi-platform index of those images
// (NewIndex), and the OCI image layout on disk, written beside the old one and renamed into
// place, with the layers kept in files linked instead of written again (WriteLayout,
// OpenLayout).
package oci

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// WriteLayout writes idx as an OCI image layout at dir: index.json holds one
// descriptor, of idx, so that `skopeo copy --all oci:dir ...` and crane take
// the whole multi-platform image. The layout is written into a sibling
// directory named ".<dir>.incomplete-*" and renamed to dir only when it is
// complete; an existing dir is replaced only then. A failed write removes
// the sibling and leaves dir as it was.
//
// Layers kept in files (those of the layer cache) are hard-linked from there,
// and blobs the existing layout already holds intact (same size and digest)
// from the existing layout, instead of being compressed and written again.
func WriteLayout(dir string, idx v1.ImageIndex) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
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
	if err := p.AppendIndex(idx); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return replaceDir(tmp, dir)
}

// OpenLayout returns the image index that WriteLayout wrote at dir, reading
// its blobs from the files: pushing it sends the layers as they are on disk
// instead of compressing the binaries again.
func OpenLayout(dir string) (v1.ImageIndex, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		return nil, fmt.Errorf("reading OCI layout %s: index.json must list exactly one image index", dir)
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	return idx, nil
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
	in, err := os.Open(src)
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

// IntactBlob reports whether the file at path has the given size and digest.
func IntactBlob(path string, h v1.Hash, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false
	}
	got, n, err := v1.SHA256(f)
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
