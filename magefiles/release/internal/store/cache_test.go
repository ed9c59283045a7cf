package store

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
	"github.com/xgo-build/xgo-build/shim"
)

// fakeGoBinary writes a file that carries the Go build ID id where the linker puts it (a
// non-ELF file, so it is found by its text marker), followed by n bytes from seed.
func fakeGoBinary(t testing.TB, path, id string, n int, seed uint64) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x7fNOTELF\x00padding")
	b.WriteString("\xff Go build ID: \"" + id + "\"\n \xff")
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	if _, err := io.CopyN(&b, r, int64(n)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
}

// sameLayer fails unless got has want's digest, diff ID, size and compressed bytes.
func sameLayer(t testing.TB, got, want v1.Layer) {
	t.Helper()
	for _, f := range []func(v1.Layer) (v1.Hash, error){v1.Layer.Digest, v1.Layer.DiffID} {
		g, err := f(got)
		if err != nil {
			t.Fatal(err)
		}
		w, err := f(want)
		if err != nil {
			t.Fatal(err)
		}
		if g != w {
			t.Fatalf("cached layer has %s, want %s", g, w)
		}
	}
	gs, _ := got.Size()
	ws, _ := want.Size()
	if gs != ws {
		t.Fatalf("cached layer size %d, want %d", gs, ws)
	}
	if err := validate.Layer(got); err != nil {
		t.Fatalf("validate.Layer: %v", err)
	}
}

func cacheLayer(t testing.TB, c Cache, path, name string) (v1.Layer, bool) {
	t.Helper()
	l, hit, err := c.Layer(path, name, releasetest.Created)
	if err != nil {
		t.Fatal(err)
	}
	return l, hit
}

func TestGoBuildIDOfATestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	got, err := goBuildID(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); got != want {
		t.Errorf("goBuildID = %q, want %q (go tool buildid)", got, want)
	}
}

func TestGoBuildIDText(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app")
	fakeGoBinary(t, p, "abc/def", 100, 1)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if id, err := goBuildID(f, fi.Size()); err != nil || id != "abc/def" {
		t.Errorf("goBuildID = %q, %v; want abc/def", id, err)
	}
	none := releasetest.Binary(t, "no build id here")
	g, err := os.Open(none)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if id, err := goBuildID(g, 16); err != nil || id != "" {
		t.Errorf("goBuildID of a file without one = %q, %v; want \"\"", id, err)
	}
}

func TestLayerCacheHitAndMiss(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 200<<10, 1)
	want := releasetest.Layer(t, bin, "app", releasetest.Created)

	l, hit := cacheLayer(t, c, bin, "app")
	if hit {
		t.Fatal("first use: hit, want a miss")
	}
	sameLayer(t, l, want)
	l, hit = cacheLayer(t, c, bin, "app")
	if !hit {
		t.Fatal("second use: miss, want a hit")
	}
	sameLayer(t, l, want)

	// Every input of the layer is part of the key.
	if _, hit := cacheLayer(t, c, bin, "other"); hit {
		t.Error("another file name: hit, want a miss")
	}
	if _, hit, _ := c.Layer(bin, "app", releasetest.Created.Add(time.Hour)); hit {
		t.Error("another time: hit, want a miss")
	}

	// A file without a build ID is keyed by its contents.
	plain := releasetest.Binary(t, "#!/bin/sh\necho hi\n")
	if _, hit := cacheLayer(t, c, plain, "app"); hit {
		t.Error("plain file, first use: hit")
	}
	l, hit = cacheLayer(t, c, plain, "app")
	if !hit {
		t.Error("plain file, second use: miss")
	}
	sameLayer(t, l, releasetest.Layer(t, plain, "app", releasetest.Created))
}

func TestLayerCacheNeverServesAChangedBinary(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 64<<10, 1)
	cacheLayer(t, c, bin, "app")

	// A new build: another build ID.
	fakeGoBinary(t, bin, "a/c", 64<<10, 2)
	l, hit := cacheLayer(t, c, bin, "app")
	if hit {
		t.Error("new build ID: hit")
	}
	sameLayer(t, l, releasetest.Layer(t, bin, "app", releasetest.Created))

	// Changed after linking: the same build ID and size, other bytes, a new mtime.
	fakeGoBinary(t, bin, "a/c", 64<<10, 3)
	os.Chtimes(bin, time.Now(), time.Now().Add(time.Minute))
	l, hit = cacheLayer(t, c, bin, "app")
	if hit {
		t.Error("same build ID, other bytes: hit")
	}
	sameLayer(t, l, releasetest.Layer(t, bin, "app", releasetest.Created))

	// Written again with the same bytes (a fresh dist): served, after a hash.
	fakeGoBinary(t, bin, "a/c", 64<<10, 3)
	os.Chtimes(bin, time.Now(), time.Now().Add(2*time.Minute))
	l, hit = cacheLayer(t, c, bin, "app")
	if !hit {
		t.Error("same bytes written again: miss, want a hit")
	}
	sameLayer(t, l, releasetest.Layer(t, bin, "app", releasetest.Created))
}

