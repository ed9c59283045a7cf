package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
	"github.com/xgo-build/xgo-build/shim"
)

// smokeMain prints its arguments and GOARCH; given --fail on the GOARCH SMOKE_FAIL_ARCH
// names, it prints 30 numbered lines before them and exits 3.
const smokeMain = `package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fail := len(os.Args) > 1 && os.Args[1] == "--fail" && runtime.GOARCH == os.Getenv("SMOKE_FAIL_ARCH")
	for i := 1; fail && i <= 30; i++ {
		fmt.Fprintf(os.Stderr, "line %d\n", i)
	}
	fmt.Printf("args %q on %s\n", os.Args[1:], runtime.GOARCH)
	if fail {
		os.Exit(3)
	}
}
`

// foreignPlatform is the platform that runs under qemu-user in the tests, and its qemu.
func foreignPlatform(t *testing.T) (platform, qemu string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("smoke runs under qemu-user need linux")
	}
	platform, qemu = "linux/arm64", "qemu-aarch64-static"
	if runtime.GOARCH == "arm64" {
		platform, qemu = "linux/amd64", "qemu-x86_64-static"
	}
	testenv.Command(t, qemu, "install Debian's qemu-user-static")
	return platform, qemu
}

// TestRunSmoke releases a program with XGO_SMOKE for the host's platform, one under qemu and
// windows/amd64: the first two run and are ok, the third is not run, in the output and in
// release.json.
func TestRunSmoke(t *testing.T) {
	foreign, qemu := foreignPlatform(t)
	native := "linux/" + runtime.GOARCH
	reg := registrytest.Start(t)
	dir := writeModule(t, map[string]string{"main.go": smokeMain})
	var out strings.Builder
	env := map[string]string{
		"XGO_PLATFORMS":     native + "," + foreign + ",windows/amd64",
		"XGO_REPO":          reg.Host() + "/smoke/app",
		"XGO_TAGS":          "edge",
		"SOURCE_DATE_EPOCH": "0",
		"XGO_SMOKE":         `--version 'two words'`,
	}
	e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out}
	if err := run(t.Context(), e, stageRelease); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	rep := readReport(t, dir)
	var got []string
	for _, p := range rep.Platforms {
		got = append(got, p.Platform+": "+p.Smoke)
	}
	want := []string{native + ": ok", foreign + ": ok", "windows/amd64: not run: a windows binary does not run on linux"}
	if !slices.Equal(got, want) {
		t.Errorf("release.json smoke fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range []string{
		"smoke " + fmt.Sprintf("%-22s", native) + " ok natively (",
		"smoke " + fmt.Sprintf("%-22s", foreign) + " ok under " + qemu + " (",
		"warning: smoke windows/amd64 not run: a windows binary does not run on linux\n",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
}

// TestRunSmokeFails runs image with a smoke run that exits 3 under qemu: the run fails with
// one error naming the platform, qemu, the status and the last 20 lines, and dist/oci is not
// written.
func TestRunSmokeFails(t *testing.T) {
	foreign, qemu := foreignPlatform(t)
	_, arch, _ := strings.Cut(foreign, "/")
	dir := writeModule(t, map[string]string{"main.go": smokeMain})
	var out strings.Builder
	env := map[string]string{
		"XGO_PLATFORMS":     "linux/" + runtime.GOARCH + "," + foreign,
		"SOURCE_DATE_EPOCH": "0",
		"XGO_SMOKE":         "--fail 'x y'",
	}
	e := runEnv{dir: dir, getenv: envMap(env), environ: append(os.Environ(), "SMOKE_FAIL_ARCH="+arch), out: &out}
	err := run(t.Context(), e, stageImage)
	if err == nil {
		t.Fatalf("a run whose %s binary exits 3 succeeded:\n%s", foreign, out.String())
	}
	msg := err.Error()
	for _, want := range []string{
		"smoke-testing " + foreign + " under " + qemu + " (app --fail 'x y'): exit status 3; the last 20 lines of its output:\n",
		"\tline 12\n", "\tline 30\n", "\targs [\"--fail\" \"x y\"] on " + arch,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 11\n") || strings.Contains(msg, "smoke-testing linux/"+runtime.GOARCH+" ") {
		t.Errorf("error shows more than the last 20 lines, or the platform that passed:\n%s", msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist", "oci")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dist/oci exists after a failed smoke run (stat: %v)", err)
	}
}

// TestRunSmokeBinaries: binaries makes the smoke runs too, and a bad XGO_SMOKE fails before
// any build.
func TestRunSmokeBinaries(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": smokeMain})
	var out strings.Builder
	env := map[string]string{"XGO_PLATFORMS": runtime.GOOS + "/" + runtime.GOARCH + ",js/wasm", "XGO_SMOKE": "-v"}
	e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out}
	if err := run(t.Context(), e, stageBinaries); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{" ok natively (", "warning: smoke js/wasm not run: a js/wasm binary needs a wasm runtime\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	env["XGO_SMOKE"] = "'--version"
	err := run(t.Context(), e, stageBinaries)
	if err == nil || !strings.Contains(err.Error(), "XGO_SMOKE") || strings.Contains(out.String(), "building") {
		t.Errorf("a bad XGO_SMOKE: %v\n%s", err, out.String())
	}
}

func TestReadSmoke(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "", want: nil},
		{in: "--version", want: []string{"--version"}},
		{in: `version -o "a b" 'c d'`, want: []string{"version", "-o", "a b", "c d"}},
		{in: "  \t", err: "must be the arguments"},
		{in: "'--version", err: "unterminated single quote"},
	} {
		got, err := readSmoke(envMap(map[string]string{"XGO_SMOKE": tc.in}))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("readSmoke(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("readSmoke(%q) = %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestSmokeWays checks how each platform runs on a given host, with qemu on PATH or not and a
// binfmt_misc directory as the kernel shows it.
func TestSmokeWays(t *testing.T) {
	binfmt := t.TempDir()
	for name, content := range map[string]string{
		"qemu-s390x":   "enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\n",
		"qemu-riscv64": "disabled\ninterpreter /usr/libexec/qemu-binfmt/riscv64-binfmt-P\n",
	} {
		if err := os.WriteFile(filepath.Join(binfmt, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	onPath := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			if slices.Contains(names, name) {
				return "/usr/bin/" + name, nil
			}
			return "", exec.ErrNotFound
		}
	}
	linux := smokeHost{goos: "linux", goarch: "amd64", lookPath: onPath("qemu-aarch64-static", "qemu-ppc64le"), binfmtDir: binfmt}
	for _, tc := range []struct {
		host     smokeHost
		platform string
		want     string // the ways joined by "; ", or "not run: why"
	}{
		{linux, "linux/amd64/v3", "natively"},
		{linux, "linux/386", "natively"},
		{linux, "linux/arm64", "under qemu-aarch64-static"},
		{linux, "linux/ppc64le", "under qemu-ppc64le"},
		{linux, "linux/s390x", "through binfmt_misc (qemu-s390x)"},
		{linux, "linux/riscv64", "not run: no qemu-riscv64-static on PATH and no binfmt_misc handler for it (install qemu-user-static)"},
		{linux, "linux/loong64", "not run: no qemu-loongarch64-static on PATH and no binfmt_misc handler for it (install qemu-user-static)"},
		{linux, "windows/amd64", "not run: a windows binary does not run on linux"},
		{linux, "wasip1/wasm", "not run: a wasip1/wasm binary needs a wasm runtime"},
		{smokeHost{goos: "linux", goarch: "arm64", lookPath: onPath("qemu-arm-static", "qemu-i386-static")}, "linux/arm/v7", "natively; under qemu-arm-static"},
		{smokeHost{goos: "linux", goarch: "arm64", lookPath: onPath("qemu-i386-static")}, "linux/386",
			"not run: the host (arm64) cannot run 386 binaries and qemu-user cannot run Go's (Debian's qemu-i386 crashes on them)"},
		{smokeHost{goos: "darwin", goarch: "arm64", lookPath: onPath()}, "darwin/amd64", "natively"},
		{smokeHost{goos: "darwin", goarch: "arm64", lookPath: onPath()}, "linux/arm64", "not run: a linux binary does not run on darwin"},
		{smokeHost{goos: "windows", goarch: "amd64", lookPath: onPath()}, "windows/arm64", "not run: no emulator for arm64 binaries on windows/amd64"},
	} {
		p, err := shim.Parse(tc.platform)
		if err != nil {
			t.Fatal(err)
		}
		ways, why := tc.host.smokeWays(p)
		got := "not run: " + why
		if len(ways) > 0 {
			var hows []string
			for _, w := range ways {
				hows = append(hows, w.how)
			}
			got = strings.Join(hows, "; ")
		}
		if got != tc.want {
			t.Errorf("%s/%s: %s ways = %q, want %q", tc.host.goos, tc.host.goarch, tc.platform, got, tc.want)
		}
	}
}

// TestTailBuffer keeps the end of a long output, without the line it cut.
func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 20}
	for i := range 10 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got := string(b.bytes()); got != "line 8\nline 9\n" {
		t.Errorf("kept %q, want the whole last lines within 20 bytes", got)
	}
	if got := lastLines([]byte("a\nb\nc\n"), 2); got != "; the last 2 lines of its output:\n\tb\n\tc" {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines(nil, 2); got != ", no output" {
		t.Errorf("lastLines(nil) = %q", got)
	}
}
