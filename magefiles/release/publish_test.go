package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
	"github.com/xgo-build/xgo-build/shim"
)

// TestReleaseEndToEnd builds a real program for two platforms, puts the
// binaries on scratch, pushes the index, pulls each image back, and runs the
// binary it holds (linux/arm64 under qemu-user). A second assembly from the
// same binaries yields the same index digest and uploads nothing.
func TestReleaseEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program for two platforms")
	}
	qemu := testenv.Command(t, "qemu-aarch64-static", "install Debian's qemu-user-static")
	goBin := testenv.Command(t, "go", "install Go")
	src := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.26\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n)\n\nfunc main() { fmt.Println(\"hello from\", runtime.GOOS+\"/\"+runtime.GOARCH) }\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	platforms := []string{"linux/amd64", "linux/arm64"}
	bins := map[string]string{}
	for _, s := range platforms {
		p := releasetest.Platform(t, s)
		vars, err := shim.Vars(p, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "hello")
		cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, ".")
		cmd.Dir = src
		cmd.Env = shim.MergeEnv(os.Environ(), vars)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build for %s: %v\n%s", s, err, b)
		}
		bins[s] = out
	}
	assemble := func() v1.ImageIndex {
		var images []oci.PlatformImage
		for _, s := range platforms {
			p := releasetest.Platform(t, s)
			layer := releasetest.Layer(t, bins[s], "hello", releasetest.Created)
			img, err := oci.NewImage(empty.Image, layer, oci.ImageSpec{Platform: p, Entrypoint: []string{"/hello"}, Created: releasetest.Created})
			if err != nil {
				t.Fatal(err)
			}
			images = append(images, oci.PlatformImage{Platform: p, Image: img})
		}
		idx, err := oci.NewIndex(images, nil)
		if err != nil {
			t.Fatal(err)
		}
		return idx
	}

	repo, _, opts := releasetest.Registry(t)
	ctx := context.Background()
	res, err := registry.PushIndex(ctx, repo, assemble(), []string{"latest"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsUploaded != 4 { // two configs, two binaries
		t.Fatalf("first push: %+v, want 4 blobs uploaded", res)
	}

	pulled, err := remote.Index(repo.Tag("latest"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := pulled.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range m.Manifests {
		s := platforms[i]
		if d.Platform == nil || d.Platform.OS+"/"+d.Platform.Architecture != s {
			t.Fatalf("manifest %d platform %+v, want %s", i, d.Platform, s)
		}
		img, err := pulled.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/hello"}) {
			t.Fatalf("%s entrypoint %q", s, cf.Config.Entrypoint)
		}
		bin := filepath.Join(t.TempDir(), "hello")
		releasetest.TopLayerFile(t, img, "hello", bin)
		cmd := exec.Command(bin)
		if s == "linux/arm64" {
			cmd = exec.Command(qemu, bin)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("running the %s binary pulled from the registry: %v\n%s", s, err, out)
		}
		if got, want := strings.TrimSpace(string(out)), "hello from "+s; got != want {
			t.Fatalf("the %s binary printed %q, want %q", s, got, want)
		}
	}

	again, err := registry.PushIndex(ctx, repo, assemble(), []string{"latest"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != res.Digest || again.BlobsUploaded != 0 {
		t.Fatalf("second assembly and push: %+v, want digest %s and nothing uploaded", again, res.Digest)
	}

	// The same index written as a layout and read back pushes to another
	// repository, from the files, with the same digest.
	dir := filepath.Join(t.TempDir(), "oci")
	if err := oci.WriteLayout(dir, assemble()); err != nil {
		t.Fatal(err)
	}
	fromDisk, err := oci.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	other, err := registry.ParseRepo(repo.RegistryStr()+"/team/other", false)
	if err != nil {
		t.Fatal(err)
	}
	third, err := registry.PushIndex(ctx, other, fromDisk, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if third.Digest != res.Digest || third.BlobsUploaded != 4 {
		t.Fatalf("push from the layout: %+v, want digest %s and 4 blobs uploaded", third, res.Digest)
	}
	if _, err := remote.Index(other.Digest(res.Digest.String()), opts...); err != nil {
		t.Fatal(err)
	}
}

// TestPushMountsBaseLayers builds on a base in another repository of the same
// registry: its layers are mounted from there (docker media types renamed to
// OCI ones included), so only each image's config and binary are uploaded.
func TestPushMountsBaseLayers(t *testing.T) {
	repo, rec, opts := releasetest.Registry(t)
	ctx := context.Background()
	baseRef := repo.RegistryStr() + "/base/multi:1"
	r, err := registry.ParseRef(baseRef, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, releasetest.MultiPlatformBase(t), opts...); err != nil {
		t.Fatal(err)
	}
	base, err := store.LoadBase(ctx, baseRef, false, opts, store.Cache{})
	if err != nil {
		t.Fatal(err)
	}
	images := releasetest.On(t, base.ImageFor, "linux/amd64", "linux/arm64")
	idx, err := oci.NewIndex(images, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := len(rec.Requests())
	res, err := registry.PushIndex(ctx, repo, idx, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsUploaded != 4 || res.BlobsSkipped != 2 { // each base image has one layer
		t.Fatalf("push on a base in the same registry: %+v, want 4 uploaded and 2 skipped", res)
	}
	for _, r := range rec.Requests()[before:] {
		if strings.HasPrefix(r, "GET /v2/base/multi/blobs/") {
			t.Errorf("a base layer was downloaded to be uploaded again: %s", r)
		}
	}
	got, err := remote.Index(repo.Digest(res.Digest.String()), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
}