func TestLayerCacheRebuildsDamagedEntries(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 64<<10, 1)
	want := releasetest.Layer(t, bin, "app", releasetest.Created)
	d := releasetest.Digest(t, want)

	damage := map[string]func(t *testing.T, c Cache){
		"blob changed": func(t *testing.T, c Cache) {
			p := c.blobPath(d)
			os.Chmod(p, 0o644)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0xff
			if err := os.WriteFile(p, data, 0o444); err != nil {
				t.Fatal(err)
			}
		},
		"blob truncated": func(t *testing.T, c Cache) {
			if err := os.Truncate(c.blobPath(d), 10); err != nil {
				t.Fatal(err)
			}
		},
		"blob missing": func(t *testing.T, c Cache) {
			if err := os.Remove(c.blobPath(d)); err != nil {
				t.Fatal(err)
			}
		},
		"entry not JSON": func(t *testing.T, c Cache) {
			p := c.entryPath(c.key("a/b", 64<<10+int64(len("\x7fNOTELF\x00padding\xff Go build ID: \"a/b\"\n \xff")), "app", releasetest.Created))
			if err := os.WriteFile(p, []byte("{garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"entries missing": func(t *testing.T, c Cache) {
			if err := os.RemoveAll(filepath.Join(c.Dir, "entries")); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			c := Cache{Dir: t.TempDir()}
			cacheLayer(t, c, bin, "app")
			f(t, c)
			l, hit := cacheLayer(t, c, bin, "app")
			if hit {
				t.Fatal("damaged entry: hit")
			}
			sameLayer(t, l, want)
			if _, hit := cacheLayer(t, c, bin, "app"); !hit {
				t.Fatal("after the rebuild: miss, want a hit")
			}
		})
	}
}

func TestLayerCacheUnwritable(t *testing.T) {
	file := releasetest.Binary(t, "not a directory")
	c := Cache{Dir: filepath.Join(file, "cache")}
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 1000, 1)
	l, hit := cacheLayer(t, c, bin, "app")
	if hit {
		t.Fatal("hit in a cache that cannot exist")
	}
	sameLayer(t, l, releasetest.Layer(t, bin, "app", releasetest.Created))
}

