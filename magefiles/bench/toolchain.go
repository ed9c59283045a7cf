package bench

import (
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
// ("go1.26.8"), made runnable under qemu-user: the module golang.org/toolchain is fetched with
// `go mod download`, and since the module cache keeps files without execute bits, the tree is
// copied under cache and its programs (bin/ and pkg/tool/) made executable. A complete copy is
// reused.
func emulatedToolchain(ctx context.Context, cache, goVersion string, env []string) (string, error) {
	version := "v0.0.1-" + goVersion + ".linux-arm64"
	dst := filepath.Join(cache, "toolchain", goVersion+".linux-arm64")
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
		return "", fmt.Errorf("fetching the linux-arm64 toolchain: %w", err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("fetching the linux-arm64 toolchain: unexpected go mod download output %q", out)
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", fmt.Errorf("removing %s: %w", dst, err)
	}
	if err := copyTree(mod.Dir, dst); err != nil {
		return "", fmt.Errorf("copying the toolchain to %s: %w", dst, err)
	}
	for _, dir := range []string{"bin", filepath.Join("pkg", "tool", "linux_arm64")} {
		entries, err := os.ReadDir(filepath.Join(dst, dir))
		if err != nil {
			return "", fmt.Errorf("reading the toolchain's %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				if err := os.Chmod(filepath.Join(dst, dir, e.Name()), 0o755); err != nil {
					return "", err
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "pkg", "tool", "linux_arm64", "compile")); err != nil {
		return "", fmt.Errorf("the linux-arm64 toolchain has no compiler: %w", err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", err
	}
	return dst, nil
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
