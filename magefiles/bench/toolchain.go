package bench

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// emulatedToolchain returns the GOROOT of the linux-arm64 Go toolchain of version goVersion
// ("go1.26.8"), made runnable under qemu-user; see goToolchain.
func emulatedToolchain(ctx context.Context, cache, goVersion string, env []string) (string, error) {
	return goToolchain(ctx, cache, goVersion, "linux-arm64", env)
}

// goToolchain returns the GOROOT of Go's own toolchain of version goVersion ("go1.26.8") for
// dist ("linux-arm64", "linux-armv6l", "linux-riscv64": the names of Go's downloads): the
// module golang.org/toolchain is fetched with `go mod download`, and since the module cache
// keeps files without execute bits, the tree is copied under cache and its programs (bin/ and
// pkg/tool/) made executable. A complete copy is reused.
func goToolchain(ctx context.Context, cache, goVersion, dist string, env []string) (string, error) {
	version := "v0.0.1-" + goVersion + "." + dist
	dst := filepath.Join(cache, "toolchain", goVersion+"."+dist)
	done := filepath.Join(dst, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", cache, err)
	}
	// Outside any module, so no go.mod is read or changed.
	out, err := command{Dir: cache, Env: withEnv(env, "GOWORK=off"),
		Args: []string{"go", "mod", "download", "-json", "golang.org/toolchain@" + version}}.run(ctx)
	if err != nil {
		return "", fmt.Errorf("fetching the %s toolchain: %w", dist, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("fetching the %s toolchain: unexpected go mod download output %q", dist, out)
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", fmt.Errorf("removing %s: %w", dst, err)
	}
	if err := copyTree(mod.Dir, dst); err != nil {
		return "", fmt.Errorf("copying the toolchain to %s: %w", dst, err)
	}
	if err := makeToolsExecutable(dst); err != nil {
		return "", fmt.Errorf("the %s toolchain: %w", dist, err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", err
	}
	return dst, nil
}

// makeToolsExecutable makes the programs of the Go toolchain at goroot executable: those in
// bin/ and in its one directory under pkg/tool/, which must hold a compiler.
func makeToolsExecutable(goroot string) error {
	tools, err := filepath.Glob(filepath.Join(goroot, "pkg", "tool", "*"))
	if err != nil || len(tools) != 1 {
		return fmt.Errorf("%d tool directories under pkg/tool, want one", len(tools))
	}
	for _, dir := range []string{filepath.Join(goroot, "bin"), tools[0]} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				if err := os.Chmod(filepath.Join(dir, e.Name()), 0o755); err != nil {
					return err
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(tools[0], "compile")); err != nil {
		return fmt.Errorf("no compiler: %w", err)
	}
	return nil
}

// copyTree copies the regular files and directories under src to dst, writable by the owner.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		default:
			return nil // the toolchain module has no links or devices
		}
	})
}

// copyFile copies the regular file src to dst (mode 0644).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// goVersion returns the version of the go command on PATH, like "go1.26.8".
func goVersion(ctx context.Context, env []string) (string, error) {
	out, err := command{Env: env, Args: []string{"go", "env", "GOVERSION"}}.run(ctx)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(out))
	if !strings.HasPrefix(v, "go1.") {
		return "", fmt.Errorf("go env GOVERSION printed %q, want a release like go1.26.8", v)
	}
	return v, nil
}

// builtToolchain returns the GOROOT of Go's toolchain of version goVersion for linux/goarch,
// made from the source of the Go installed at hostGoroot (which must be that version) the
// way Go's releases are made: `make.bash -distpack` with GOOS=linux and GOARCH=goarch
// (GOARM=6 for arm, as in Go's linux-armv6l download) on a copy of the tree, whose binary
// archive for the platform is then unpacked under cache. For the platforms whose
// golang.org/toolchain module the module proxy does not serve. A complete one is reused.
func builtToolchain(ctx context.Context, cache, goVersion, hostGoroot, goarch string, env []string, log io.Writer) (string, error) {
	if dst, ok := cachedBuiltToolchain(cache, goVersion, goarch); ok {
		return dst, nil
	}
	dist := "linux-" + goarch
	dst := builtToolchainDir(cache, goVersion, goarch)
	done := filepath.Join(dst, ".complete")
	v, err := os.ReadFile(filepath.Join(hostGoroot, "VERSION"))
	if err != nil {
		return "", err
	}
	if got, _, _ := strings.Cut(string(v), "\n"); got != goVersion {
		return "", fmt.Errorf("building the %s toolchain: the Go at %s is %s, want %s", dist, hostGoroot, got, goVersion)
	}
	work := filepath.Join(cache, "toolchain", "build-"+dist)
	for _, d := range []string{work, dst} {
		if err := os.RemoveAll(d); err != nil {
			return "", err
		}
	}
	defer os.RemoveAll(work)
	fmt.Fprintf(log, "bench: building the %s Go toolchain from Go's source with make.bash -distpack (once; minutes)\n", dist)
	if _, err := (command{Env: env, Args: []string{"cp", "-a", hostGoroot, work}}).run(ctx); err != nil {
		return "", fmt.Errorf("copying Go's source: %w", err)
	}
	vars := []string{"GOOS=linux", "GOARCH=" + goarch, "GOROOT_BOOTSTRAP=" + hostGoroot, "GOTOOLCHAIN=local", "GOFLAGS", "GOROOT"}
	if goarch == "arm" {
		vars = append(vars, "GOARM=6")
	}
	build := command{Dir: filepath.Join(work, "src"), Env: withEnv(env, vars...), Args: []string{"bash", "make.bash", "-distpack"}}
	if _, err := build.run(ctx); err != nil {
		return "", fmt.Errorf("building the %s toolchain: %w", dist, err)
	}
	archive := filepath.Join(work, "pkg", "distpack", goVersion+"."+dist+".tar.gz")
	if err := untarGz(archive, dst, "go/"); err != nil {
		return "", fmt.Errorf("unpacking %s: %w", archive, err)
	}
	if err := makeToolsExecutable(dst); err != nil {
		return "", fmt.Errorf("the %s toolchain: %w", dist, err)
	}
	return dst, os.WriteFile(done, nil, 0o644)
}

// builtToolchainDir is where builtToolchain keeps the toolchain for linux/goarch.
func builtToolchainDir(cache, goVersion, goarch string) string {
	return filepath.Join(cache, "toolchain", goVersion+".linux-"+goarch+".distpack")
}

// cachedBuiltToolchain returns the toolchain builtToolchain made before, if it did.
func cachedBuiltToolchain(cache, goVersion, goarch string) (string, bool) {
	dst := builtToolchainDir(cache, goVersion, goarch)
	_, err := os.Stat(filepath.Join(dst, ".complete"))
	return dst, err == nil
}

// untarGz unpacks the directories and regular files of the gzipped tar at path into dst,
// with their modes, each name stripped of the prefix strip, which every name must have.
func untarGz(path, dst, strip string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel, ok := strings.CutPrefix(h.Name, strip)
		rel = strings.TrimSuffix(rel, "/")
		if !ok || (rel != "" && !fs.ValidPath(rel)) {
			return fmt.Errorf("unexpected name %q", h.Name)
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(h.Mode)&fs.ModePerm)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected entry type %q", h.Name, h.Typeflag)
		}
	}
}
