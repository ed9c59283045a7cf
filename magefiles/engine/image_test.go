package engine

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/enginetest"
)

// imagePlatform is the target of the builds that take xgo-build from the xgo-build image: a
// foreign one, whose xgo-build runs on the build machine only under emulation.
const imagePlatform = "linux/arm64"

// testXgoBuildImage builds testdata/dockerfile/xgo-build-image, which takes xgo-build from
// the image at xgoImage as the README says (a FROM --platform=$BUILDPLATFORM stage, then
// COPY --from that stage), for imagePlatform. The binfmt_misc handlers would run the
// target's xgo-build too, so the build succeeding proves nothing: the RUN verifies that the
// xgo-build it runs is the build platform's, and that a plain COPY --from=<image> got the
// target platform's, and the test finds both lines in the build log.
func testXgoBuildImage(t *testing.T, e *enginetest.Engine, root, xgoImage string) {
	out := t.TempDir()
	start := time.Now()
	_, log := e.Docker(t, "buildx", "build", "--progress=plain", "--platform", imagePlatform,
		"--build-arg", "XGO_IMAGE="+xgoImage,
		"-f", filepath.Join(root, "testdata", "dockerfile", "xgo-build-image", "Dockerfile"),
		"--output", "type=local,dest="+out, filepath.Join(root, "testdata", "hello"))
	t.Logf("built in %.1fs", time.Since(start).Seconds())
	for _, want := range []string{
		"/usr/local/bin/xgo-build: ok " + enginetest.BuildPlatform() + "\n",
		"/tmp/target-xgo-build: ok " + imagePlatform + "\n",
		"/out/hello: ok " + imagePlatform + "\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the build log lacks %q:\n%s", want, log)
		} else {
			t.Logf("the build's --xgo-verify: %s", strings.TrimSpace(want))
		}
	}
	checkPlatform(t, filepath.Join(out, "hello"), imagePlatform)
}

// testGoWrapper builds testdata/dockerfile/go-wrapper, which links xgo-build as go ahead of
// the real go, as the README says, and runs an unchanged `go build`, for imagePlatform: the
// binary's build info says it is for imagePlatform.
func testGoWrapper(t *testing.T, e *enginetest.Engine, root, xgoImage string) {
	out := t.TempDir()
	start := time.Now()
	_, log := e.Docker(t, "buildx", "build", "--progress=plain", "--platform", imagePlatform,
		"--build-arg", "XGO_IMAGE="+xgoImage,
		"-f", filepath.Join(root, "testdata", "dockerfile", "go-wrapper", "Dockerfile"),
		"--output", "type=local,dest="+out, filepath.Join(root, "testdata", "hello"))
	t.Logf("built in %.1fs", time.Since(start).Seconds())
	if !strings.Contains(log, " /go/bin/go\n") {
		t.Errorf("the build log lacks `command -v go` printing /go/bin/go, the link:\n%s", log)
	}
	if strings.Contains(log, hostWarning) {
		t.Errorf("the build log has xgo-build's warning that it built for the host:\n%s", log)
	}
	checkPlatform(t, filepath.Join(out, "hello"), imagePlatform)
}

// checkPlatform fails t unless the build info of the Go binary at path says it was built for
// platform, an os/arch without a variant, with CGO_ENABLED=0.
func checkPlatform(t *testing.T, path, platform string) {
	t.Helper()
	s := buildSettings(t, path)
	if got := s["GOOS"] + "/" + s["GOARCH"]; got != platform || s["CGO_ENABLED"] != "0" {
		t.Errorf("%s was built for %s with CGO_ENABLED=%q, want %s with CGO_ENABLED=0", filepath.Base(path), got, s["CGO_ENABLED"], platform)
	}
}
