package oci

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/attest"
)

func testIndex(t testing.TB, platforms ...string) v1.ImageIndex {
	t.Helper()
	idx, err := NewIndex(testImages(t, platforms...), map[string]string{"org.opencontainers.image.version": "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// entries lists the names in dir.
func entries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// readLayout reads the one index a layout at dir holds.
func readLayout(t testing.TB, dir string) v1.ImageIndex {
	t.Helper()
	idx, err := OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestWriteLayout(t *testing.T) {
	idx := testIndex(t, "linux/amd64", "linux/arm64", "linux/arm/v7")
	parent := t.TempDir()
	dir := filepath.Join(parent, "dist", "oci")
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	got := readLayout(t, dir)
	if err := validate.Index(got); err != nil {
		t.Fatalf("validate.Index of the layout: %v", err)
	}
	want, _ := idx.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("layout index %s, want %s", d, want)
	}
	if names := entries(t, filepath.Dir(dir)); len(names) != 1 || names[0] != "oci" {
		t.Fatalf("beside the layout: %v, want only oci", names)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("layout dir mode: %v, %v; want 0755", fi.Mode(), err)
	}

	// A second write replaces the layout whole: old files go.
	if err := os.WriteFile(filepath.Join(dir, "stale"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	idx2 := testIndex(t, "linux/s390x")
	if err := WriteLayout(dir, idx2); err != nil {
		t.Fatal(err)
	}
	want2, _ := idx2.Digest()
	if d, _ := readLayout(t, dir).Digest(); d != want2 {
		t.Fatalf("rewritten layout index %s, want %s", d, want2)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file of the old layout survived: %v", err)
	}
	if names := entries(t, filepath.Dir(dir)); len(names) != 1 {
		t.Fatalf("beside the layout: %v, want only oci", names)
	}
}

func TestWriteLayoutFailureKeepsTheOldOne(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	old := testIndex(t, "linux/amd64")
	if err := WriteLayout(dir, old); err != nil {
		t.Fatal(err)
	}
	// An index whose binary changes after its layer was made cannot be written.
	bin := writeBinary(t, "version 1")
	img, err := NewImage(randomBase(t), mustLayer(t, bin, "app", created),
		ImageSpec{Platform: mustPlatform(t, "linux/arm64"), Entrypoint: []string{"/app"}, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := NewIndex([]PlatformImage{{Platform: mustPlatform(t, "linux/arm64"), Image: img}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("version 2!"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(dir, bad); !errors.Is(err, ErrChanged) {
		t.Fatalf("writeLayout with a changed binary: %v, want ErrChanged", err)
	}
	want, _ := old.Digest()
	if d, _ := readLayout(t, dir).Digest(); d != want {
		t.Fatalf("after a failed write the layout holds %s, want the old %s", d, want)
	}
	if names := entries(t, filepath.Dir(dir)); len(names) != 1 {
		t.Fatalf("beside the layout: %v, want only oci (no incomplete copy left)", names)
	}
}

// TestWriteLayoutSkopeo checks that skopeo reads the layout: it copies the
// whole multi-platform image out with the same digests, and inspects the image
// of a given platform.
func TestWriteLayoutSkopeo(t *testing.T) {
	skopeo := testenv.Command(t, "skopeo", "install it with `apt-get install skopeo`")
	idx := testIndex(t, "linux/amd64", "linux/arm64", "linux/s390x")
	dir := filepath.Join(t.TempDir(), "oci")
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(skopeo, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	raw, _ := idx.RawManifest()
	if got := run("inspect", "--raw", "oci:"+dir); got != strings.TrimSpace(string(raw)) {
		t.Errorf("skopeo inspect --raw:\n%s\nwant\n%s", got, raw)
	}
	want, _ := idx.Digest()
	if got := run("inspect", "--override-os", "linux", "--override-arch", "s390x", "--format", "{{.Os}}/{{.Architecture}} {{.Digest}}", "oci:"+dir); got != "linux/s390x "+want.String() {
		t.Errorf("skopeo inspect of linux/s390x: %q, want %q", got, "linux/s390x "+want.String())
	}
	copyDir := filepath.Join(t.TempDir(), "copy")
	run("copy", "--all", "--preserve-digests", "oci:"+dir, "oci:"+copyDir+":latest")
	if d, _ := readLayout(t, copyDir).Digest(); d != want {
		t.Errorf("skopeo copy --all gave index %s, want %s", d, want)
	}

	// And into a registry, unchanged.
	reg := registrytest.Start(t)
	run("copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "oci:"+dir, "docker://"+reg.Host()+"/skopeo/app:latest")
	ref, err := name.ParseReference(reg.Host()+"/skopeo/app:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := pushed.Digest(); d != want {
		t.Errorf("skopeo copy to a registry gave index %s, want %s", d, want)
	}
}

func TestOpenLayoutErrors(t *testing.T) {
	if _, err := OpenLayout(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing layout: no error")
	}
	// A layout of two images is not one that WriteLayout writes.
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, pi := range testImages(t, "linux/amd64", "linux/arm64") {
		if err := p.AppendImage(pi.Image); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenLayout(dir); err == nil || !strings.Contains(err.Error(), "index.json lists 2 manifests, not one image index and its referrers") {
		t.Errorf("a layout of two images: %v", err)
	}
}

// TestWriteLayoutReusesIntactBlobs checks that rewriting a layout links the
// blobs it already holds instead of writing them again, except a damaged one.
func TestWriteLayoutReusesIntactBlobs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	idx := testIndex(t, "linux/amd64", "linux/arm64")
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	m, _ := idx.IndexManifest()
	img0, _ := idx.Image(m.Manifests[0].Digest)
	img1, _ := idx.Image(m.Manifests[1].Digest)
	l0, _ := img0.Layers()
	l1, _ := img1.Layers()
	blobPath := func(l v1.Layer) string {
		h, _ := l.Digest()
		return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
	}
	stat := func(p string) os.FileInfo {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	kept := stat(blobPath(l0[len(l0)-1])) // the amd64 binary
	// Damage the arm64 binary's blob, keeping its size.
	damaged := blobPath(l1[len(l1)-1])
	data, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.Chmod(damaged, 0o644); err != nil { // the layout's files are read-only
		t.Fatal(err)
	}
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := stat(damaged)

	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(kept, stat(blobPath(l0[len(l0)-1]))) {
		t.Error("an intact blob was written again instead of linked")
	}
	if os.SameFile(before, stat(damaged)) {
		t.Error("a damaged blob was linked into the new layout")
	}
	if err := validate.Index(readLayout(t, dir)); err != nil {
		t.Fatalf("validate.Index after the rewrite: %v", err)
	}
}

// TestWriteLayoutRefusesOtherDirectories checks that WriteLayout replaces only what it
// wrote: anything else at dir is one error naming dir and what to do, and is left as it was.
// An empty directory, and a layout of an earlier version (files not read-only), are replaced.
func TestWriteLayoutRefusesOtherDirectories(t *testing.T) {
	idx := testIndex(t, "linux/amd64")
	twoImages := func(t *testing.T, dir string) {
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		for _, pi := range testImages(t, "linux/amd64", "linux/arm64") {
			if err := p.AppendImage(pi.Image); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		make func(t *testing.T, dir string)
		why  string // "" when dir is replaced
	}{
		{"empty directory", func(t *testing.T, dir string) { os.Mkdir(dir, 0o755) }, ""},
		{"earlier version", func(t *testing.T, dir string) {
			p, err := layout.Write(dir, empty.Index)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.AppendIndex(testIndex(t, "linux/arm64")); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"user files", func(t *testing.T, dir string) {
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		}, "no readable oci-layout file"},
		{"a file", func(t *testing.T, dir string) { os.WriteFile(dir, []byte("mine"), 0o644) }, "it is a file, not a directory"},
		{"a symbolic link", func(t *testing.T, dir string) {
			target := t.TempDir()
			os.Symlink(target, dir)
		}, "it is a symbolic link, not a directory"},
		{"a layout of two images", twoImages, "index.json lists 2 manifests, not one image index and its referrers"},
		{"no index.json", func(t *testing.T, dir string) {
			twoImages(t, dir)
			os.Remove(filepath.Join(dir, "index.json"))
		}, "no readable index.json"},
		{"index.json not an index", func(t *testing.T, dir string) {
			twoImages(t, dir)
			os.WriteFile(filepath.Join(dir, "index.json"), []byte("{garbage"), 0o644)
		}, "index.json is not an image index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "oci")
			tc.make(t, dir)
			before, _ := os.Lstat(dir)
			err := WriteLayout(dir, idx)
			if tc.why == "" {
				if err != nil {
					t.Fatal(err)
				}
				want, _ := idx.Digest()
				if d, _ := readLayout(t, dir).Digest(); d != want {
					t.Fatalf("layout index %s, want %s", d, want)
				}
				return
			}
			want := "refusing to replace " + dir + ": it is not an OCI image layout written by xgo-build (" + tc.why + "); move it away or remove it, or set XGO_DIST to another directory"
			if err == nil || err.Error() != want {
				t.Fatalf("WriteLayout: %v\nwant %s", err, want)
			}
			if after, err := os.Lstat(dir); err != nil || !os.SameFile(before, after) {
				t.Errorf("%s was replaced (%v)", dir, err)
			}
			if names := entries(t, filepath.Dir(dir)); len(names) != 1 {
				t.Errorf("beside it: %v, want nothing written", names)
			}
		})
	}
}

// TestWriteLayoutReadOnly checks that every file of a layout is read-only, so that a write
// into a blob linked from the layer cache fails instead of changing the cache's file too.
func TestWriteLayoutReadOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	for range 2 { // written anew, then over the old layout
		if err := WriteLayout(dir, testIndex(t, "linux/amd64", "linux/arm64")); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n++
			if fi, err := d.Info(); err != nil || fi.Mode() != 0o444 {
				t.Errorf("%s: mode %v, %v; want -r--r--r--", p, fi.Mode(), err)
			}
			return nil
		})
		if err != nil || n < 4 {
			t.Fatalf("%d files, %v", n, err)
		}
	}
}

// withReferrers returns, for each image of idx, an attestation whose subject it is.
func withReferrers(t testing.TB, idx v1.ImageIndex) []v1.Image {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var refs []v1.Image
	for i, d := range m.Manifests {
		subject := v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest}
		doc := []byte(fmt.Sprintf(`{"spdxVersion":"SPDX-2.3","name":"image %d"}`, i))
		ref, err := attest.Artifact(subject, attest.SBOMType, doc, "sbom.spdx.json", map[string]string{"org.opencontainers.image.created": "2026-11-30T03:04:05Z"})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	return refs
}

// TestWriteLayoutReferrers checks a layout with referrers: index.json lists the index first,
// named, then each referrer with its artifactType and annotations; OpenLayout gives the
// index, OpenReferrers the referrers; and such a layout is replaced by the next write.
func TestWriteLayoutReferrers(t *testing.T) {
	idx := testIndex(t, "linux/amd64", "linux/arm64")
	refs := withReferrers(t, idx)
	dir := filepath.Join(t.TempDir(), "oci")
	if err := WriteLayout(dir, idx, WithRefName("1.2.3"), WithReferrers(refs...)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if len(top.Manifests) != 3 || top.Manifests[0].Digest != want || !top.Manifests[0].MediaType.IsIndex() ||
		top.Manifests[0].Annotations[refNameAnnotation] != "1.2.3" {
		t.Fatalf("index.json %s, want the index %s named 1.2.3 first, then two referrers", raw, want)
	}
	for i, ref := range refs {
		d, _ := ref.Digest()
		m, _ := ref.Manifest()
		got := top.Manifests[i+1]
		if got.Digest != d || got.ArtifactType != attest.SBOMType || !got.MediaType.IsImage() ||
			got.Annotations["org.opencontainers.image.created"] != m.Annotations["org.opencontainers.image.created"] {
			t.Errorf("index.json entry %d: %+v, want the referrer %s", i+1, got, d)
		}
	}
	if d, _ := readLayout(t, dir).Digest(); d != want {
		t.Errorf("OpenLayout: index %s, want %s", d, want)
	}
	onDisk, err := OpenReferrers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) != len(refs) {
		t.Fatalf("OpenReferrers: %d referrers, want %d", len(onDisk), len(refs))
	}
	for i := range refs {
		d, _ := refs[i].Digest()
		if got, _ := onDisk[i].Digest(); got != d {
			t.Errorf("OpenReferrers %d: %s, want %s", i, got, d)
		}
		layers, err := onDisk[i].Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("referrer %d on disk: %d layers, %v", i, len(layers), err)
		}
		if _, err := layers[0].Compressed(); err != nil {
			t.Errorf("referrer %d on disk: its layer: %v", i, err)
		}
	}

	// The next write, without referrers, replaces it: index.json is one descriptor again.
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatalf("rewriting a layout with referrers: %v", err)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, "index.json"))
	if top, err := v1.ParseIndexManifest(bytes.NewReader(raw)); err != nil || len(top.Manifests) != 1 {
		t.Errorf("index.json without referrers: %s", raw)
	}
	if refs, err := OpenReferrers(dir); err != nil || len(refs) != 0 {
		t.Errorf("OpenReferrers without referrers: %d, %v", len(refs), err)
	}

	// A referrer without a subject is refused.
	plain := testImages(t, "linux/amd64")[0].Image
	if err := WriteLayout(dir, idx, WithReferrers(plain)); err == nil || !strings.Contains(err.Error(), "a referrer without a subject") {
		t.Errorf("a referrer without a subject: %v", err)
	}
}

// TestWriteLayoutReferrersSkopeo checks that skopeo selects the index of a layout with
// referrers by its name, as the README says to read it: oci:<dir>:<tag>.
func TestWriteLayoutReferrersSkopeo(t *testing.T) {
	skopeo := testenv.Command(t, "skopeo", "install it with `apt-get install skopeo`")
	idx := testIndex(t, "linux/amd64", "linux/arm64")
	dir := filepath.Join(t.TempDir(), "oci")
	if err := WriteLayout(dir, idx, WithRefName("latest"), WithReferrers(withReferrers(t, idx)...)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(skopeo, "inspect", "--raw", "oci:"+dir+":latest").Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw oci:%s:latest: %v", dir, err)
	}
	raw, _ := idx.RawManifest()
	if strings.TrimSpace(string(out)) != strings.TrimSpace(string(raw)) {
		t.Errorf("skopeo inspect --raw oci:dir:latest:\n%s\nwant the index\n%s", out, raw)
	}
	copyDir := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command(skopeo, "copy", "--all", "--preserve-digests", "oci:"+dir+":latest", "oci:"+copyDir+":latest").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy --all oci:dir:latest: %v\n%s", err, out)
	}
	want, _ := idx.Digest()
	if d, _ := readLayout(t, copyDir).Digest(); d != want {
		t.Errorf("skopeo copy --all of oci:dir:latest gave index %s, want %s", d, want)
	}
}
