package engine

import (
	"debug/buildinfo"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/enginetest"
)

// platforms are the platforms the repository's Dockerfile is built for: the build machine's
// own and three that run under QEMU.
var platforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/riscv64"}

// hostWarning starts the one line xgo-build writes when it finds no target platform.
const hostWarning = "xgo-build: warning: no target platform (TARGETPLATFORM, TARGETOS/TARGETARCH unset): building for the host; " +
	"declare ARG TARGETPLATFORM in the Dockerfile stage or pass --xgo-platform"

// TestEngine runs this repository's products in one engine, whose BuildKit cache the builds
// share: Dockerfiles built with xgo-build, and the images of the release targets, pulled from
// the registry and loaded, run.
func TestEngine(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Dockerfile")); err != nil {
		t.Fatalf("the repository's Dockerfile: %v", err)
	}
	e := enginetest.Start(t)
	xgoImage := e.Registry.Host() + "/xgo-build:test"
	pushed := t.Run("Repository", func(t *testing.T) { testRepository(t, e, root, xgoImage) })
	t.Run("NoTargetPlatformArg", func(t *testing.T) { testNoTargetPlatformArg(t, e, root) })
	t.Run("Example", func(t *testing.T) { testExample(t, e, root) })
	// These take xgo-build from the image Repository pushed.
	t.Run("XgoBuildImage", func(t *testing.T) { needImage(t, pushed); testXgoBuildImage(t, e, root, xgoImage) })
	t.Run("GoWrapper", func(t *testing.T) { needImage(t, pushed); testGoWrapper(t, e, root, xgoImage) })
	t.Run("Release", func(t *testing.T) { testRelease(t, e, root) })
	t.Run("CgoRelease", func(t *testing.T) { testCgoRelease(t, e, root) })
	t.Run("CgoDockerfile", func(t *testing.T) { testCgoDockerfile(t, e, root) })
}

// needImage skips a test that builds on the xgo-build image when the Repository test, which
// pushes it, failed (that failure is already reported).
func needImage(t *testing.T, pushed bool) {
	t.Helper()
	if !pushed {
		t.Skip("the Repository test failed: no xgo-build image to take xgo-build from")
	}
}

// testRepository builds the repository's Dockerfile as its comment says, for four platforms,
// pushes the index as ref, and runs each platform's image in the Docker daemon: xgo-build
// prints its version and verifies that it is itself a binary for that platform.
func testRepository(t *testing.T, e *enginetest.Engine, root, ref string) {
	start := time.Now()
	e.Docker(t, "buildx", "build", "--progress=plain", "--platform", strings.Join(platforms, ","),
		"--push", "-t", ref, root)
	t.Logf("built %s and pushed it in %.1fs", strings.Join(platforms, ","), time.Since(start).Seconds())

	images := pushedImages(t, ref, platforms)
	version := regexp.MustCompile(`^xgo-build \S+\n$`)
	for _, p := range platforms {
		start := time.Now()
		e.Pull(t, images[p])
		out, _ := e.Docker(t, "run", "--rm", "--platform", p, images[p], "--xgo-version")
		if !version.MatchString(out) {
			t.Errorf("%s: --xgo-version printed %q, want %s", p, out, version)
		}
		out, _ = e.Docker(t, "run", "--rm", "--platform", p, images[p], "--xgo-platform="+p, "--xgo-verify", "/xgo-build")
		if want := "/xgo-build: ok " + p + "\n"; out != want {
			t.Errorf("%s: --xgo-verify of itself printed %q, want %q", p, out, want)
		}
		t.Logf("%s: pulled and ran in %.1fs", p, time.Since(start).Seconds())
	}
}

// pushedImages reads the image index at ref in the engine's registry, checks it, and returns
// its images by platform as repo@digest references; it fails t unless they are one for each
// of want.
func pushedImages(t *testing.T, ref string, want []string) map[string]string {
	t.Helper()
	repo := ref[:strings.LastIndex(ref, ":")]
	images := map[string]string{} // platform -> repo@digest
	for _, m := range readIndex(t, ref).Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue // buildx's provenance, one per image
		}
		if m.Platform == nil {
			t.Fatalf("index entry %s has no platform", m.Digest)
		}
		images[m.Platform.String()] = repo + "@" + m.Digest.String()
	}
	if got := slices.Sorted(maps.Keys(images)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("the index's images are for %v, want %v", got, want)
	}
	return images
}

// testNoTargetPlatformArg builds, for linux/arm64, a Dockerfile whose build stage does not
// declare ARG TARGETPLATFORM: the build succeeds, for the build machine (testdata/hello says
// which platform it was built for), and the build log has xgo-build's warning line once.
func testNoTargetPlatformArg(t *testing.T, e *enginetest.Engine, root string) {
	out := t.TempDir()
	start := time.Now()
	_, log := e.Docker(t, "buildx", "build", "--progress=plain", "--platform", "linux/arm64",
		"-f", filepath.Join(root, "testdata", "dockerfile", "no-targetplatform", "Dockerfile"),
		"--output", "type=local,dest="+out, root)
	t.Logf("built in %.1fs", time.Since(start).Seconds())
	if n := strings.Count(log, hostWarning); n != 1 {
		t.Errorf("the build log has xgo-build's warning %d times, want once:\n%s", n, log)
	}
	hello := filepath.Join(out, "hello")
	settings := buildSettings(t, hello)
	if got, want := settings["GOOS"]+"/"+settings["GOARCH"], enginetest.BuildPlatform(); got != want {
		t.Fatalf("the binary is for %s, want the build machine's %s", got, want)
	}
	said, err := exec.Command(hello).Output()
	if want := "hello from " + enginetest.BuildPlatform() + "\n"; err != nil || string(said) != want {
		t.Errorf("running the binary: %q, %v; want %q", said, err, want)
	}
}

// buildSettings returns the build settings (GOOS, GOARCH, CGO_ENABLED, ...) of the Go binary
// at path, from its build info.
func buildSettings(t *testing.T, path string) map[string]string {
	t.Helper()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	return settings
}
