// Package store is the release's disk cache and its base images: Cache keeps the layer of
// every binary by its Go build ID, and the blobs of remote bases, in a directory that
// concurrent runs may share (entries renamed into place, every blob hashed and checked
// against its digest each time a run uses it, unused ones trimmed after five days);
// LoadBase resolves XGO_BASE (scratch; static, made here; or an image or index in a registry,
// read through the cache) to a Base that names its platforms and gives the image for each.
//
// Every file of the cache is opened without following a symbolic link or waiting on a FIFO
// (package regfile), and read only if it is a regular file of the size expected: at most
// 64 KiB for an entry, 4 MiB for a manifest, the size its descriptor or entry gives for a
// config or layer. Anything else in its place (a FIFO, a link, a device, a directory, a file
// that cannot be read or has other bytes) is a missing entry: the entry or blob is made (or
// fetched) again and replaces it.
package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/regfile"
)

// layerFormat names the way oci.BinaryLayer and Cache make a layer from a binary. Change it
// whenever the layer bytes would change for the same binary (tar header, compression), so
// that entries made the old way are never used.
const layerFormat = "xgo-build layer 1 (pax, 0755, uid 0, gzip 1)"

// Cache keeps the layer of every binary it has seen, keyed by the binary's Go build ID,
// its size, the file name in the layer, the layer time and layerFormat, so that a binary go
// build did not change is not tarred, compressed or hashed again. Entries hold the layer's
// digest, diff ID and size, and the compressed blob itself.
//
// Entries are written to a temporary file and renamed into place, so concurrent runs never
// see half an entry; a missing, unreadable or damaged entry is made again, never an error.
// An entry is used only if its blob has the recorded size and digest (it is hashed on every
// use: a blob whose bytes changed is never served, even with its size and time kept), and
// only for a binary with the recorded size and modification time or, failing that, the
// recorded SHA-256: a binary changed after linking (same build ID, other bytes) is never
// served from the cache. Blobs are read-only files (0444), which the image layout links.
type Cache struct {
	Dir string // <Dir>/entries/<key>.json, <Dir>/blobs/sha256/<hex>; "" is no cache
}

// CacheDir returns the layer cache directory: XGO_CACHE when set ("off" disables the cache:
// ""), else <user cache dir>/xgo-build/layers as os.UserCacheDir places it, read through
// getenv. It returns "" when no directory can be found.
func CacheDir(getenv func(string) string) string {
	if v := strings.TrimSpace(getenv("XGO_CACHE")); v != "" {
		if strings.EqualFold(v, "off") {
			return ""
		}
		if abs, err := filepath.Abs(v); err == nil {
			return abs
		}
		return ""
	}
	base := userCacheDir(getenv)
	if base == "" {
		return ""
	}
	return filepath.Join(base, "xgo-build", "layers")
}

// userCacheDir finds the user cache directory as os.UserCacheDir does, reading the
// environment through getenv; "" when there is none.
func userCacheDir(getenv func(string) string) string {
	var d string
	switch runtime.GOOS {
	case "windows":
		d = getenv("LocalAppData")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			d = filepath.Join(h, "Library", "Caches")
		}
	case "plan9":
		if h := getenv("home"); h != "" {
			d = filepath.Join(h, "lib", "cache")
		}
	default:
		d = getenv("XDG_CACHE_HOME")
		if !filepath.IsAbs(d) {
			d = ""
			if h := getenv("HOME"); h != "" {
				d = filepath.Join(h, ".cache")
			}
		}
	}
	if !filepath.IsAbs(d) {
		return ""
	}
	return d
}

// cacheEntry is the JSON record of one cached layer.
type cacheEntry struct {
	Format     string `json:"format"`
	BuildID    string `json:"buildID"`
	Digest     string `json:"digest"`     // of the compressed layer, the blob's name
	DiffID     string `json:"diffID"`     // of the uncompressed tar
	Size       int64  `json:"size"`       // of the compressed layer
	BinarySize int64  `json:"binarySize"` // of the binary
	BinaryTime int64  `json:"binaryTime"` // modification time of the binary, Unix nanoseconds
	BinarySHA  string `json:"binarySHA"`  // SHA-256 of the binary, hex
}

// The most bytes the cache reads of a file that it has no recorded size for: a larger one is
// not one it wrote. A manifest is kept only up to the size the OCI distribution spec asks
// every registry to accept.
const (
	maxEntrySize    = 64 << 10
	maxManifestSize = 4 << 20
)

// layer returns the layer of the binary at path as "/<name>" with time created, the same
// bytes oci.BinaryLayer makes: from the cache when an intact entry matches the binary, else made
// now in one pass (tar, hash, compress, hash) and stored. hit reports a cache hit. Only an
// unreadable binary is an error; a cache that cannot be written gives a layer read from the
// binary instead.
func (c Cache) Layer(path, name string, created time.Time) (l v1.Layer, hit bool, err error) {
	return c.LayerAfterBuild(path, name, created, nil)
}

