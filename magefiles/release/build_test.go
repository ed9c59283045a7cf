package release

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/shim"
)

// platforms parses each of ss or fails the test.
func platforms(t *testing.T, ss ...string) []shim.Platform {
	t.Helper()
	out := make([]shim.Platform, len(ss))
	for i, s := range ss {
		p, err := shim.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// goVersionM returns `go version -m` of the binary at path.
func goVersionM(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m %s: %v\n%s", path, err, out)
	}
	return string(out)
}

// testSpec is a build of the module in dir into a temporary bin directory, with the
// process environment minus any GOOS/GOARCH/variant the machine may set.
func testSpec(t *testing.T, dir, main, name string) buildSpec {
	var environ []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "GO386", "GOPPC64", "GORISCV64", "CGO_ENABLED":
			continue
		}
		environ = append(environ, kv)
	}
	return buildSpec{
		Dir: dir, Main: main, Name: name, BinDir: filepath.Join(t.TempDir(), "bin"), Jobs: 2,
		Environ: environ, Getenv: envMap(nil),
	}
}

func TestBuildAll(t *testing.T) {
	hello, err := filepath.Abs("../../testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec(t, hello, ".", "hello")
	var verbose bytes.Buffer
	spec.Verbose = &verbose
	ps := platforms(t, "linux/amd64", "linux/arm64", "linux/arm/v6", "windows/arm64")
	var done []string
	results, err := buildAll(context.Background(), spec, ps, func(r buildResult) { done = append(done, r.Platform.String()) })
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(ps) || len(done) != len(ps) {
		t.Fatalf("%d results, %d done calls; want %d", len(results), len(done), len(ps))
	}
	wantPaths := []string{"linux_amd64/hello", "linux_arm64/hello", "linux_arm_v6/hello", "windows_arm64/hello.exe"}
	wantInfo := [][]string{
		{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "CGO_ENABLED=0", "-trimpath=true"},
		{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0"},
		{"GOOS=linux", "GOARCH=arm", "GOARM=6", "CGO_ENABLED=0"},
		{"GOOS=windows", "GOARCH=arm64", "CGO_ENABLED=0"},
	}
	for i, r := range results {
		if r.Platform != ps[i] {
			t.Errorf("result %d is %s, want %s (results in the order asked)", i, r.Platform, ps[i])
		}
		if want := filepath.Join(spec.BinDir, filepath.FromSlash(wantPaths[i])); r.Path != want {
			t.Errorf("%s: path %s, want %s", r.Platform, r.Path, want)
		}
		fi, err := os.Stat(r.Path)
		if err != nil || fi.Size() != r.Size || r.Size < 100_000 || r.Duration <= 0 || r.CPU <= 0 {
			t.Errorf("%s: size %d, duration %v, CPU %v; file %v, %v", r.Platform, r.Size, r.Duration, r.CPU, fi, err)
		}
		info := goVersionM(t, r.Path)
		for _, w := range wantInfo[i] {
			if !strings.Contains(info, "\t"+w+"\n") {
				t.Errorf("%s: go version -m lacks %s:\n%s", r.Platform, w, info)
			}
		}
	}
	out, err := exec.Command(results[0].Path).Output()
	if err != nil || string(out) != "hello from linux/amd64\n" {
		t.Errorf("running the linux/amd64 binary: %q, %v", out, err)
	}
	for _, want := range []string{
		"GOOS=linux GOARCH=arm GOARM=6 CGO_ENABLED=0 go build -trimpath -o " + results[2].Path + " .\n",
		"GOOS=windows GOARCH=arm64 GOARM64=v8.0 CGO_ENABLED=0 go build -trimpath -o " + results[3].Path + " .\n",
	} {
		if !strings.Contains(verbose.String(), want) {
			t.Errorf("verbose output lacks %q:\n%s", want, verbose.String())
		}
	}
}

func TestBuildAllFlags(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"dev\"\n\nfunc main() { fmt.Println(version) }\n",
	})
	spec := testSpec(t, dir, "example.com/app", "app")
	spec.Flags = []string{"-ldflags=-X main.version=1.2.3 -s"}
	results, err := buildAll(context.Background(), spec, platforms(t, "linux/amd64"), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(results[0].Path).Output()
	if err != nil || string(out) != "1.2.3\n" {
		t.Errorf("binary built with XGO_FLAGS prints %q, %v; want 1.2.3", out, err)
	}
}

func TestBuildAllFailure(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"main.go":  mainGo,
		"s390x.go": "//go:build s390x\n\npackage main\n\nvar _ = notDefinedAnywhere\n",
	})
	spec := testSpec(t, dir, "example.com/app", "app")
	spec.Jobs = 1
	_, err := buildAll(context.Background(), spec, platforms(t, "linux/s390x", "linux/amd64", "linux/arm64"), nil)
	if err == nil {
		t.Fatal("buildAll succeeded with a platform that does not compile")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "building linux/s390x: go build: exit status 1:\n") || !strings.Contains(msg, "undefined: notDefinedAnywhere") {
		t.Errorf("error = %q, want it to name linux/s390x and go's message", msg)
	}
	for _, p := range []string{"linux_amd64", "linux_arm64"} {
		if _, err := os.Stat(filepath.Join(spec.BinDir, p, "app")); !os.IsNotExist(err) {
			t.Errorf("%s was built after the first failure (stat: %v)", p, err)
		}
	}
}

func TestBuildAllEnvironmentConflict(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	spec := testSpec(t, dir, "example.com/app", "app")
	spec.Getenv = envMap(map[string]string{"GOARM": "5"})
	_, err := buildAll(context.Background(), spec, platforms(t, "linux/amd64", "linux/arm/v7"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "setting up the build for linux/arm/v7: ") || !strings.Contains(err.Error(), "GOARM") {
		t.Errorf("error = %v, want one naming linux/arm/v7 and GOARM", err)
	}
	if _, err := os.Stat(spec.BinDir); !os.IsNotExist(err) {
		t.Errorf("bin directory exists after a configuration error (stat: %v): nothing should be built", err)
	}
}

func TestBuildAllCanceled(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	spec := testSpec(t, dir, "example.com/app", "app")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := buildAll(ctx, spec, platforms(t, "linux/amd64"), nil)
	if err != context.Canceled {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}
