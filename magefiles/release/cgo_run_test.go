package release

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/shim"
)

// cgoMain calls a C function, so that it only builds with cgo.
const cgoMain = `package main

// int answer(void) { return 42; }
import "C"

import "fmt"

func main() { fmt.Println("answer", C.answer()) }
`

// A cgoTarget is the foreign platform of the cgo tests, with its C cross compiler.
type cgoTarget struct {
	platform string // linux/arm64, or linux/amd64 on an arm64 host
	dir      string // the platform's directory under dist/bin
	gcc      string // the C cross compiler
	pkgs     string // the Debian packages of gcc
	qemu     string // the qemu-user that runs the platform's binaries
}

// cgoCross returns the foreign platform of the cgo tests, whose C cross compiler must be on
// PATH.
func cgoCross(t *testing.T) cgoTarget {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("cgo cross builds are tested on linux")
	}
	c := cgoTarget{"linux/arm64", "linux_arm64", "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu libc6-dev-arm64-cross", "qemu-aarch64-static"}
	if runtime.GOARCH == "arm64" {
		c = cgoTarget{"linux/amd64", "linux_amd64", "x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu libc6-dev-amd64-cross", "qemu-x86_64-static"}
	}
	testenv.Command(t, c.gcc, "install Debian's "+c.pkgs)
	return c
}

// cgoRunEnv is a run in dir with CGO_ENABLED=1 and env, the process environment without
// any GO*/C toolchain variable the machine may set.
func cgoRunEnv(dir string, env map[string]string, out *strings.Builder) runEnv {
	environ := []string{"CGO_ENABLED=1"}
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "GO386", "GOPPC64", "GORISCV64",
			"CGO_ENABLED", "CC", "CXX", "PKG_CONFIG_LIBDIR", "XGO_CC", "XGO_CXX":
			continue
		}
		environ = append(environ, kv)
	}
	env["CGO_ENABLED"] = "1"
	env["SOURCE_DATE_EPOCH"] = "0"
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = os.Getenv("PATH")
	}
	return runEnv{dir: dir, getenv: envMap(env), environ: environ, out: out}
}

// TestRunCgoStatic builds a cgo program for a foreign platform with CGO_ENABLED=1 and
// -extldflags=-static: binaries, then image on scratch, succeed, and the binary is a static
// cgo binary (and runs under qemu-user when it is installed).
func TestRunCgoStatic(t *testing.T) {
	c := cgoCross(t)
	dir := writeModule(t, map[string]string{"main.go": cgoMain})
	env := map[string]string{"XGO_PLATFORMS": c.platform, "XGO_FLAGS": "-ldflags=-extldflags=-static"}
	var out strings.Builder
	e := cgoRunEnv(dir, env, &out)
	if err := run(t.Context(), e, stageBinaries); err != nil {
		t.Fatalf("binaries: %v\n%s", err, out.String())
	}
	bin := filepath.Join(dir, "dist", "bin", c.dir, "app")
	info := goVersionM(t, bin)
	if !strings.Contains(info, "\tbuild\tCGO_ENABLED=1\n") {
		t.Errorf("go version -m %s lacks CGO_ENABLED=1:\n%s", bin, info)
	}
	if dynamic, err := shim.Dynamic(bin); err != nil || dynamic {
		t.Errorf("shim.Dynamic(%s) = %v, %v; want a static binary", bin, dynamic, err)
	}
	if qemu, err := exec.LookPath(c.qemu); err == nil {
		got, err := exec.Command(qemu, bin).CombinedOutput()
		if err != nil || string(got) != "answer 42\n" {
			t.Errorf("%s %s: %q, %v; want \"answer 42\\n\"", c.qemu, bin, got, err)
		}
	}

	out.Reset()
	env["XGO_BASE"] = "scratch"
	if err := run(t.Context(), e, stageImage); err != nil {
		t.Fatalf("image on scratch: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "dist", "oci", "index.json")); err != nil {
		t.Errorf("image on scratch wrote no layout: %v", err)
	}
}

// TestRunCgoDynamicOnScratch builds the cgo program dynamically linked: binaries succeeds,
// image on scratch fails naming the platform and the fixes, and writes no layout.
func TestRunCgoDynamicOnScratch(t *testing.T) {
	c := cgoCross(t)
	dir := writeModule(t, map[string]string{"main.go": cgoMain})
	env := map[string]string{"XGO_PLATFORMS": c.platform}
	var out strings.Builder
	e := cgoRunEnv(dir, env, &out)
	if err := run(t.Context(), e, stageBinaries); err != nil {
		t.Fatalf("binaries: %v\n%s", err, out.String())
	}
	bin := filepath.Join(dir, "dist", "bin", c.dir, "app")
	if dynamic, err := shim.Dynamic(bin); err != nil || !dynamic {
		t.Fatalf("shim.Dynamic(%s) = %v, %v; want a dynamic binary", bin, dynamic, err)
	}

	out.Reset()
	env["XGO_BASE"] = "scratch"
	err := run(t.Context(), e, stageImage)
	if err == nil {
		t.Fatalf("image on scratch of a dynamic cgo binary succeeded:\n%s", out.String())
	}
	for _, want := range []string{
		"the " + c.platform + " binary " + bin + " is dynamically linked (cgo) and the base \"scratch\" has no C library",
		"link it statically with XGO_FLAGS='-ldflags=-extldflags=-static' or use a base with a C library",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dist", "oci")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist/oci exists after the refused image (stat: %v)", err)
	}
	if dynamic, err := shim.Dynamic(filepath.Join(dir, "go.mod")); err != nil || dynamic {
		t.Errorf("shim.Dynamic(go.mod) = %v, %v; want false, nil for a file that is not ELF", dynamic, err)
	}
}

// TestRunCgoNoCompiler runs binaries for the host and a foreign platform with CGO_ENABLED=1
// and a PATH without the foreign C cross compiler: the run fails with the shim's message,
// naming the platform, before any build starts.
func TestRunCgoNoCompiler(t *testing.T) {
	c := cgoCross(t)
	dir := writeModule(t, map[string]string{"main.go": cgoMain})
	env := map[string]string{"XGO_PLATFORMS": "linux/" + runtime.GOARCH + "," + c.platform, "PATH": t.TempDir()}
	var out strings.Builder
	err := run(t.Context(), cgoRunEnv(dir, env, &out), stageBinaries)
	if err == nil {
		t.Fatalf("a run without the C cross compiler succeeded:\n%s", out.String())
	}
	want := "setting up the build for " + c.platform + ": CGO_ENABLED=1 for " + c.platform + " needs a C cross compiler, and " +
		c.gcc + " is not in PATH: install " + c.pkgs + " (Debian/Ubuntu) or set XGO_CC"
	if err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist", "bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist/bin exists: a build started before the check (stat: %v)", err)
	}
}