// layerAfterBuild is layer for a binary that go build has just written or found up to date:
// before is the file as it was before that build (nil if there was none). When the entry was
// checked against that very file (its recorded time is the file's time before the build) and
// the build left the same file of the same size, go only renewed its time, as it does for an
// up-to-date binary: the bytes are the checked ones and are not read again.
func (c Cache) LayerAfterBuild(path, name string, created time.Time, before os.FileInfo) (l v1.Layer, hit bool, err error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return nil, false, fmt.Errorf("making a layer of %s: invalid file name %q", path, name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("making a layer: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("making a layer: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("making a layer of %s: not a regular file", path)
	}
	id, err := goBuildID(f, fi.Size())
	if err != nil || id == "" {
		// Not a Go binary with a build ID we can find: key it by its contents.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, false, fmt.Errorf("making a layer of %s: %w", path, err)
		}
		sum, _, err := v1.SHA256(f)
		if err != nil {
			return nil, false, fmt.Errorf("making a layer of %s: %w", path, err)
		}
		id = "content:" + sum.Hex
	}
	key := c.key(id, fi.Size(), name, created)
	if l, ok := c.lookup(key, f, fi, before); ok {
		return l, true, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("making a layer of %s: %w", path, err)
	}
	l, err = c.store(key, id, f, fi, name, created)
	if err != nil {
		if errors.Is(err, oci.ErrChanged) {
			return nil, false, fmt.Errorf("making a layer of %s: %w", path, err)
		}
		// The cache is unusable (full disk, read-only): make the layer the uncached way.
		l, err = oci.BinaryLayer(path, name, created)
		return l, false, err
	}
	return l, false, nil
}

// key names the entry of a binary: every input that changes its layer.
func (Cache) key(buildID string, size int64, name string, created time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%d\n%s\n%d\n", layerFormat, buildID, size, name, oci.LayerTime(created).Unix())
	return hex.EncodeToString(h.Sum(nil))
}

func (c Cache) entryPath(key string) string {
	return filepath.Join(c.Dir, "entries", key[:2], key+".json")
}

func (c Cache) blobPath(h v1.Hash) string {
	return filepath.Join(c.Dir, "blobs", h.Algorithm, h.Hex)
}

// lookup returns the cached layer of key when the entry is intact and matches the binary f;
// before is the binary before the go build that left it (see layerAfterBuild), or nil.
func (c Cache) lookup(key string, f *os.File, fi, before os.FileInfo) (v1.Layer, bool) {
	e, ok := c.readEntry(key)
	if !ok || e.Format != layerFormat || e.BinarySize != fi.Size() {
		return nil, false
	}
	digest, err := v1.NewHash(e.Digest)
	if err != nil {
		return nil, false
	}
	diffID, err := v1.NewHash(e.DiffID)
	if err != nil {
		return nil, false
	}
	rewrite := false // the entry learnt a new binary time
	if e.BinaryTime != fi.ModTime().UnixNano() && !upToDateByGo(e, before, fi) {
		// The same build ID, but the file has another time: a fresh dist or a change after
		// linking wrote it again. Serve the entry only for the very same bytes.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, false
		}
		sum, _, err := v1.SHA256(f)
		if err != nil || sum.Hex != e.BinarySHA {
			return nil, false
		}
	}
	if e.BinaryTime != fi.ModTime().UnixNano() {
		e.BinaryTime = fi.ModTime().UnixNano()
		rewrite = true
	}
	if !c.checkBlob(digest, e.Size) {
		return nil, false
	}
	if rewrite {
		_ = c.writeEntry(key, e) // a failure costs a hash of the binary next time, nothing else
	} else {
		c.touch(c.entryPath(key))
	}
	return &cachedLayer{path: c.blobPath(digest), digest: digest, diffID: diffID, size: e.Size}, true
}

// checkBlob reports whether the blob h is a regular file of size bytes with the digest h.
// It is hashed whole every time: the image layout links the blob, so bytes changed there
// change it here too, and keeping the size and time does not hide that. It marks an intact
// blob as used. A directory in the blob's place is removed, for the blob to be stored again.
func (c Cache) checkBlob(h v1.Hash, size int64) bool {
	blob := c.blobPath(h)
	f, fi, err := regfile.Open(blob)
	if err != nil {
		clearWay(blob, err)
		return false
	}
	defer f.Close()
	if fi.Size() != size {
		return false
	}
	got, n, err := v1.SHA256(io.LimitReader(f, size+1))
	if err != nil || n != size || got != h {
		return false
	}
	c.renew(blob, fi.ModTime())
	return true
}

