package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/checkout"
	"github.com/xgo-build/xgo-build/magefiles/internal/enginetest"
	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/shim"
)

// cgoTargets are the platforms of the cgo tests: the C cross compiler a release for each
// needs, and the architecture testdata/dockerfile/cgo's C code says its compiler built for.
var cgoTargets = map[string]struct{ gcc, pkg, machine string }{
	"linux/amd64":   {"x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu", "x86_64"},
	"linux/arm64":   {"aarch64-linux-gnu-gcc", "g++-aarch64-linux-gnu", "aarch64"},
	"linux/arm/v7":  {"arm-linux-gnueabihf-gcc", "g++-arm-linux-gnueabihf", "armv7 hard-float"},
	"linux/riscv64": {"riscv64-linux-gnu-gcc", "g++-riscv64-linux-gnu", "riscv64"},
	"linux/ppc64le": {"powerpc64le-linux-gnu-gcc", "g++-powerpc64le-linux-gnu", "ppc64le"},
	"linux/s390x":   {"s390x-linux-gnu-gcc", "g++-s390x-linux-gnu", "s390x"},
}

// cgoReleasePlatforms are the platforms of the cgo release: those with a Debian C cross
// compiler that `go tool mage test` installs (magefiles/internal/tools), and the build
// machine's.
var cgoReleasePlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/riscv64", "linux/ppc64le", "linux/s390x"}

// cgoStaticFlags is the README's XGO_FLAGS of a statically linked cgo release.
const cgoStaticFlags = "-ldflags=-extldflags=-static"

// cgoAnswer returns what testdata/dockerfile/cgo's program prints for the platform pl.
func cgoAnswer(pl string) *regexp.Regexp {
	p, err := shim.Parse(pl)
	if err != nil {
		panic(err)
	}
	return regexp.MustCompile(`^answer 42 from C for ` + regexp.QuoteMeta(cgoTargets[pl].machine) +
		` with glibc 2\.\d+; Go for ` + regexp.QuoteMeta(p.OS+"/"+p.Arch) + `\n$`)
}

// cgoGetenv is the environment a cgo build is verified against: CGO_ENABLED=1.
func cgoGetenv(k string) string {
	if k == "CGO_ENABLED" {
		return "1"
	}
	return ""
}

