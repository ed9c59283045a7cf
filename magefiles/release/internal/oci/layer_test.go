package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// writeBinary writes content to a new file in a temporary directory.
func writeBinary(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLayer(t testing.TB, path, name string, created time.Time) v1.Layer {
	t.Helper()
	l, err := BinaryLayer(path, name, created)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func digestOf(t testing.TB, l v1.Layer) v1.Hash {
	t.Helper()
	h, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var created = time.Date(2026, 11, 30, 3, 4, 5, 0, time.UTC)

func TestBinaryLayerTarEntry(t *testing.T) {
	content := "#!fake binary\x00\x01\x02"
	l := mustLayer(t, writeBinary(t, content), "app", created.Add(700*time.Millisecond))
	if err := validate.Layer(l); err != nil {
		t.Fatalf("validate.Layer: %v", err)
	}
	if mt, _ := l.MediaType(); mt != types.OCILayer {
		t.Errorf("media type %s, want %s", mt, types.OCILayer)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	want := tar.Header{Typeflag: tar.TypeReg, Name: "app", Mode: 0o755, Size: int64(len(content)), ModTime: created}
	if hdr.Typeflag != want.Typeflag || hdr.Name != want.Name || hdr.Mode != want.Mode || hdr.Size != want.Size ||
		!hdr.ModTime.Equal(want.ModTime) || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" ||
		len(hdr.PAXRecords) != 0 || !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero() {
		t.Errorf("tar header %+v, want %+v with uid/gid 0, no names, no PAX records", hdr, want)
	}
	got, err := io.ReadAll(tr)
	if err != nil || string(got) != content {
		t.Errorf("entry content %q, %v; want %q", got, err, content)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("second tar entry: %v, want io.EOF", err)
	}
	// The one entry is written as USTAR (no PAX header is needed): a 512-byte
	// header, the content padded to 512 bytes, and two zero blocks.
	if len(raw) != 512+512+1024 || string(raw[257:263]) != "ustar\x00" {
		t.Errorf("tar is %d bytes with magic %q, want 2048 bytes and a ustar header", len(raw), raw[257:263])
	}

	crc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer crc.Close()
	zr, err := gzip.NewReader(crc)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, raw) {
		t.Errorf("gunzipped layer differs from the uncompressed one (%v)", err)
	}
	if zr.Header.Name != "" || !zr.Header.ModTime.IsZero() {
		t.Errorf("gzip header has name %q, mtime %v; want neither", zr.Header.Name, zr.Header.ModTime)
	}
}

func TestBinaryLayerDigests(t *testing.T) {
	a := writeBinary(t, "same content")
	b := writeBinary(t, "same content")
	if err := os.Chtimes(b, time.Unix(1, 0), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(b, 0o600); err != nil {
		t.Fatal(err)
	}
	da := digestOf(t, mustLayer(t, a, "app", created))
	if db := digestOf(t, mustLayer(t, b, "app", created)); da != db {
		t.Errorf("same content at another path, mtime and mode: digest %s, want %s", db, da)
	}
	if again := digestOf(t, mustLayer(t, a, "app", created)); again != da {
		t.Errorf("same file twice: %s then %s", da, again)
	}
	for what, l := range map[string]v1.Layer{
		"other content": mustLayer(t, writeBinary(t, "other content"), "app", created),
		"other name":    mustLayer(t, a, "app2", created),
		"other time":    mustLayer(t, a, "app", created.Add(time.Second)),
	} {
		if d := digestOf(t, l); d == da {
			t.Errorf("%s: same digest %s", what, d)
		}
	}
	// A zero time is the Unix epoch, not year 1.
	if digestOf(t, mustLayer(t, a, "app", time.Time{})) != digestOf(t, mustLayer(t, a, "app", time.Unix(0, 0))) {
		t.Error("zero time and the Unix epoch give different digests")
	}
}

func TestBinaryLayerErrors(t *testing.T) {
	p := writeBinary(t, "x")
	for _, name := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := BinaryLayer(p, name, created); err == nil {
			t.Errorf("name %q: no error", name)
		}
	}
	if _, err := BinaryLayer(filepath.Join(t.TempDir(), "missing"), "app", created); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want not-exist", err)
	}
	if _, err := BinaryLayer(t.TempDir(), "app", created); err == nil {
		t.Error("a directory: no error")
	}
}

func TestBinaryLayerRefusesChangedFile(t *testing.T) {
	p := writeBinary(t, "version 1")
	l := mustLayer(t, p, "app", created)
	if err := os.WriteFile(p, []byte("version 2, longer"), 0o755); err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
	}
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("reading a layer whose file changed: %v, want ErrChanged", err)
	}
}

// TestBinaryLayerMemory checks that a layer streams: making and reading the
// layer of a 16 MiB file allocates far less than the file's size.
func TestBinaryLayerMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and compresses a 16 MiB file")
	}
	p := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// Random bytes do not compress: a layer that buffered its compressed
	// form would hold about the whole file.
	const size = 16 << 20
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(f, rng, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := mustLayer(t, p, "big", created)
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n == 0 {
		t.Fatalf("reading the layer: %d bytes, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	t.Logf("allocated %d KiB", (after.TotalAlloc-before.TotalAlloc)>>10)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/2 {
		t.Fatalf("making and reading the layer of a %d MiB file allocated %d MiB; it should stream", size>>20, alloc>>20)
	}
}