// clearWay removes what is at path when it is a directory, for the regular file that open
// (which failed with err) expected there to be made again. Anything else in the way (a FIFO,
// a link, a file that cannot be read) is replaced by the rename that puts the new file there.
func clearWay(path string, err error) {
	if !errors.Is(err, regfile.ErrNotRegular) {
		return
	}
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		_ = os.RemoveAll(path)
	}
}

// readFile reads the cache's file at path (an entry, a manifest or a config), which must be
// a regular file of at most limit bytes; ok is false when there is none such.
func readFile(path string, limit int64) (data []byte, ok bool) {
	data, err := regfile.ReadFile(path, limit)
	if err != nil {
		clearWay(path, err)
		return nil, false
	}
	return data, true
}

// upToDateByGo reports whether go build found the binary up to date: fi, the binary now, is
// the very file before described, with its size, and before had the time at which e was
// checked; go only renewed its time.
func upToDateByGo(e cacheEntry, before, fi os.FileInfo) bool {
	return before != nil && os.SameFile(before, fi) && before.Size() == fi.Size() &&
		before.ModTime().UnixNano() == e.BinaryTime
}

// store makes the layer of the binary f in one pass, puts the blob and the entry in the
// cache and returns the layer, read from the cached blob.
func (c Cache) store(key, buildID string, f *os.File, fi os.FileInfo, name string, created time.Time) (v1.Layer, error) {
	tmp, err := c.tempBlob()
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	diffID, digest, binSHA := sha256.New(), sha256.New(), sha256.New()
	compressed := &countingWriter{w: io.MultiWriter(tmp, digest)}
	gw, err := gzip.NewWriterLevel(compressed, oci.LayerGzipLevel)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	if err := writeTar(io.MultiWriter(gw, diffID), io.TeeReader(f, binSHA), fi.Size(), name, created); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := gw.Close(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if now, err := f.Stat(); err != nil || now.Size() != fi.Size() || !now.ModTime().Equal(fi.ModTime()) {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), oci.ErrChanged)
	}
	d := hashOf(digest)
	if err := c.commitBlob(tmp.Name(), d); err != nil {
		return nil, err
	}
	e := cacheEntry{
		Format: layerFormat, BuildID: buildID,
		Digest: d.String(), DiffID: hashOf(diffID).String(), Size: compressed.n,
		BinarySize: fi.Size(), BinaryTime: fi.ModTime().UnixNano(), BinarySHA: hex.EncodeToString(binSHA.Sum(nil)),
	}
	if err := c.writeEntry(key, e); err != nil {
		return nil, err
	}
	return &cachedLayer{path: c.blobPath(d), digest: d, diffID: hashOf(diffID), size: compressed.n}, nil
}

// tempBlob creates a temporary file in the blobs directory, for commitBlob.
func (c Cache) tempBlob() (*os.File, error) {
	blobs := filepath.Join(c.Dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, err
	}
	return os.CreateTemp(blobs, ".tmp-*")
}

// commitBlob makes the closed temporary file tmp the read-only blob d; the rename replaces
// whatever file was in its place.
func (c Cache) commitBlob(tmp string, d v1.Hash) error {
	if err := os.Chmod(tmp, 0o444); err != nil {
		return err
	}
	return os.Rename(tmp, c.blobPath(d))
}

// readEntry reads the layer entry of key; ok is false when it is missing, unreadable, not a
// regular file of at most maxEntrySize bytes, or not JSON.
func (c Cache) readEntry(key string) (e cacheEntry, ok bool) {
	data, ok := readFile(c.entryPath(key), maxEntrySize)
	if !ok || json.Unmarshal(data, &e) != nil {
		return cacheEntry{}, false
	}
	return e, true
}

// writeEntry writes the entry e of key: to a temporary file, renamed into place.
func (c Cache) writeEntry(key string, e any) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	path := c.entryPath(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeTar writes the one-entry tar of oci.BinaryLayer: the size bytes of r as name.
func writeTar(w io.Writer, r io.Reader, size int64, name string, created time.Time) error {
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0o755,
		Size:     size,
		ModTime:  oci.LayerTime(created),
		Format:   tar.FormatPAX,
	}); err != nil {
		return err
	}
	n, err := io.Copy(tw, r)
	if err != nil {
		return err
	}
	if n != size {
		return oci.ErrChanged
	}
	return tw.Close()
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// cachedLayer is a gzipped layer stored in a file, with its digests known.
type cachedLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

