package oci

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LayerGzipLevel is the gzip level of binary layers. Changing it changes every
// layer digest.
const LayerGzipLevel = gzip.BestSpeed

// BinaryLayer returns a layer holding the file at path as "/<name>": one tar
// entry, a regular file with mode 0755, uid and gid 0, no user or group names,
// mtime created (seconds, UTC), PAX format, gzipped at LayerGzipLevel. The same
// content, name and time always give the same digest.
//
// The tar is made on the fly whenever the layer is read, so memory does not
// grow with the binary. The file must not change while the layer is in use: a
// read after a change fails instead of serving different bytes.
func BinaryLayer(path, name string, created time.Time) (v1.Layer, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("making a layer of %s: invalid file name %q", path, name)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("making a layer: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("making a layer of %s: not a regular file", path)
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o755,
		Size:     fi.Size(),
		ModTime:  LayerTime(created),
		Format:   tar.FormatPAX,
	}
	opener := func() (io.ReadCloser, error) {
		return openTar(path, fi, hdr)
	}
	l, err := tarball.LayerFromOpener(opener,
		tarball.WithCompressionLevel(LayerGzipLevel),
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("making a layer of %s: %w", path, err)
	}
	return plainLayer{l}, nil
}

// plainLayer hides the Descriptor method of tarball's layers, whose empty but
// non-nil annotations would make an image's in-memory manifest differ from its
// JSON (validate.Image reports that); the descriptor is then made from the
// digest, size and media type alone.
type plainLayer struct{ v1.Layer }

// LayerTime is t in whole seconds, UTC; the zero time is the Unix epoch.
func LayerTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.Truncate(time.Second).UTC()
}

// openTar streams a one-entry tar of the file at path. It fails when the file
// no longer has the size and modification time it had in want.
func openTar(path string, want os.FileInfo, hdr *tar.Header) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() != want.Size() || !fi.ModTime().Equal(want.ModTime()) {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", path, ErrChanged)
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		tw := tar.NewWriter(pw)
		h := *hdr
		err := tw.WriteHeader(&h)
		if err == nil {
			var n int64
			n, err = io.Copy(tw, f)
			if err == nil && n != hdr.Size {
				err = fmt.Errorf("reading %s: %w", path, ErrChanged)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// ErrChanged means a binary changed after its layer was made.
var ErrChanged = errors.New("file changed after its layer was made")
