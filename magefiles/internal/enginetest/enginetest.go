// Package enginetest runs a real container engine for tests: BuildKit's buildkitd (the OCI
// worker with Debian's runc) on a unix socket of its own, driven by `docker buildx` through a
// `remote` builder, beside the machine's Docker daemon, which pulls and runs what buildkitd
// builds. It owns everything that set-up needs:
//
//   - buildkitd's process, its root directory and its buildkitd.toml, which mirrors docker.io
//     to a registrytest registry on 127.0.0.1 (nothing can be pulled from outside);
//   - the stand-in base images the Dockerfiles name, pushed to that registry under their
//     docker.io names: golang:1.26-alpine is the running Go toolchain with busybox and CA
//     certificates, built here with go-containerregistry (uncompressed layers); and, pushed on
//     demand by the tests of cgo in Dockerfiles, golang:1.26 and debian:bookworm-slim made of
//     the Debian packages of this machine, with an image of the packages a Dockerfile
//     installs (debian.go);
//   - a DOCKER_CONFIG of its own that holds buildx as a CLI plugin and the builder, so the
//     user's docker configuration is untouched;
//   - binfmt_misc: mounted where it is not, and qemu-user-static's handlers enabled with
//     binfmt-support's update-binfmts (the F flag), so that images of foreign platforms run
//     with `docker run --platform`.
//
// buildkitd and buildx are found through $XGO_TEST_BUILDKITD and $XGO_TEST_BUILDX (which
// `go tool mage test` sets after installing them), else as buildkitd and buildx on PATH;
// distribution's registry as registrytest finds it. Start skips the test where the machine
// lacks any of it (root, a running Docker daemon, a tool), or fails it when CI is "true".
//
// Start is meant to be called once per test binary, by a test whose subtests share the
// engine: BuildKit's cache then serves every build after the first. Everything Start runs
// stops when that test ends, and the images pulled with Pull are removed from the daemon.
// The binfmt_misc handlers stay enabled, as binfmt-support enables them at boot: tests of
// other packages that run at the same time may be running foreign binaries through them.
package enginetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/internal/testenv"
)

// InstallHint says how to get buildkitd and buildx.
const InstallHint = "`go tool mage test` installs them into the user cache directory and sets " +
	"XGO_TEST_BUILDKITD and XGO_TEST_BUILDX; see magefiles/internal/tools"

// builderName is the buildx builder that Start creates in its DOCKER_CONFIG.
const builderName = "xgo-enginetest"

// Engine is a running buildkitd with its buildx builder and its registry.
type Engine struct {
	// Registry is the loopback registry that stands in for docker.io; builds may push to it.
	Registry *registrytest.Registry

	dockerConfig string
	buildkitd    *buildkitd
}

// Start runs an engine for the rest of the test t and stops it on cleanup; see the package
// doc.
func Start(t testing.TB) *Engine {
	t.Helper()
	tools := findTools(t)
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	if err := enableBinfmt(ctx, tools.updateBinfmts); err != nil {
		testenv.Missing(t, "running foreign images (binfmt_misc)", err.Error())
	}
	files, err := findStandInFiles()
	if err != nil {
		testenv.Missing(t, "the files of the stand-in base images", err.Error())
	}
	reg := registrytest.Start(t)
	pushStart := time.Now()
	if err := pushStandIns(ctx, reg.Host(), files, t.TempDir()); err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	t.Logf("enginetest: stand-in base images pushed to %s in %.1fs", reg.Host(), time.Since(pushStart).Seconds())

	dir := t.TempDir()
	bk, err := startBuildkitd(ctx, tools.buildkitd, tools.runc, filepath.Join(dir, "buildkitd"), reg.Host())
	if err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	t.Cleanup(func() {
		if err := bk.stop(); err != nil {
			t.Errorf("enginetest: %v", err)
		}
	})
	e := &Engine{Registry: reg, dockerConfig: filepath.Join(dir, "docker"), buildkitd: bk}
	if err := e.installBuildx(tools.buildx); err != nil {
		t.Fatalf("enginetest: %v", err)
	}
	if _, stderr, err := e.run(ctx, "buildx", "create", "--name", builderName, "--driver", "remote", "unix://"+bk.socket); err != nil {
		t.Fatalf("enginetest: creating the buildx builder: %v: %s", err, stderr)
	}
	if _, stderr, err := e.run(ctx, "buildx", "inspect", "--bootstrap", builderName); err != nil {
		t.Fatalf("enginetest: bootstrapping the buildx builder: %v: %s\nbuildkitd: %s", err, stderr, bk.output.String())
	}
	t.Logf("enginetest: buildkitd (%s snapshotter) and the buildx builder ready in %.1fs", bk.snapshotter(), time.Since(begin).Seconds())
	return e
}