// Digest implements v1.Layer.
func (l *cachedLayer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID implements v1.Layer.
func (l *cachedLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size implements v1.Layer.
func (l *cachedLayer) Size() (int64, error) { return l.size, nil }

// MediaType implements v1.Layer.
func (l *cachedLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

// Compressed implements v1.Layer.
func (l *cachedLayer) Compressed() (io.ReadCloser, error) {
	f, _, err := regfile.Open(l.path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Uncompressed implements v1.Layer.
func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	f, _, err := regfile.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return readCloser{zr, f}, nil
}

// blobFile is the file holding the compressed layer, which oci.WriteLayout links instead of
// copying.
func (l *cachedLayer) BlobFile() (string, error) { return l.path, nil }

type readCloser struct {
	io.Reader
	io.Closer
}

// goBuildIDLimit is how far into a binary goBuildID looks for the build ID when the binary is
// not ELF: the linker puts it at the start of the text segment.
const goBuildIDLimit = 64 << 10

// goBuildID returns the Go build ID of the binary r of the given size, reading only its
// headers and first pages: from the ELF note Go writes (.note.go.buildid), else from the
// "\xff Go build ID: " string at the start of the text. It returns "" when there is none.
func goBuildID(r io.ReaderAt, size int64) (string, error) {
	if ef, err := elf.NewFile(r); err == nil {
		if s := ef.Section(".note.go.buildid"); s != nil && s.Type == elf.SHT_NOTE {
			data, err := s.Data()
			if err != nil {
				return "", err
			}
			if id := elfNoteBuildID(data, ef.ByteOrder); id != "" {
				return id, nil
			}
		}
	}
	buf := make([]byte, min(size, goBuildIDLimit))
	n, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	buf = buf[:n]
	const prefix, suffix = "\xff Go build ID: \"", "\"\n \xff"
	i := bytes.Index(buf, []byte(prefix))
	if i < 0 {
		return "", nil
	}
	rest := buf[i+len(prefix):]
	j := bytes.Index(rest, []byte(suffix))
	if j < 0 {
		return "", nil
	}
	id, err := strconv.Unquote(`"` + string(rest[:j]) + `"`)
	if err != nil {
		return "", nil
	}
	return id, nil
}

// elfNoteBuildID reads the build ID from the contents of Go's ELF note: name "Go\x00\x00",
// type 4.
func elfNoteBuildID(data []byte, bo interface{ Uint32([]byte) uint32 }) string {
	if len(data) < 16 {
		return ""
	}
	nameSize, descSize, typ := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
	if nameSize != 4 || typ != 4 || string(data[12:16]) != "Go\x00\x00" || uint64(len(data)) < 16+uint64(descSize) {
		return ""
	}
	return string(data[16 : 16+descSize])
}

// cacheMaxAge is how long an entry or blob stays in the cache unused before trim removes it.
const cacheMaxAge = 5 * 24 * time.Hour

// touchAge is how old a used file's modification time may get before touch renews it, so
// that a hit costs no write most of the time.
const touchAge = time.Hour

// touch marks files as used now, for trim.
func (c Cache) touch(paths ...string) {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			c.renew(p, fi.ModTime())
		}
	}
}

// renew marks the file at path, last modified at mtime, as used now when that time is older
// than touchAge, and returns the new time and true when it did.
func (Cache) renew(path string, mtime time.Time) (time.Time, bool) {
	now := time.Now()
	if now.Sub(mtime) <= touchAge || os.Chtimes(path, now, now) != nil {
		return time.Time{}, false
	}
	if fi, err := os.Stat(path); err == nil {
		return fi.ModTime(), true // the file system's resolution, not now's
	}
	return time.Time{}, false
}

// trim removes the entries and blobs not used for cacheMaxAge, at most once in
// cacheMaxAge/5 (it keeps the time of the last trim in the file "trimmed"). An entry whose
// blob is gone is simply made again, so trim never breaks a concurrent run. Errors are
// ignored: a cache that cannot be trimmed still works.
func (c Cache) Trim(now time.Time) {
	if c.Dir == "" {
		return
	}
	mark := filepath.Join(c.Dir, "trimmed")
	if fi, err := os.Lstat(mark); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) < cacheMaxAge/5 {
		return
	}
	if _, err := os.Stat(c.Dir); err != nil {
		return
	}
	for _, pattern := range []string{
		filepath.Join(c.Dir, "entries", "*", "*"),
		filepath.Join(c.Dir, "blobs", "sha256", "*"),
	} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if fi, err := os.Lstat(f); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > cacheMaxAge {
				os.Remove(f)
			}
		}
	}
	// A new file renamed into place: opening the old one could wait on a FIFO.
	if f, err := os.CreateTemp(c.Dir, ".tmp-*"); err == nil {
		f.Close()
		if os.Chtimes(f.Name(), now, now) != nil || os.Rename(f.Name(), mark) != nil {
			os.Remove(f.Name())
		}
	}
}
