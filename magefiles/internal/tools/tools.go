// Package tools installs, at pinned versions, the programs that this repository's tests and
// benchmarks run beside the Go toolchain: distribution's registry, staticcheck, and Debian's
// qemu-user-static and skopeo (the stable release's versions).
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
	"slices"
	"strings"
)

// RegistryModule is the pinned distribution registry, the OCI registry the tests push to.
const RegistryModule = "github.com/distribution/distribution/v3/cmd/registry@v3.0.0"

// StaticcheckModule is the pinned staticcheck, which the test target runs before the tests.
const StaticcheckModule = "honnef.co/go/tools/cmd/staticcheck@v0.8.2"

// DebianPackages maps each command the tests run to the Debian package that provides it:
// qemu-user's static emulators run foreign binaries, skopeo reads what the release writes.
var DebianPackages = map[string]string{
	"qemu-aarch64-static": "qemu-user-static",
	"skopeo":              "skopeo",
}

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

// Debian makes sure every command of DebianPackages is on PATH, installing the packages of
// the missing ones with apt-get when this user can. It returns an error naming what is missing and how
// to get it when it cannot.
func Debian(ctx context.Context, log io.Writer) error {
	var missing []string
	for command, pkg := range DebianPackages {
		if _, err := exec.LookPath(command); err != nil && !slices.Contains(missing, pkg) {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	hint := "apt-get install " + strings.Join(missing, " ")
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return fmt.Errorf("missing %s: install with %q", strings.Join(missing, ", "), hint)
	}
	fmt.Fprintf(log, "installing %s\n", strings.Join(missing, " "))
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("installing %s: apt-get %s: %w", strings.Join(missing, " "), args[0], err)
		}
	}
	return nil
}