// tools are the programs an engine runs.
type tools struct {
	buildkitd, buildx, runc, updateBinfmts string
}

// findTools returns the programs Start needs, or stops t naming the first one missing.
func findTools(t testing.TB) tools {
	t.Helper()
	if runtime.GOOS != "linux" {
		testenv.Missing(t, "a linux machine", "buildkitd's OCI worker runs on linux only")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root", "buildkitd runs as root here (no rootless set-up): run the engine tests as root")
	}
	var tl tools
	var err error
	if tl.buildkitd, err = findBinary("XGO_TEST_BUILDKITD", "buildkitd"); err != nil {
		testenv.Missing(t, "buildkitd", err.Error()+"; "+InstallHint)
	}
	if tl.buildx, err = findBinary("XGO_TEST_BUILDX", "buildx"); err != nil {
		testenv.Missing(t, "buildx", err.Error()+"; "+InstallHint)
	}
	tl.runc = testenv.Command(t, "runc", "install Debian's runc (apt-get install runc)")
	tl.updateBinfmts = testenv.Command(t, "update-binfmts", "install Debian's binfmt-support (apt-get install binfmt-support)")
	testenv.Command(t, "docker", "install the docker CLI and run a Docker daemon")
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		testenv.Missing(t, "a running Docker daemon", fmt.Sprintf("`docker version` failed: %v: %s", err, bytes.TrimSpace(out)))
	}
	return tl
}

// findBinary returns $variable, else the command name on PATH.
func findBinary(variable, name string) (string, error) {
	if p := os.Getenv(variable); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%q: %w", variable, p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not set and there is no %s on PATH", variable, name)
	}
	return p, nil
}

// installBuildx makes buildx a CLI plugin of the engine's own DOCKER_CONFIG.
func (e *Engine) installBuildx(buildx string) error {
	plugins := filepath.Join(e.dockerConfig, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o700); err != nil {
		return fmt.Errorf("making the docker CLI plugin directory: %w", err)
	}
	if err := os.Symlink(buildx, filepath.Join(plugins, "docker-buildx")); err != nil {
		return fmt.Errorf("installing buildx as a docker CLI plugin: %w", err)
	}
	return nil
}

// Env returns the environment docker commands of the engine run with: the process's, with
// the engine's DOCKER_CONFIG and builder.
func (e *Engine) Env() []string {
	return append(os.Environ(), "DOCKER_CONFIG="+e.dockerConfig, "BUILDX_BUILDER="+builderName)
}

// Command returns `docker args...` with the engine's environment.
func (e *Engine) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = e.Env()
	return cmd
}

// run runs `docker args...` and returns its output.
func (e *Engine) run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := e.Command(ctx, args...)
	var o, s bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &s
	err = cmd.Run()
	return o.String(), s.String(), err
}

// Docker runs `docker args...` with the engine's environment and returns what it wrote; it
// fails t, with that output and buildkitd's last lines, when the command fails.
func (e *Engine) Docker(t testing.TB, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := e.run(context.Background(), args...)
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
		}
		t.Fatalf("docker %s: %v\nstdout:\n%s\nstderr:\n%s\nbuildkitd (last lines):\n%s",
			strings.Join(args, " "), err, stdout, stderr, lastLines(e.buildkitd.output.String(), 20))
	}
	return stdout, stderr
}

// Pull pulls ref into the Docker daemon and removes it again when t ends.
func (e *Engine) Pull(t testing.TB, ref string) {
	t.Helper()
	e.Docker(t, "pull", "--quiet", ref)
	t.Cleanup(func() {
		if _, stderr, err := e.run(context.Background(), "image", "rm", "--force", ref); err != nil {
			t.Errorf("removing %s from the Docker daemon: %v: %s", ref, err, stderr)
		}
	})
}

// BuildPlatform returns the platform buildkitd builds on, which the stand-in base images are
// for: linux and this machine's architecture.
func BuildPlatform() string { return "linux/" + runtime.GOARCH }

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
