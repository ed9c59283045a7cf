package enginetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// RunOptions configures an engine started with Run.
type RunOptions struct {
	Dir       string                // where its files are kept: buildkitd's state, the registry's storage
	Buildkitd string                // the buildkitd program; empty: found as Start finds it
	Buildx    string                // the buildx program; empty: found as Start finds it
	Registry  []registrytest.Option // options of its registry (registrytest.WithBinary)
}

// Run starts an engine outside a test, as Start does inside one: binfmt_misc set up, the
// stand-in base images pushed to a registry of its own, buildkitd and its buildx builder
// ready. The caller stops it with Close. Where the machine lacks what the engine needs
// (root, a running Docker daemon, buildkitd, buildx, runc, update-binfmts, busybox), the
// error names everything missing.
func Run(ctx context.Context, o RunOptions) (e *Engine, err error) {
	tl, err := lookTools(ctx, o)
	if err != nil {
		return nil, err
	}
	dir := o.Dir
	if err := enableBinfmt(ctx, tl.updateBinfmts); err != nil {
		return nil, fmt.Errorf("running foreign images (binfmt_misc): %w", err)
	}
	files, err := findStandInFiles()
	if err != nil {
		return nil, fmt.Errorf("the files of the stand-in base images: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the engine's directory: %w", err)
	}
	reg, err := registrytest.Run(ctx, append([]registrytest.Option{registrytest.WithDir(filepath.Join(dir, "registry"))}, o.Registry...)...)
	if err != nil {
		return nil, fmt.Errorf("starting the registry: %w", err)
	}
	e = &Engine{Registry: reg, dockerConfig: filepath.Join(dir, "docker")}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
			e = nil
		}
	}()
	standIns := filepath.Join(dir, "standins")
	if err := os.MkdirAll(standIns, 0o700); err != nil {
		return nil, err
	}
	if err := pushStandIns(ctx, reg.Host(), files, standIns); err != nil {
		return nil, err
	}
	if e.buildkitd, err = startBuildkitd(ctx, tl.buildkitd, tl.runc, filepath.Join(dir, "buildkitd"), reg.Host()); err != nil {
		return nil, err
	}
	if err := e.installBuildx(tl.buildx); err != nil {
		return nil, err
	}
	if _, stderr, err := e.run(ctx, "buildx", "create", "--name", builderName, "--driver", "remote", "unix://"+e.buildkitd.socket); err != nil {
		return nil, fmt.Errorf("creating the buildx builder: %w: %s", err, stderr)
	}
	if _, stderr, err := e.run(ctx, "buildx", "inspect", "--bootstrap", builderName); err != nil {
		return nil, fmt.Errorf("bootstrapping the buildx builder: %w: %s\nbuildkitd: %s", err, stderr, e.buildkitd.output.String())
	}
	return e, nil
}

// Close stops the buildkitd and the registry of an engine started with Run. The
// binfmt_misc handlers stay enabled, as with Start.
func (e *Engine) Close() error {
	var errs []error
	if e.buildkitd != nil {
		errs = append(errs, e.buildkitd.stop())
	}
	if e.Registry != nil {
		errs = append(errs, e.Registry.Close())
	}
	return errors.Join(errs...)
}

// BuildkitdPID returns the process ID of the engine's buildkitd. The processes of the build
// steps are its descendants: its children's CPU time (/proc/PID/stat) counts theirs once
// they have been waited for.
func (e *Engine) BuildkitdPID() int { return e.buildkitd.cmd.Process.Pid }

// BuildkitdLog returns the last n lines buildkitd wrote.
func (e *Engine) BuildkitdLog(n int) string { return lastLines(e.buildkitd.output.String(), n) }

// EnableBinfmt mounts binfmt_misc where it is not mounted and enables qemu-user-static's
// handlers for the foreign architectures the engine runs (arm64, arm, ppc64le, riscv64,
// s390x), as Start does. It needs root and binfmt-support's update-binfmts.
func EnableBinfmt(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("enabling binfmt_misc needs root")
	}
	updateBinfmts, err := exec.LookPath("update-binfmts")
	if err != nil {
		return errors.New("no update-binfmts on PATH: install Debian's binfmt-support and qemu-user-static (apt-get install binfmt-support qemu-user-static)")
	}
	return enableBinfmt(ctx, updateBinfmts)
}

// GolangImage returns a stand-in golang image for the linux platform p, made as Start makes
// the one for the build platform: goroot is a Go toolchain for p whose version is goVersion
// ("1.26.8"), busybox a static busybox for p, with this machine's CA bundle. The busybox
// runs once to list its applets: a foreign one runs under QEMU through binfmt_misc (see
// EnableBinfmt). The layers are written into dir.
func GolangImage(p v1.Platform, goroot, goVersion, busybox, dir string) (v1.Image, error) {
	if p.OS != "linux" {
		return nil, fmt.Errorf("a stand-in golang image for %s: only linux images are made", p)
	}
	if err := checkStatic(busybox); err != nil {
		return nil, err
	}
	files := standInFiles{goroot: goroot, goVersion: goVersion, busybox: busybox}
	for _, c := range caBundles {
		if _, err := os.Stat(c); err == nil {
			files.caCerts = c
			break
		}
	}
	if files.caCerts == "" {
		return nil, fmt.Errorf("no CA bundle at %s: install Debian's ca-certificates", strings.Join(caBundles, " or "))
	}
	img, err := golangImage(files, dir)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(img, cf)
}

// lookTools returns the programs Run needs, or one error naming all that are missing.
func lookTools(ctx context.Context, o RunOptions) (tools, error) {
	var tl tools
	var missing []string
	if runtime.GOOS != "linux" {
		return tl, errors.New("the engine needs a linux machine: buildkitd's OCI worker runs on linux only")
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root (buildkitd runs as root here, with no rootless set-up)")
	}
	var err error
	tl.buildkitd, tl.buildx = o.Buildkitd, o.Buildx
	if tl.buildkitd == "" {
		if tl.buildkitd, err = findBinary("XGO_TEST_BUILDKITD", "buildkitd"); err != nil {
			missing = append(missing, "buildkitd ("+err.Error()+")")
		}
	}
	if tl.buildx == "" {
		if tl.buildx, err = findBinary("XGO_TEST_BUILDX", "buildx"); err != nil {
			missing = append(missing, "buildx ("+err.Error()+")")
		}
	}
	look := func(name, hint string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name+" ("+hint+")")
		}
		return p
	}
	tl.runc = look("runc", "apt-get install runc")
	tl.updateBinfmts = look("update-binfmts", "apt-get install binfmt-support qemu-user-static")
	look("busybox", "apt-get install busybox-static")
	if look("docker", "install the docker CLI and run a Docker daemon") != "" {
		out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err != nil {
			missing = append(missing, fmt.Sprintf("a running Docker daemon (`docker version` failed: %v: %s)", err, strings.TrimSpace(string(out))))
		}
	}
	if len(missing) > 0 {
		return tl, fmt.Errorf("the engine needs what this machine lacks: %s; %s", strings.Join(missing, "; "), InstallHint)
	}
	return tl, nil
}
