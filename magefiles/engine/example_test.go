package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/checkout"
	"github.com/xgo-build/xgo-build/magefiles/internal/enginetest"
)

// startModuleProxy starts a checkout.ModuleProxy serving the checkout at root, which it
// stops when t ends.
func startModuleProxy(t testing.TB, root string) *checkout.ModuleProxy {
	t.Helper()
	p, err := checkout.StartModuleProxy(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
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
	dockerfile, err := checkout.ExampleDockerfile(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	repo := e.Registry.Host() + "/example"
	log := buildFromCheckout(t, e, root, dockerfile, platforms, repo+":test", filepath.Join(root, "testdata", "dockerfile", "example"))
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

// buildFromCheckout builds dockerfile for platforms with buildx and pushes it as ref, with
// the build context dir and xgo-build's module served from the checkout at root by a
// checkout.ModulePath proxy (GOPROXY and GONOSUMDB as build args, the host's own proxies
// after it); it checks the build fetched the module's zip from that proxy once, and returns
// the build log.
func buildFromCheckout(t *testing.T, e *enginetest.Engine, root, dockerfile string, platforms []string, ref, dir string) string {
	t.Helper()
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
	start := time.Now()
	_, log := e.Docker(t, "buildx", "build", "--progress=plain", "--platform", strings.Join(platforms, ","),
		"--build-arg", "GOPROXY="+goproxy, "--build-arg", "GONOSUMDB="+checkout.ModulePath,
		"-f", df, "--push", "-t", ref, dir)
	t.Logf("built %s and pushed it in %.1fs", strings.Join(platforms, ","), time.Since(start).Seconds())
	if n := proxy.Zips(); n != 1 {
		t.Errorf("the module proxy served %s@%s's zip %d times, want once (go install fetched xgo-build from elsewhere?)", checkout.ModulePath, proxy.Version, n)
	}
	return log
}
