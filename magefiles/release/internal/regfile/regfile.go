// Package regfile opens files that must be regular files, such as the entries and blobs of
// the layer cache and the files of an image layout: a symbolic link is not followed, a FIFO or
// device is never waited on or read, and anything but a regular file is ErrNotRegular. On unix
// the file is opened with O_NOFOLLOW and O_NONBLOCK, after an lstat that keeps devices from
// being opened at all, and checked with fstat before a byte is read; elsewhere it is checked
// with lstat before and stat after the open, which must name the same file.
package regfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular is the error of a path that is not a regular file (a symbolic link, FIFO,
// device, socket or directory).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is the error of a regular file larger than the reader allows.
var ErrTooLarge = errors.New("larger than allowed")

// Open opens the regular file at path for reading and returns it with its file information.
// A regular file that another process replaced (renamed over) between the look and the open
// is looked at again: the cache's writers replace files that way while readers use them.
func Open(path string) (*os.File, os.FileInfo, error) {
	for tries := 1; ; tries++ {
		f, fi, replaced, err := openOnce(path)
		if !replaced || tries == maxTries {
			return f, fi, err
		}
	}
}

// maxTries is how often Open looks again at a file replaced while it opened it.
const maxTries = 5

// openOnce is one attempt of Open; replaced reports a regular file that was another file
// than the one looked at before the open.
func openOnce(path string) (f *os.File, fi os.FileInfo, replaced bool, err error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, nil, false, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, false, notRegular(path, before)
	}
	f, err = open(path)
	if err != nil {
		return nil, nil, false, err
	}
	fi, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, false, err
	}
	if !fi.Mode().IsRegular() || !os.SameFile(before, fi) {
		f.Close()
		return nil, nil, fi.Mode().IsRegular(), notRegular(path, fi)
	}
	return f, fi, false, nil
}

// ReadFile reads the regular file at path, which must hold at most limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, tooLarge(path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, limit) // it grew while read
	}
	return data, nil
}

func notRegular(path string, fi os.FileInfo) error {
	return &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(fi.Mode()))}
}

func tooLarge(path string, limit int64) error {
	return &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
}

// kind names the type of file m describes.
func kind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "another file than the one looked at" // replaced between lstat and open
	default:
		return "an irregular file"
	}
}
