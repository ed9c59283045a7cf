// Package tools installs, at pinned versions, the programs that this repository's tests and
// benchmarks run beside the Go toolchain: distribution's registry and Debian's qemu-user-static.
// Go programs are built with `go install` into the user cache directory, one directory per
// version, so a pin change never reuses an old binary.
package tools

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RegistryModule is the pinned distribution registry, the OCI registry the tests push to.
const RegistryModule = "github.com/distribution/distribution/v3/cmd/registry@v3.0.0"

// QemuPackage is the Debian package that provides qemu-<arch>-static user-mode emulators.
const QemuPackage = "qemu-user-static"

// CacheDir returns the directory pinned tools are installed under: $XGO_TOOLS_DIR, else
// <user cache dir>/xgo-build/tools.
func CacheDir() (string, error) {
	if d := os.Getenv("XGO_TOOLS_DIR"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory: %w", err)
	}
	return filepath.Join(d, "xgo-build", "tools"), nil
}

// GoInstall builds the program module@version into its own directory under the cache and
// returns the binary's path; an existing binary is reused.
func GoInstall(ctx context.Context, moduleAtVersion string, log io.Writer) (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	mod, version, ok := strings.Cut(moduleAtVersion, "@")
	if !ok {
		return "", fmt.Errorf("installing %q: want module@version", moduleAtVersion)
	}
	bin := filepath.Join(dir, strings.ReplaceAll(mod, "/", "_")+"@"+version)
	exe := filepath.Join(bin, filepath.Base(mod))
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	fmt.Fprintf(log, "installing %s\n", moduleAtVersion)
	cmd := exec.CommandContext(ctx, "go", "install", moduleAtVersion)
	// A tool is built for the host, whatever this shell's target settings say.
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOOS=", "GOARCH=", "GOFLAGS=-trimpath", "GOWORK=off", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("installing %s: %w", moduleAtVersion, err)
	}
	return exe, nil
}

// Qemu makes sure qemu-aarch64-static is on PATH, installing Debian's qemu-user-static with
// apt-get when it is missing and this user can. It returns an error saying why when it cannot.
func Qemu(ctx context.Context, log io.Writer) error {
	if _, err := exec.LookPath("qemu-aarch64-static"); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return fmt.Errorf("qemu-aarch64-static not found: install %s (apt-get install %s)", QemuPackage, QemuPackage)
	}
	fmt.Fprintf(log, "installing %s\n", QemuPackage)
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "--no-install-recommends", QemuPackage}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("installing %s: apt-get %s: %w", QemuPackage, args[0], err)
		}
	}
	_, err := exec.LookPath("qemu-aarch64-static")
	return err
}
