// Package tools installs, at pinned versions, the programs that this repository's tests and
// benchmarks run beside the Go toolchain: distribution's registry, staticcheck, BuildKit's
// buildkitd and buildx, and Debian's qemu-user-static, binfmt-support, busybox-static and
// skopeo (the stable release's versions).
// Go programs are built with `go install` into the user cache directory, one directory per
// version, so a pin change never reuses an old binary. A program whose own go.mod `go install`
// refuses (BuildKit's has exclude directives) is built with `go build` from a module of this
// package instead, modules/NAME.mod and modules/NAME.sum, which requires it at the pin.
package tools

import (
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// RegistryModule is the pinned distribution registry, the OCI registry the tests push to.
const RegistryModule = "github.com/distribution/distribution/v3/cmd/registry@v3.0.0"

// StaticcheckModule is the pinned staticcheck, which the test target runs before the tests.
const StaticcheckModule = "honnef.co/go/tools/cmd/staticcheck@v0.8.2"

// BuildkitdModule is the pinned BuildKit daemon the engine tests build Dockerfiles with. It is
// built from modules/buildkitd.mod, which must require the same version.
const BuildkitdModule = "github.com/moby/buildkit/cmd/buildkitd@v0.34.2"

// BuildxModule is the pinned buildx, the docker CLI plugin the engine tests drive buildkitd
// with (its remote driver).
const BuildxModule = "github.com/docker/buildx/cmd/buildx@v0.38.2"

// versionVariables names, per module, the variable its release builds set to the version
// with -ldflags=-X, so that `buildkitd --version` and `docker buildx version` report the pin.
var versionVariables = map[string]string{
	"github.com/moby/buildkit": "github.com/moby/buildkit/version.Version",
	"github.com/docker/buildx": "github.com/docker/buildx/version.Version",
}

// modules holds the modules that build the programs `go install` refuses, by program name.
//
//go:embed modules
var modules embed.FS

// DebianPackages maps each command the tests run to the Debian package that provides it:
// qemu-user's static emulators run foreign binaries, binfmt-support registers them with the
// kernel so that containers of foreign platforms run, busybox-static is the shell of the
// engine tests' stand-in base image, skopeo reads what the release writes, the C cross
// compilers build the shim's cgo cross tests. The cross compilers are keyed by their g++:
// g++-<triple> depends on gcc-<triple> and, through libstdc++, on libc6-dev-<arch>-cross,
// which gcc-<triple> only recommends and Debian installs without recommends.
var DebianPackages = map[string]string{
	"qemu-aarch64-static":       "qemu-user-static",
	"update-binfmts":            "binfmt-support",
	"busybox":                   "busybox-static",
	"skopeo":                    "skopeo",
	"aarch64-linux-gnu-g++":     "g++-aarch64-linux-gnu",
	"arm-linux-gnueabihf-g++":   "g++-arm-linux-gnueabihf",
	"riscv64-linux-gnu-g++":     "g++-riscv64-linux-gnu",
	"powerpc64le-linux-gnu-g++": "g++-powerpc64le-linux-gnu",
	"s390x-linux-gnu-g++":       "g++-s390x-linux-gnu",
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

// GoInstall builds the program module@version (a package path and a version) into its own
// directory under the cache and returns the binary's path; an existing binary is reused.
// A program with a module in modules/ is built from it (see the package doc).
func GoInstall(ctx context.Context, moduleAtVersion string, log io.Writer) (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	pkg, version, ok := strings.Cut(moduleAtVersion, "@")
	if !ok {
		return "", fmt.Errorf("installing %q: want module@version", moduleAtVersion)
	}
	bin := filepath.Join(dir, strings.ReplaceAll(pkg, "/", "_")+"@"+version)
	exe := filepath.Join(bin, filepath.Base(pkg))
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	fmt.Fprintf(log, "installing %s\n", moduleAtVersion)
	// A tool is built for the host, whatever this shell's target settings say.
	env := append(os.Environ(), "GOOS=", "GOARCH=", "GOWORK=off", "CGO_ENABLED=0")
	args := []string{"-trimpath"}
	if v := versionVariable(pkg); v != "" {
		args = append(args, "-ldflags=-X "+v+"="+version)
	}
	var cmd *exec.Cmd
	if mod, err := modules.ReadFile("modules/" + filepath.Base(pkg) + ".mod"); err == nil {
		src := filepath.Join(bin, "module")
		if err := writeModule(src, filepath.Base(pkg), mod, pkg, version); err != nil {
			return "", fmt.Errorf("installing %s: %w", moduleAtVersion, err)
		}
		// go build writes the binary where it is asked to: to a temporary name first, so that
		// an interrupted build leaves no binary that the next run would take as installed.
		cmd = exec.CommandContext(ctx, "go", append(append([]string{"build"}, args...), "-o", exe+".tmp", pkg)...)
		cmd.Dir = src
		env = append(env, "GOFLAGS=-mod=readonly")
	} else {
		cmd = exec.CommandContext(ctx, "go", append(append([]string{"install"}, args...), moduleAtVersion)...)
		env = append(env, "GOBIN="+bin, "GOFLAGS=")
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("installing %s: %w", moduleAtVersion, err)
	}
	if cmd.Dir != "" {
		if err := os.Rename(exe+".tmp", exe); err != nil {
			return "", fmt.Errorf("installing %s: %w", moduleAtVersion, err)
		}
	}
	return exe, nil
}

// versionVariable returns the variable that holds the version of the program pkg, or "".
func versionVariable(pkg string) string {
	for mod, v := range versionVariables {
		if pkg == mod || strings.HasPrefix(pkg, mod+"/") {
			return v
		}
	}
	return ""
}

// writeModule writes the module name (modules/NAME.mod and .sum) into dir as go.mod and
// go.sum, after checking that it requires the module of pkg at version.
func writeModule(dir, name string, mod []byte, pkg, version string) error {
	f, err := modfile.Parse(name+".mod", mod, nil)
	if err != nil {
		return fmt.Errorf("parsing modules/%s.mod: %w", name, err)
	}
	found := false
	for _, r := range f.Require {
		if pkg == r.Mod.Path || strings.HasPrefix(pkg, r.Mod.Path+"/") {
			if r.Mod.Version != version {
				return fmt.Errorf("modules/%s.mod requires %s, the pin is %s: regenerate it (see its comment)", name, r.Mod, version)
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("modules/%s.mod does not require the module of %s", name, pkg)
	}
	sum, err := modules.ReadFile("modules/" + name + ".sum")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
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
