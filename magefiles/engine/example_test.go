package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/enginetest"
)

// exampleHeading is the README's sentence that introduces the complete example Dockerfile,
// the first dockerfile block after it.
const exampleHeading = "A complete multi-arch Dockerfile"

// exampleInstall is the example's line that installs xgo-build, which the test serves from a
// module proxy of its own.
const exampleInstall = "RUN CGO_ENABLED=0 go install github.com/xgo-build/xgo-build/cmd/xgo-build@latest"

// exampleArgs is the one line the test adds to the README's example, after its first FROM:
// the public module proxy has no github.com/xgo-build/xgo-build that is this checkout, so
// the build passes GOPROXY (the test's proxy first, then the host's own proxies for the
// module's dependencies) and GONOSUMDB (the checksum database does not know this checkout's
// zip) as build args, which reach a RUN only when the stage declares them. Everything else is
// the README's text, byte for byte.
const exampleArgs = "ARG GOPROXY GONOSUMDB"

// exampleDockerfile returns the README's complete example Dockerfile (the first dockerfile
// block after exampleHeading in readme) with exampleArgs added after its first line.
func exampleDockerfile(readme string) (string, error) {
	_, after, ok := strings.Cut(readme, exampleHeading)
	if !ok {
		return "", fmt.Errorf("the README has no %q", exampleHeading)
	}
	_, after, ok = strings.Cut(after, "```dockerfile\n")
	if !ok {
		return "", fmt.Errorf("the README has no dockerfile block after %q", exampleHeading)
	}
	block, _, ok := strings.Cut(after, "```\n")
	if !ok {
		return "", errors.New("the README's example Dockerfile block does not end")
	}
	if strings.Contains(block, "# syntax=") {
		// BuildKit would pull the frontend image the line names, from a docker.io that is
		// the engine's registry, which has no such image.
		return "", errors.New("the README's example Dockerfile has a # syntax= line: " +
			"BuildKit's built-in frontend runs all of it, and the line makes BuildKit pull a frontend image")
	}
	first, rest, _ := strings.Cut(block, "\n")
	if !strings.HasPrefix(first, "FROM --platform=$BUILDPLATFORM ") {
		return "", fmt.Errorf("the README's example Dockerfile starts with %q, want a FROM --platform=$BUILDPLATFORM stage", first)
	}
	if !slices.Contains(strings.Split(rest, "\n"), exampleInstall) {
		return "", fmt.Errorf("the README's example Dockerfile has no line %q", exampleInstall)
	}
	return first + "\n" + exampleArgs + "\n" + rest, nil
}

// TestExampleDockerfile checks that the README's example Dockerfile is one that testExample
// can build, on any machine.
func TestExampleDockerfile(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := exampleDockerfile(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	// Without the added line it is a block of the README.
	if block := strings.Replace(got, "\n"+exampleArgs+"\n", "\n", 1); block == got ||
		!strings.Contains(string(readme), "```dockerfile\n"+block+"```\n") {
		t.Errorf("exampleDockerfile returned what is not the README's block with %q added:\n%s", exampleArgs, got)
	}

	for _, bad := range []string{
		"no heading\n```dockerfile\nFROM scratch\n```\n",
		exampleHeading + ":\n```dockerfile\n# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang AS build\n" + exampleInstall + "\n```\n",
		exampleHeading + ":\n```dockerfile\nFROM golang AS build\n" + exampleInstall + "\n```\n",
		exampleHeading + ":\n```dockerfile\nFROM --platform=$BUILDPLATFORM golang AS build\nRUN go install example.com/x@latest\n```\n",
	} {
		if got, err := exampleDockerfile(bad); err == nil {
			t.Errorf("exampleDockerfile(%q) = %q, want an error", bad, got)
		}
	}
}

// testExample builds the README's example Dockerfile (see exampleDockerfile) on
// testdata/dockerfile/example, a program with one dependency, for every platform of
// platforms, with xgo-build installed from a module proxy that serves this checkout; pushes
// the index; and runs each platform's image in the Docker daemon, which prints the platform
// the program was built for.
func testExample(t *testing.T, e *enginetest.Engine, root string) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := exampleDockerfile(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	proxy := startModuleProxy(t, root)
	hostProxy, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env GOPROXY: %v", err)
	}
	goproxy := proxy.URL + "," + strings.TrimSpace(string(hostProxy))

	repo := e.Registry.Host() + "/example"
	start := time.Now()
	_, log := e.Docker(t, "buildx", "build", "--progress=plain", "--platform", strings.Join(platforms, ","),
		"--build-arg", "GOPROXY="+goproxy, "--build-arg", "GONOSUMDB="+modulePath,
		"-f", df, "--push", "-t", repo+":test", filepath.Join(root, "testdata", "dockerfile", "example"))
	t.Logf("built %s and pushed it in %.1fs", strings.Join(platforms, ","), time.Since(start).Seconds())
	if n := proxy.zips.Load(); n != 1 {
		t.Errorf("the module proxy served %s@%s's zip %d times, want once (go install fetched xgo-build from elsewhere?)", modulePath, proxy.Version, n)
	}
	for _, p := range platforms {
		if want := "/out/app: ok " + p + "\n"; !strings.Contains(log, want) {
			t.Errorf("the build log lacks the example's --xgo-verify line %q:\n%s", want, log)
		}
	}

	images := pushedImages(t, repo+":test", platforms)
	for _, p := range platforms {
		start := time.Now()
		e.Pull(t, images[p])
		out, _ := e.Docker(t, "run", "--rm", "--platform", p, images[p])
		if want := "hello from " + p + ", 1,234,567\n"; out != want {
			t.Errorf("%s: the image printed %q, want %q", p, out, want)
		}
		t.Logf("%s: pulled and ran in %.1fs", p, time.Since(start).Seconds())
	}
}
