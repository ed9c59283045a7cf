package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/xgo-build/xgo-build/magefiles/internal/enginetest"
	"github.com/xgo-build/xgo-build/shim"
)

// releaseMust are platforms the release's default list must hold, all of which run here.
var releaseMust = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/riscv64"}

// testRelease runs `mage release` as a user runs it, on testdata/userproject (a program that
// prints the platform it was built for, its variant variable included) with the default
// platforms and base (scratch), pushing to the engine's registry; then, for every platform
// of the pushed index, `docker pull --platform P` and `docker run --platform P` of the
// reference the release printed: each image prints its own platform (foreign ones through
// QEMU, linux/386 natively where the kernel has IA32 emulation). A platform the engine cannot
// run (linux/386 on a kernel without IA32 emulation) is verified instead: its /app, copied out
// of the pulled image, is a Go binary for it (shim.Verify). Then `mage load` gives the engine
// each platform of dist/oci (XGO_LOAD_PLATFORM), which runs (or is verified) the same.
func testRelease(t *testing.T, e *enginetest.Engine, root string) {
	p := newMageProject(t, root, "")
	repo := e.Registry.Host() + "/release"
	start := time.Now()
	ref := strings.TrimSuffix(p.run(t, "release", "XGO_REPO="+repo), "\n")
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(repo) + `@sha256:[0-9a-f]{64}$`).MatchString(ref) {
		t.Fatalf("mage release printed %q, want the line %s@sha256:...", ref, repo)
	}
	t.Logf("released in %.1fs", time.Since(start).Seconds())
	index := indexPlatforms(t, ref)
	for _, must := range releaseMust {
		if !slices.Contains(index, must) {
			t.Fatalf("the release's index is for %v, which lacks %s", index, must)
		}
	}

	for _, pl := range index {
		start := time.Now()
		id := pullPlatform(t, e, ref, pl)
		checkHello(t, e, id, pl)
		removeImage(t, e, id)
		t.Logf("%s: pulled and checked in %.1fs", pl, time.Since(start).Seconds())
	}

	for _, pl := range index {
		start := time.Now()
		tag := "xgo-engine-load:" + strings.ReplaceAll(pl, "/", "-")
		if got := p.run(t, "load", "XGO_LOAD_PLATFORM="+pl, "XGO_LOAD_TAG="+tag); got != tag+"\n" {
			t.Errorf("mage load of %s printed %q, want the tag %s alone", pl, got, tag)
		}
		if got, _ := e.Docker(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}", tag); got != pl+"\n" {
			t.Errorf("the image loaded for %s is for %q", pl, got)
		}
		checkHello(t, e, tag, pl)
		removeImage(t, e, tag)
		t.Logf("%s: loaded and checked in %.1fs", pl, time.Since(start).Seconds())
	}
}

// checkHello runs the image (an ID or a tag) of testdata/userproject for the platform pl, or
// verifies its binary where the engine cannot run it.
func checkHello(t *testing.T, e *enginetest.Engine, image, pl string) {
	t.Helper()
	sp, err := shim.Parse(pl)
	if err != nil {
		t.Fatal(err)
	}
	want := "hello from " + sp.OS + "/" + sp.Arch
	if v := sp.VariantVar(); v != "" {
		want += " " + v + "=" + sp.VariantValue()
	}
	var out string
	switch {
	case enginetest.Runs(pl):
		out, _ = e.Docker(t, "run", "--rm", "--platform", pl, image)
	case pl == "linux/386" && runtime.GOARCH == "amd64":
		// It runs natively where the kernel has IA32 emulation.
		cmd := e.Command(t.Context(), "run", "--rm", "--platform", pl, image)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil && strings.Contains(stderr.String(), "exec format error") {
			verifyHello(t, e, image, sp, "the kernel has no IA32 emulation: "+strings.TrimSpace(stderr.String()))
			return
		}
		if err != nil {
			t.Fatalf("docker run --platform %s %s: %v\n%s%s", pl, image, err, stdout.String(), stderr.String())
		}
		out = stdout.String()
		t.Logf("%s: ran natively (the kernel has IA32 emulation)", pl)
	default:
		verifyHello(t, e, image, sp, "the engine runs no "+pl+" image")
		return
	}
	if out != want+"\n" {
		t.Errorf("%s: the image printed %q, want %q", pl, out, want+"\n")
	}
}

// verifyHello checks, where the image cannot run (why says so), that its /app is a Go
// binary for the platform sp.
func verifyHello(t *testing.T, e *enginetest.Engine, image string, sp shim.Platform, why string) {
	t.Helper()
	bin := copyBinary(t, e, image, sp.String(), "/app")
	if err := shim.Verify(bin, sp); err != nil {
		t.Errorf("%s: not run (%s), and its /app fails verification: %v", sp, why, err)
		return
	}
	t.Logf("%s: not run (%s); its /app is a Go binary for it (shim.Verify)", sp, why)
}

// indexPlatforms reads the image index at ref in the engine's registry, checks it, and
// returns the platforms of its images, in its order.
func indexPlatforms(t *testing.T, ref string) []string {
	t.Helper()
	var ps []string
	for _, m := range readIndex(t, ref).Manifests {
		if m.Platform == nil {
			t.Fatalf("index entry %s has no platform", m.Digest)
		}
		ps = append(ps, m.Platform.String())
	}
	return ps
}

// readIndex reads the image index at ref in the engine's registry, checks it with
// go-containerregistry's validate, and returns its manifest.
func readIndex(t *testing.T, ref string) *v1.IndexManifest {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("reading the pushed index: %v", err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("the pushed index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// pullPlatform runs `docker pull --platform pl ref` and returns the ID of the image pulled,
// which the Docker daemon keeps until removeImage (or the end of the test).
func pullPlatform(t *testing.T, e *enginetest.Engine, ref, pl string) string {
	t.Helper()
	e.Docker(t, "pull", "--quiet", "--platform", pl, ref)
	id, _ := e.Docker(t, "image", "inspect", "--format", "{{.Id}}", ref)
	id = strings.TrimSpace(id)
	t.Cleanup(func() { removeImage(t, e, id) })
	if got, _ := e.Docker(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}", id); got != pl+"\n" {
		t.Errorf("docker pull --platform %s %s pulled an image for %q", pl, ref, got)
	}
	return id
}

// removeImage removes the image (an ID or a tag) from the Docker daemon, if it is there.
func removeImage(t *testing.T, e *enginetest.Engine, image string) {
	t.Helper()
	// Not t.Context(): it is done when the test's cleanups run.
	cmd := e.Command(context.Background(), "image", "rm", "--force", image)
	if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "No such image") {
		t.Errorf("docker image rm %s: %v: %s", image, err, out)
	}
}

// copyBinary copies the file at path out of the image (for the platform pl) with docker
// create and docker cp, and returns where it is.
func copyBinary(t *testing.T, e *enginetest.Engine, image, pl, path string) string {
	t.Helper()
	id, _ := e.Docker(t, "create", "--platform", pl, image)
	id = strings.TrimSpace(id)
	defer e.Docker(t, "rm", id)
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	e.Docker(t, "cp", id+":"+path, dst)
	if _, err := os.Stat(dst); err != nil {
		t.Fatalf("docker cp %s:%s: %v", id, path, err)
	}
	return dst
}