// testCgoRelease runs `mage release` on a program that calls C (testdata/dockerfile/cgo's)
// with CGO_ENABLED=1 and XGO_FLAGS=-ldflags=-extldflags=-static, as the README says, for
// cgoReleasePlatforms on the default base, scratch, and pushes it to the engine's registry.
// Each platform's image is pulled and run: scratch has no C library, so it runs only as a
// static binary, and it prints the C function's answer, the architecture the C cross
// compiler built for and the glibc linked in. Its /app, copied out, is a cgo binary for the
// platform (shim.VerifyFor) with no dynamic loader.
func testCgoRelease(t *testing.T, e *enginetest.Engine, root string) {
	for _, pl := range cgoReleasePlatforms {
		if pl != enginetest.BuildPlatform() {
			testenv.Command(t, cgoTargets[pl].gcc, "install Debian's "+cgoTargets[pl].pkg+" (`go tool mage test` installs it)")
		}
	}
	mainGo, err := os.ReadFile(filepath.Join(root, "testdata", "dockerfile", "cgo", "cmd", "app", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	p := newMageProject(t, root, string(mainGo))
	repo := e.Registry.Host() + "/cgo-release"
	start := time.Now()
	ref := strings.TrimSuffix(p.run(t, "release", "XGO_REPO="+repo, "CGO_ENABLED=1",
		"XGO_FLAGS="+cgoStaticFlags, "XGO_PLATFORMS="+strings.Join(cgoReleasePlatforms, ",")), "\n")
	t.Logf("released in %.1fs", time.Since(start).Seconds())
	if got := indexPlatforms(t, ref); !slices.Equal(got, cgoReleasePlatforms) {
		t.Fatalf("the release's index is for %v, want %v", got, cgoReleasePlatforms)
	}
	for _, pl := range cgoReleasePlatforms {
		start := time.Now()
		id := pullPlatform(t, e, ref, pl)
		sp, err := shim.Parse(pl)
		if err != nil {
			t.Fatal(err)
		}
		bin := copyBinary(t, e, id, pl, "/app")
		if err := shim.VerifyFor(bin, sp, cgoGetenv); err != nil {
			t.Errorf("%s: %v", pl, err)
		}
		if dynamic, err := shim.Dynamic(bin); err != nil || dynamic {
			t.Errorf("%s: shim.Dynamic(/app) = %v, %v; want a static binary", pl, dynamic, err)
		}
		out, _ := e.Docker(t, "run", "--rm", "--platform", pl, id)
		if want := cgoAnswer(pl); !want.MatchString(out) {
			t.Errorf("%s: the image printed %q, want %s", pl, out, want)
		}
		removeImage(t, e, id)
		t.Logf("%s: pulled and ran in %.1fs: %s", pl, time.Since(start).Seconds(), strings.TrimSpace(out))
	}
}

// cgoHeading is the README's heading of the section whose first dockerfile block is the cgo
// example Dockerfile.
const cgoHeading = "### cgo cross builds\n"

// cgoPackagesImage is the image, by its docker.io name, that holds the files of the Debian
// packages the cgo example installs: the test's Dockerfile copies it in place of the apt-get
// line.
const cgoPackagesImage = "xgo-build-test/debian-packages:cgo"

// cgoExample is the README's cgo example Dockerfile as the test builds it.
type cgoExample struct {
	dockerfile string   // with checkout.ExampleArgs added and the apt-get instruction replaced
	packages   []string // the packages that instruction installs
	platforms  []string // of the README's `docker buildx build --platform` after it
}

// cgoDockerfile returns the README's cgo example (the first dockerfile block of the section
// cgoHeading in readme) as the test builds it: the engine can pull no Debian image for
// apt-get to run in, so the stand-in for golang:1.26 is made of this machine's Debian
// packages (enginetest.PushDebianStandIns), and the one instruction that runs apt-get is
// replaced by `COPY --from=cgoPackagesImage / /`, which adds the files of the packages it
// names (enginetest.PushDebianPackages); checkout.ExampleArgs is added after the first line, as the
// README's other example gets it, for the go install of xgo-build. Everything else is the
// README's text, byte for byte.
func cgoDockerfile(readme string) (cgoExample, error) {
	var ex cgoExample
	_, section, ok := strings.Cut(readme, cgoHeading)
	if !ok {
		return ex, fmt.Errorf("the README has no %q", strings.TrimSpace(cgoHeading))
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, after, ok := strings.Cut(section, "```dockerfile\n")
	if !ok {
		return ex, errors.New("the README's cgo section has no dockerfile block")
	}
	block, after, ok := strings.Cut(after, "```\n")
	if !ok {
		return ex, errors.New("the README's cgo example Dockerfile block does not end")
	}
	if strings.Contains(block, "# syntax=") {
		return ex, errors.New("the README's cgo example Dockerfile has a # syntax= line, which makes BuildKit pull a frontend image")
	}
	first, rest, _ := strings.Cut(block, "\n")
	if !strings.HasPrefix(first, "FROM --platform=$BUILDPLATFORM golang:1.26 ") {
		return ex, fmt.Errorf("the README's cgo example Dockerfile starts with %q, want a FROM --platform=$BUILDPLATFORM golang:1.26 stage", first)
	}
	lines := strings.Split(rest, "\n")
	if !slices.Contains(lines, checkout.ExampleInstall) {
		return ex, fmt.Errorf("the README's cgo example Dockerfile has no line %q", checkout.ExampleInstall)
	}
	var out []string
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "RUN apt-get ") {
			out = append(out, lines[i])
			continue
		}
		if ex.packages != nil {
			return ex, errors.New("the README's cgo example Dockerfile runs apt-get twice")
		}
		instr := lines[i]
		for strings.HasSuffix(lines[i], "\\") && i+1 < len(lines) {
			i++
			instr = strings.TrimSuffix(instr, "\\") + lines[i]
		}
		for _, cmd := range strings.Split(strings.TrimPrefix(instr, "RUN "), "&&") {
			words := strings.Fields(cmd)
			if len(words) < 2 || words[0] != "apt-get" || words[1] != "install" {
				continue
			}
			for _, w := range words[2:] {
				if !strings.HasPrefix(w, "-") {
					ex.packages = append(ex.packages, w)
				}
			}
		}
		if len(ex.packages) == 0 {
			return ex, fmt.Errorf("the README's cgo example's %q installs no package", instr)
		}
		out = append(out, "COPY --from="+cgoPackagesImage+" / /")
	}
	if ex.packages == nil {
		return ex, errors.New("the README's cgo example Dockerfile has no RUN apt-get")
	}
	ex.dockerfile = first + "\n" + checkout.ExampleArgs + "\n" + strings.Join(out, "\n")

	m := regexp.MustCompile(`(?m)^docker buildx build --platform (\S+) `).FindStringSubmatch(after)
	if m == nil {
		return ex, errors.New("the README's cgo example Dockerfile is not followed by its `docker buildx build --platform ...` command")
	}
	ex.platforms = strings.Split(m[1], ",")
	for _, p := range ex.platforms {
		if _, ok := cgoTargets[p]; !ok {
			return ex, fmt.Errorf("the README's cgo example is built for %s, which the test knows no C compiler of", p)
		}
	}
	return ex, nil
}

// TestCgoDockerfile checks that the README's cgo example is one that testCgoDockerfile can
// build, on any machine.
func TestCgoDockerfile(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := cgoDockerfile(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.platforms) < 2 || !slices.Contains(ex.platforms, "linux/arm64") {
		t.Errorf("the README's cgo example is built for %v, want linux/arm64 and others", ex.platforms)
	}
	for _, pkg := range []string{"gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"} {
		if !slices.Contains(ex.packages, pkg) {
			t.Errorf("the README's cgo example installs %v, without %s", ex.packages, pkg)
		}
	}
	lines := strings.Split(ex.dockerfile, "\n")
	if lines[1] != checkout.ExampleArgs || !slices.Contains(lines, "COPY --from="+cgoPackagesImage+" / /") || strings.Contains(ex.dockerfile, "apt-get") {
		t.Errorf("cgoDockerfile returned:\n%s", ex.dockerfile)
	}
	for _, l := range lines {
		if l != checkout.ExampleArgs && l != "COPY --from="+cgoPackagesImage+" / /" && !strings.Contains(string(readme), l) {
			t.Errorf("the line %q is neither the README's nor one the test adds", l)
		}
	}

	good := cgoHeading + "```dockerfile\nFROM --platform=$BUILDPLATFORM golang:1.26 AS build\nRUN apt-get update && apt-get install -y a \\\n  b\n" +
		checkout.ExampleInstall + "\n```\n\n```sh\ndocker buildx build --platform linux/amd64,linux/arm64 -t you/app .\n```\n"
	if ex, err := cgoDockerfile(good); err != nil || !slices.Equal(ex.packages, []string{"a", "b"}) || !slices.Equal(ex.platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("cgoDockerfile(%q) = %+v, %v", good, ex, err)
	}
	for _, bad := range []string{
		"no heading\n```dockerfile\nFROM scratch\n```\n",
		strings.Replace(good, "golang:1.26 AS", "golang:1.26-alpine AS", 1),
		strings.Replace(good, "FROM", "# syntax=docker/dockerfile:1\nFROM", 1),
		strings.Replace(good, checkout.ExampleInstall, "RUN go install example.com/x@latest", 1),
		strings.Replace(good, "RUN apt-get", "RUN apk", 1),
		strings.Replace(good, "docker buildx build", "docker build", 1),
		strings.Replace(good, "linux/arm64", "linux/mips", 1),
	} {
		if got, err := cgoDockerfile(bad); err == nil {
			t.Errorf("cgoDockerfile(%q) = %+v, want an error", bad, got)
		}
	}
}

// testCgoDockerfile builds the README's cgo example (see cgoDockerfile) on
// testdata/dockerfile/cgo, a program that calls C, for the platforms the README builds it
// for, with xgo-build installed from a module proxy that serves this checkout, and pushes the
// index. The build stage runs on the build platform with the C cross compilers of the
// packages the README installs; each RUN's --xgo-verify says the binary is a dynamically
// linked cgo binary for its platform. Each image is pulled and run on the debian:bookworm-slim
// stand-in, whose glibc the program links at run time: it prints the C function's answer and
// the architecture the C compiler built for.
func testCgoDockerfile(t *testing.T, e *enginetest.Engine, root string) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := cgoDockerfile(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	e.PushDebianStandIns(t, ex.platforms)
	e.PushDebianPackages(t, cgoPackagesImage, ex.packages)
	repo := e.Registry.Host() + "/cgo-example"
	log := buildFromCheckout(t, e, root, ex.dockerfile, ex.platforms, repo+":test", filepath.Join(root, "testdata", "dockerfile", "cgo"))
	for _, p := range ex.platforms {
		if want := "/out/app: ok " + p + " (cgo, dynamic)\n"; !strings.Contains(log, want) {
			t.Errorf("the build log lacks the example's --xgo-verify line %q:\n%s", want, log)
		}
	}

	images := pushedImages(t, repo+":test", ex.platforms)
	for _, p := range ex.platforms {
		start := time.Now()
		e.Pull(t, images[p])
		out, _ := e.Docker(t, "run", "--rm", "--platform", p, images[p])
		if want := cgoAnswer(p); !want.MatchString(out) {
			t.Errorf("%s: the image printed %q, want %s", p, out, want)
		}
		t.Logf("%s: pulled and ran in %.1fs: %s", p, time.Since(start).Seconds(), strings.TrimSpace(out))
	}
}
