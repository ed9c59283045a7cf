package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/xgo-build/xgo-build/magefiles/internal/checkout"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// readmeExample is the README's example Dockerfile as checkout.ExampleDockerfile returns it.
const readmeExample = `FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build
ARG GOPROXY GONOSUMDB
RUN CGO_ENABLED=0 go install github.com/xgo-build/xgo-build/cmd/xgo-build@latest
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETPLATFORM
RUN --mount=type=cache,target=/root/.cache/go-build \
    xgo-build -trimpath -ldflags="-s -w" -o /out/app ./cmd/app && \
    xgo-build --xgo-verify /out/app

FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`

// TestReadmeDockerfile checks that the README's example Dockerfile has an emulated
// counterpart (checkout's tests check the example itself).
func TestReadmeDockerfile(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := checkout.ExampleDockerfile(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emulatedDockerfile(got); err != nil {
		t.Errorf("the README's Dockerfile has no emulated counterpart: %v", err)
	}
}

func TestEmulatedDockerfile(t *testing.T) {
	got, err := emulatedDockerfile(readmeExample)
	if err != nil {
		t.Fatal(err)
	}
	want := `FROM golang:1.26-alpine AS build
ARG GOPROXY GONOSUMDB
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/app ./cmd/app

FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`
	if got != want {
		t.Errorf("emulatedDockerfile =\n%s\nwant\n%s", got, want)
	}
	for _, tt := range []struct {
		drop, want string
	}{
		{"--platform=$BUILDPLATFORM ", "no a first line FROM --platform=$BUILDPLATFORM"},
		{checkout.ExampleInstall + "\n", "no the line " + checkout.ExampleInstall},
		{"ARG TARGETPLATFORM\n", "no the line ARG TARGETPLATFORM"},
		{" && \\\n    xgo-build --xgo-verify /out/app", "no a line running xgo-build --xgo-verify"},
		{"    xgo-build -trimpath -ldflags=\"-s -w\" -o /out/app ./cmd/app && \\\n", "does not end with"},
	} {
		in := strings.Replace(readmeExample, tt.drop, "", 1)
		if _, err := emulatedDockerfile(in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("without %q: err = %v, want one containing %q", tt.drop, err, tt.want)
		}
	}
	if _, err := emulatedDockerfile(readmeExample + "RUN cp /usr/local/bin/xgo-build /out\n"); err == nil {
		t.Error("a Dockerfile that still runs xgo-build was accepted")
	}
}

func TestBaseImage(t *testing.T) {
	for _, tt := range []struct {
		dockerfile, repo, tag string
	}{
		{readmeExample, "library/golang", "1.26-alpine"},
		{"FROM golang:1.26-alpine AS build\n", "library/golang", "1.26-alpine"},
		{"FROM docker.io/example/go:1\n", "example/go", "1"},
	} {
		repo, tag, err := baseImage(tt.dockerfile)
		if err != nil || repo != tt.repo || tag != tt.tag {
			t.Errorf("baseImage(%q) = %q, %q, %v; want %q, %q", tt.dockerfile, repo, tag, err, tt.repo, tt.tag)
		}
	}
	for _, bad := range []string{"ARG X\nFROM golang\n", "FROM ghcr.io/example/go:1\n", "FROM\n"} {
		if repo, tag, err := baseImage(bad); err == nil {
			t.Errorf("baseImage(%q) = %q, %q, want an error", bad, repo, tag)
		}
	}
}

func TestParseProcCPU(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	// utime stime cutime cstime ...; the name may hold spaces and parentheses.
	stat := "1234 (build (kit) d) S 1 1234 1234 0 -1 4194560 100 200 0 0 150 50 1200 300 20 0 12 0 500 1000 2000\n"
	got, err := parseProcCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := (150.0 + 50 + 1200 + 300) / 100; got != want {
		t.Errorf("parseProcCPU = %v s, want %v s", got, want)
	}
	for _, bad := range []string{"", "1234 no name S 1", "1234 (x) S 1 2 3", "1234 (x) S 1 1 1 0 -1 4 1 2 0 0 a 50 1200 300"} {
		if _, err := parseProcCPU([]byte(bad)); err == nil {
			t.Errorf("parseProcCPU(%q): no error", bad)
		}
	}
	if _, err := procCPU(os.Getpid()); err != nil && !os.IsNotExist(err) {
		t.Errorf("procCPU of this process: %v", err)
	}
}

func TestDockerContext(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for name, data := range map[string]string{"go.mod": "module example.com/m\n", "main.go": "package main\n", "util.go": "package main\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := dockerContext(src, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"go.mod": "module example.com/m\n", "go.sum": "", "cmd/app/main.go": "package main\n", "cmd/app/util.go": "package main\n"} {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if err := os.Mkdir(filepath.Join(src, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := dockerContext(src, t.TempDir()); err == nil {
		t.Error("dockerContext of a program with a directory: no error")
	}
}

// TestCheckImageBinary builds testdata/hello with the edit block at edit 3 for linux/arm64,
// stripped as the Dockerfiles build it, pushes it as the app of a one-platform index and
// checks it with checkImageBinary: the edit's string is in the binary, and another edit's,
// another platform or a layer without app are found out.
func TestCheckImageBinary(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := copyTree(filepath.Join(root, "testdata", "hello"), dir); err != nil {
		t.Fatal(err)
	}
	mainGo := filepath.Join(dir, "main.go")
	if err := addEditBlock(mainGo); err != nil {
		t.Fatal(err)
	}
	if err := applyEdit(mainGo, 3); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, "app")
	build := command{Dir: dir, Env: withEnv(baseEnv(os.Environ()), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOWORK=off"),
		Args: []string{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", app, "."}}
	if out, err := build.run(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	reg := registrytest.Start(t)
	push := func(repo, file string) string {
		t.Helper()
		data, err := os.ReadFile(app)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if err := tw.WriteHeader(&tar.Header{Name: file, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
		tw.Close()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			t.Fatal(err)
		}
		p := v1.Platform{OS: "linux", Architecture: "arm64"}
		idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		ref := reg.Host() + "/" + repo + ":test"
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(r, idx); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	ctx := context.Background()
	ref := push("app", "app")
	if err := checkImageBinary(ctx, ref, "linux/arm64", "edit 3"); err != nil {
		t.Errorf("checkImageBinary: %v", err)
	}
	if err := checkImageBinary(ctx, ref, "linux/arm64", "edit 4"); err == nil || !strings.Contains(err.Error(), `lacks "edit 4"`) {
		t.Errorf("checkImageBinary with another edit: %v", err)
	}
	if err := checkImageBinary(ctx, ref, "linux/riscv64", "edit 3"); err == nil {
		t.Error("checkImageBinary for a platform the index lacks: no error")
	}
	if err := checkImageBinary(ctx, push("other", "bin/other"), "linux/arm64", "edit 3"); err == nil || !strings.Contains(err.Error(), "has no app") {
		t.Errorf("checkImageBinary without app: %v", err)
	}
}

func TestDockerfileNote(t *testing.T) {
	c := Case{Group: groupDockerfile, Name: "midsize, 4 platforms, push, cold (no BuildKit cache)",
		Ours: Side{Tool: "xgo-build in a $BUILDPLATFORM stage", Samples: []Sample{
			{Seconds: 60, Phases: map[string]float64{phaseBase: 3, phaseModules: 5, phaseInstall: 4, phaseBuild: 40, phaseExport: 2, phaseAll: 58}},
		}},
		Theirs: Side{Tool: "go build under QEMU", Samples: []Sample{
			{Seconds: 600, Phases: map[string]float64{phaseBase: 3, phaseModules: 30, phaseBuild: 550, phaseExport: 3, phaseAll: 598}},
			{Seconds: 700, Phases: map[string]float64{phaseBase: 5, phaseModules: 40, phaseBuild: 640, phaseExport: 3, phaseAll: 698}},
		}},
	}
	want := "Dockerfile in BuildKit, cross vs emulated, midsize, 4 platforms, push, cold (no BuildKit cache): wall time 60.0 s against 650 s (0.09x); " +
		"the go build step 40.0 s against 595 s (0.07x); the fixed costs (base image, modules, xgo-build's install, export: their phases summed) 14.0 s against 42.0 s (medians of 1 and 2 runs)."
	if got := dockerfileNote(c); got != want {
		t.Errorf("dockerfileNote =\n%s\nwant\n%s", got, want)
	}
}

func TestDuTotal(t *testing.T) {
	du := "ID                            RECLAIMABLE   SIZE\nnyne1i8tp3i9a8dt48slsvqyb    false         476.3MB\nReclaimable:\t0B\nTotal:\t\t1.992GB\n"
	if got := duTotal(du); got != "1.992GB" {
		t.Errorf("duTotal = %q, want 1.992GB", got)
	}
	if got := duTotal("Reclaimable:\t0B\nTotal:\t0B\n"); got != "0B" {
		t.Errorf("duTotal of an empty cache = %q, want 0B", got)
	}
	if got := duTotal("error\n"); got != "" {
		t.Errorf("duTotal without a total = %q", got)
	}
}