func TestLayerCacheConcurrentUse(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	dir := t.TempDir()
	var bins []string
	var wants []v1.Hash
	for i := range 4 {
		p := filepath.Join(dir, "app"+string(rune('0'+i)))
		fakeGoBinary(t, p, "id/"+string(rune('0'+i)), 128<<10, uint64(i))
		bins = append(bins, p)
		wants = append(wants, releasetest.Digest(t, releasetest.Layer(t, p, "app", releasetest.Created)))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 4 {
		for i, p := range bins {
			wg.Go(func() {
				l, _, err := c.Layer(p, "app", releasetest.Created)
				if err != nil {
					errs <- err.Error()
					return
				}
				if d, _ := l.Digest(); d != wants[i] {
					errs <- "digest " + d.String() + ", want " + wants[i].String()
					return
				}
				if err := validate.Layer(l); err != nil {
					errs <- err.Error()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i, p := range bins {
		l, hit := cacheLayer(t, c, p, "app")
		if !hit || releasetest.Digest(t, l) != wants[i] {
			t.Errorf("%s after concurrent use: hit %v, digest %s", p, hit, releasetest.Digest(t, l))
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(c.Dir, "*", "*", ".tmp-*"))
	more, _ := filepath.Glob(filepath.Join(c.Dir, "*", "*", "*", ".tmp-*"))
	if len(leftovers)+len(more) > 0 {
		t.Errorf("temporary files left: %v %v", leftovers, more)
	}
}

func TestCacheDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the table lists the Linux locations (os.UserCacheDir differs elsewhere)")
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XGO_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c"},
		{map[string]string{"XGO_CACHE": "off", "HOME": "/h"}, ""},
		{map[string]string{"XGO_CACHE": "OFF"}, ""},
		{map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/xgo-build/layers"},
		{map[string]string{"XDG_CACHE_HOME": "relative", "HOME": "/h"}, "/h/.cache/xgo-build/layers"},
		{map[string]string{"HOME": "/h"}, "/h/.cache/xgo-build/layers"},
		{map[string]string{}, ""},
	} {
		if got := CacheDir(envMap(tc.env)); got != tc.want {
			t.Errorf("CacheDir(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

// The image and layout made from a cached layer are those made without the cache, and the
// layout links the cached blob instead of writing it again.
func TestCachedLayerImageAndLayout(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 64<<10, 1)
	spec := oci.ImageSpec{Platform: shim.Platform{OS: "linux", Arch: "amd64"}, Entrypoint: []string{"/app"}, Created: releasetest.Created}
	var digests []v1.Hash
	for _, cached := range []bool{false, true, true} {
		l := releasetest.Layer(t, bin, "app", releasetest.Created)
		if cached {
			l, _ = cacheLayer(t, c, bin, "app")
		}
		img, err := oci.NewImage(empty.Image, l, spec)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := oci.NewIndex([]oci.PlatformImage{{Platform: spec.Platform, Image: img}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "oci")
		if err := oci.WriteLayout(dir, idx); err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(releasetest.Layout(t, dir)); err != nil {
			t.Fatalf("validate.Index: %v", err)
		}
		d, _ := idx.Digest()
		digests = append(digests, d)
		if cached {
			ld := releasetest.Digest(t, l)
			a, err1 := os.Stat(filepath.Join(dir, "blobs", "sha256", ld.Hex))
			b, err2 := os.Stat(c.blobPath(ld))
			if err1 != nil || err2 != nil || !os.SameFile(a, b) {
				t.Errorf("layout blob is not a link of the cached one (%v, %v)", err1, err2)
			}
		}
	}
	if digests[0] != digests[1] || digests[1] != digests[2] {
		t.Errorf("index digests %v: want one digest with and without the cache", digests)
	}
}

func TestLayerCacheTrim(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	dir := t.TempDir()
	oldBin, newBin := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	fakeGoBinary(t, oldBin, "old/id", 1000, 1)
	fakeGoBinary(t, newBin, "new/id", 1000, 2)
	cacheLayer(t, c, oldBin, "app")
	cacheLayer(t, c, newBin, "app")

	// Everything is six days old; then the new binary is used again.
	past := time.Now().Add(-6 * 24 * time.Hour)
	for _, pattern := range []string{"entries/*/*", "blobs/sha256/*"} {
		files, _ := filepath.Glob(filepath.Join(c.Dir, pattern))
		for _, f := range files {
			if err := os.Chtimes(f, past, past); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, hit := cacheLayer(t, c, newBin, "app"); !hit {
		t.Fatal("new binary: miss before the trim")
	}
	c.Trim(time.Now())
	if _, hit := cacheLayer(t, c, newBin, "app"); !hit {
		t.Error("a layer used today was trimmed")
	}
	if _, hit := cacheLayer(t, c, oldBin, "app"); hit {
		t.Error("a layer unused for six days was kept")
	}
	// The old one was made again; a second trim the same day does nothing.
	files, _ := filepath.Glob(filepath.Join(c.Dir, "entries", "*", "*"))
	for _, f := range files {
		os.Chtimes(f, past, past)
	}
	c.Trim(time.Now())
	if _, hit := cacheLayer(t, c, oldBin, "app"); !hit {
		t.Error("trim ran twice within a day")
	}
}

// TestLayerCacheHashesTheBlobOnEveryUse checks that a blob whose bytes changed in place, its
// size and time kept (as a write into a hard link of it in dist/oci leaves it), is never
// served: the lookup is a miss, the layer is made again, and a new, intact blob replaces the
// damaged file, which a layout that linked it keeps.
func TestLayerCacheHashesTheBlobOnEveryUse(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 64<<10, 1)
	want := releasetest.Layer(t, bin, "app", releasetest.Created)
	l, _ := cacheLayer(t, c, bin, "app")
	d := releasetest.Digest(t, l)
	blob := c.blobPath(d)
	linked := filepath.Join(t.TempDir(), "layout-blob") // as dist/oci links it
	if err := os.Link(blob, linked); err != nil {
		t.Fatal(err)
	}
	releasetest.DamageInPlace(t, linked)

	l, hit := cacheLayer(t, c, bin, "app")
	if hit {
		t.Fatal("a blob damaged in place with its size and time kept: hit")
	}
	sameLayer(t, l, want)
	if !oci.IntactBlob(blob, d, sizeOf(t, blob)) {
		t.Error("the cache still holds the damaged blob")
	}
	a, err1 := os.Stat(blob)
	b, err2 := os.Stat(linked)
	if err1 != nil || err2 != nil || os.SameFile(a, b) {
		t.Errorf("the new blob is the damaged file (%v, %v)", err1, err2)
	}
	if fi, err := os.Stat(blob); err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("the new blob: %v, %v; want mode 0444", fi.Mode(), err)
	}
	if _, hit := cacheLayer(t, c, bin, "app"); !hit {
		t.Error("after the rebuild: miss, want a hit")
	}
}

// TestLayerCacheAfterAnUpToDateBuild checks the layer of a binary that a go build found up to
// date: go only renews its time, and the entry, checked against that very file before the
// build, is served without reading the binary again. A file that was replaced or changed
// before the build is still checked byte for byte.
func TestLayerCacheAfterAnUpToDateBuild(t *testing.T) {
	stat := func(t *testing.T, path string) os.FileInfo {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	touch := func(t *testing.T, path string, d time.Duration) { // what go does to an up-to-date binary
		t.Helper()
		now := time.Now().Add(d)
		if err := os.Chtimes(path, now, now); err != nil {
			t.Fatal(err)
		}
	}
	setup := func(t *testing.T) (Cache, string, v1.Layer) {
		c := Cache{Dir: t.TempDir()}
		bin := filepath.Join(t.TempDir(), "app")
		fakeGoBinary(t, bin, "a/b", 64<<10, 1)
		l, _ := cacheLayer(t, c, bin, "app")
		return c, bin, l
	}
	after := func(t *testing.T, c Cache, bin string, before os.FileInfo) (v1.Layer, bool) {
		t.Helper()
		l, hit, err := c.LayerAfterBuild(bin, "app", releasetest.Created, before)
		if err != nil {
			t.Fatal(err)
		}
		return l, hit
	}

	t.Run("touched only", func(t *testing.T) {
		c, bin, want := setup(t)
		// Other bytes of the same size and build ID, written in place with the checked time
		// put back: only a file that go merely touched looks like this, so the entry is
		// served without a read, and the layer is the one checked before.
		before := stat(t, bin)
		f, err := os.OpenFile(bin, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("other bytes"), 64<<10); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chtimes(bin, before.ModTime(), before.ModTime()); err != nil {
			t.Fatal(err)
		}
		before = stat(t, bin)
		touch(t, bin, time.Minute)
		l, hit := after(t, c, bin, before)
		if !hit {
			t.Fatal("binary go only touched: miss, want a hit")
		}
		sameLayer(t, l, want)
		// The entry learnt the new time: the next run needs no build to trust it either.
		if _, hit := cacheLayer(t, c, bin, "app"); !hit {
			t.Error("next lookup: miss, want a hit")
		}
	})
	t.Run("replaced before the build", func(t *testing.T) {
		c, bin, _ := setup(t)
		os.Remove(bin)
		fakeGoBinary(t, bin, "a/b", 64<<10, 2) // a new file: same build ID and size, other bytes
		touch(t, bin, 30*time.Second)
		before := stat(t, bin)
		touch(t, bin, time.Minute)
		l, hit := after(t, c, bin, before)
		if hit {
			t.Fatal("replaced binary: hit")
		}
		sameLayer(t, l, releasetest.Layer(t, bin, "app", releasetest.Created))
	})
	t.Run("changed before the build", func(t *testing.T) {
		c, bin, _ := setup(t)
		fakeGoBinary(t, bin, "a/b", 64<<10, 3) // in place, other bytes, a new time
		touch(t, bin, time.Minute)
		before := stat(t, bin)
		touch(t, bin, 2*time.Minute)
		l, hit := after(t, c, bin, before)
		if hit {
			t.Fatal("binary changed before the build: hit")
		}
		sameLayer(t, l, releasetest.Layer(t, bin, "app", releasetest.Created))
	})
	t.Run("no binary before the build", func(t *testing.T) {
		c, bin, want := setup(t)
		touch(t, bin, time.Minute)
		l, hit := after(t, c, bin, nil)
		if !hit {
			t.Fatal("same bytes, no earlier file: miss, want a hit after a check")
		}
		sameLayer(t, l, want)
	})
}

// TestLayerCacheRenewsAUsedBlob checks that a hit marks the entry and the blob as used
// (renewing a time older than touchAge, for trim), and that the renewed blob is still a hit.
func TestLayerCacheRenewsAUsedBlob(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	bin := filepath.Join(t.TempDir(), "app")
	fakeGoBinary(t, bin, "a/b", 64<<10, 1)
	l, _ := cacheLayer(t, c, bin, "app")
	blob := c.blobPath(releasetest.Digest(t, l))
	matches, err := filepath.Glob(filepath.Join(c.Dir, "entries", "*", "*.json"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("entries: %v, %v", matches, err)
	}
	old := time.Now().Add(-2 * touchAge).Round(time.Second)
	for _, p := range []string{blob, matches[0]} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	for run := range 2 {
		if _, hit := cacheLayer(t, c, bin, "app"); !hit {
			t.Fatalf("run %d: miss, want a hit", run)
		}
		for _, p := range []string{blob, matches[0]} {
			if fi, err := os.Stat(p); err != nil || !fi.ModTime().After(old) {
				t.Fatalf("run %d: the used %s was not renewed (%v)", run, p, err)
			}
		}
	}
}
