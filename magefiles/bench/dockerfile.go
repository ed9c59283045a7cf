package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/xgo-build/xgo-build/magefiles/internal/checkout"
	"github.com/xgo-build/xgo-build/magefiles/internal/tools"
)

// emulatedDockerfile returns the emulated counterpart of the cross Dockerfile (as
// checkout.ExampleDockerfile returns it): the same build stage taken for the target platform
// instead of $BUILDPLATFORM, so that BuildKit runs its RUN steps under QEMU for every foreign
// platform, without the xgo-build install, ARG TARGETPLATFORM and the --xgo-verify line, and
// with `go build` where the cross one runs `xgo-build`. Every other line is the same.
func emulatedDockerfile(cross string) (string, error) {
	lines := strings.Split(cross, "\n")
	var out []string
	var fromDone, installDone, argDone, verifyDone, buildDone bool
	for _, l := range lines {
		trimmed := strings.TrimSpace(l)
		switch {
		case !fromDone && strings.HasPrefix(l, "FROM --platform=$BUILDPLATFORM "):
			out = append(out, "FROM "+strings.TrimPrefix(l, "FROM --platform=$BUILDPLATFORM "))
			fromDone = true
		case l == checkout.ExampleInstall:
			installDone = true
		case l == "ARG TARGETPLATFORM":
			argDone = true
		case strings.HasPrefix(trimmed, "xgo-build --xgo-verify "):
			// The line before ends with " && \": the command it continues is dropped.
			if len(out) == 0 || !strings.HasSuffix(out[len(out)-1], " && \\") {
				return "", fmt.Errorf("the line before %q does not end with \" && \\\"", trimmed)
			}
			out[len(out)-1] = strings.TrimSuffix(out[len(out)-1], " && \\")
			verifyDone = true
		case strings.HasPrefix(trimmed, "xgo-build "):
			out = append(out, strings.Replace(l, "xgo-build ", "go build ", 1))
			buildDone = true
		default:
			out = append(out, l)
		}
	}
	for _, c := range []struct {
		done bool
		what string
	}{
		{fromDone, "a first line FROM --platform=$BUILDPLATFORM"},
		{installDone, "the line " + checkout.ExampleInstall},
		{argDone, "the line ARG TARGETPLATFORM"},
		{buildDone, "a line running xgo-build"},
		{verifyDone, "a line running xgo-build --xgo-verify"},
	} {
		if !c.done {
			return "", fmt.Errorf("the cross Dockerfile has no %s", c.what)
		}
	}
	s := strings.Join(out, "\n")
	if strings.Contains(s, "xgo-build") {
		return "", fmt.Errorf("the emulated Dockerfile still runs xgo-build:\n%s", s)
	}
	return s, nil
}

// baseImage returns the image of the first FROM line of dockerfile as the docker.io
// repository and tag it stands for ("library/golang", "1.26-alpine").
func baseImage(dockerfile string) (repo, tag string, err error) {
	first, _, _ := strings.Cut(dockerfile, "\n")
	f := strings.Fields(first)
	if len(f) < 2 || f[0] != "FROM" {
		return "", "", fmt.Errorf("the Dockerfile starts with %q, want FROM", first)
	}
	image := f[1]
	if strings.HasPrefix(image, "--platform=") && len(f) > 2 {
		image = f[2]
	}
	ref, err := name.NewTag(image)
	if err != nil {
		return "", "", fmt.Errorf("the Dockerfile's base %q: %w", image, err)
	}
	if ref.RegistryStr() != name.DefaultRegistry {
		return "", "", fmt.Errorf("the Dockerfile's base %q is not on docker.io", image)
	}
	return ref.RepositoryStr(), ref.TagStr(), nil
}

// toolchainFor returns the GOROOT of Go's own linux toolchain for goarch, of the running
// Go's version: the module golang.org/toolchain where the module proxy serves it, else one
// made from the running Go's source as Go's releases are made (builtToolchain). A note of
// the run says which came from where.
func (b *bench) toolchainFor(ctx context.Context, goarch string) (string, error) {
	dist := "linux-" + goarch
	how := "GOOS=linux GOARCH=" + goarch
	if goarch == "arm" {
		how += " GOARM=6"
	}
	built := func(goroot string) (string, error) {
		b.dockerfile.toolchains = append(b.dockerfile.toolchains, dist+" made from Go's source with `"+how+" ./make.bash -distpack` (Go's release packaging), "+
			"since the module proxy served no golang.org/toolchain@v0.0.1-"+b.goVersion+"."+dist+" when it was made")
		return goroot, nil
	}
	if goroot, ok := cachedBuiltToolchain(b.cfg.Cache, b.goVersion, goarch); ok {
		return built(goroot)
	}
	b.logf("fetching the %s Go toolchain %s for the golang stand-in", dist, b.goVersion)
	goroot, err := goToolchain(ctx, b.cfg.Cache, b.goVersion, dist, b.env)
	if err == nil {
		b.dockerfile.toolchains = append(b.dockerfile.toolchains, dist+" from the module golang.org/toolchain")
		return goroot, nil
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	b.logf("%s: building the toolchain instead", strings.TrimSuffix(first, ":"))
	out, gerr := command{Env: b.env, Args: []string{"go", "env", "GOROOT"}}.run(ctx)
	if gerr != nil {
		return "", gerr
	}
	if goroot, err = builtToolchain(ctx, b.cfg.Cache, b.goVersion, strings.TrimSpace(string(out)), goarch, b.env, b.log); err != nil {
		return "", err
	}
	return built(goroot)
}

// engine is the container engine the Dockerfile comparison builds with: buildkitd behind a
// buildx builder (see startEngine).
type engine interface {
	Env() []string             // the environment of its docker commands
	RegistryHost() string      // its registry, which stands in for docker.io: "127.0.0.1:PORT"
	BuildkitdPID() int         // the build steps are buildkitd's descendants
	BuildkitdLog(n int) string // buildkitd's last n lines
	Close() error
}

// dockerfileSetup is what the Dockerfile comparison runs on: the engine, the two
// Dockerfiles and the module proxy that serves this checkout to `go install`.
type dockerfileSetup struct {
	engine   engine
	proxy    *checkout.ModuleProxy
	goproxy  string // GOPROXY for the builds: the bench's proxy, then this machine's
	cross    string // the path of the cross Dockerfile
	emulated string // the path of the emulated Dockerfile

	toolchains []string // where each platform's Go toolchain came from
}

// close stops the engine and the proxy, if they run.
func (d *dockerfileSetup) close() error {
	var errs []error
	if d.proxy != nil {
		errs = append(errs, d.proxy.Close())
	}
	if d.engine != nil {
		errs = append(errs, d.engine.Close())
	}
	return errors.Join(errs...)
}

// dockerfileMethodNotes say what the Dockerfile comparison measures.
var dockerfileMethodNotes = []string{
	"Dockerfile in BuildKit, cross vs emulated: `docker buildx build --progress=rawjson --platform " + strings.Join(DockerfilePlatforms, ",") + " --push` of the same program, " +
		"with buildkitd " + strings.TrimPrefix(tools.BuildkitdModule, "github.com/moby/buildkit/cmd/buildkitd@") + " (OCI worker, runc, the host's network) behind buildx's remote driver " +
		"(magefiles/internal/enginetest), pushing to a registry on loopback that also stands in for docker.io. " +
		"The context is the program with its main package moved to cmd/app, as the README's Dockerfile expects. " +
		"Ours (cross) is the README's complete example Dockerfile, taken from README.md, with one line added after its first (ARG GOPROXY GONOSUMDB): its build stage runs on $BUILDPLATFORM, " +
		"installs xgo-build with `go install ...@latest` from a module proxy on loopback serving this checkout, and runs `xgo-build -trimpath -ldflags=\"-s -w\"` for each TARGETPLATFORM; the stages before ARG TARGETPLATFORM are the same for every platform, so BuildKit runs them once. " +
		"Theirs (emulated) is the same Dockerfile with its build stage taken for the target platform (FROM golang:1.26-alpine, no --platform), without the xgo-build install, ARG TARGETPLATFORM and --xgo-verify, and `go build` in place of `xgo-build`: " +
		"BuildKit runs its RUN steps (go mod download, go build) under qemu-user (Debian's qemu-user-static through binfmt_misc) for linux/arm64, linux/arm/v7 and linux/riscv64.",
	"Dockerfile base image: golang:1.26-alpine in the loopback registry is an index with a stand-in image per platform, each Go's own toolchain for that platform (of the same version; the note below says where each came from) at /usr/local/go " +
		"on Debian's busybox-static for that architecture (this machine's Debian release; trixie for riscv64, which earlier releases lack), with the CA bundle and the official image's environment; " +
		"the emulated linux/arm/v7 build uses the toolchain's default GOARM (6, as Go's linux-armv6l download).",
	"Dockerfile cold and warm: a cold run follows `docker buildx prune -af` (no layer cache, no cache mount: an empty GOCACHE and module cache; the base image pulled and unpacked again) and is checked to have taken no RUN step from the cache; " +
		"the warm run follows it with the cache intact and one line of main.go changed (the edit case's benchEdit line, the same value for both sides), and is checked to have taken `go mod download` from the cache and run the build again. " +
		"Modules are downloaded from the Go module proxy in the build, so their time includes this machine's network. " +
		"Both push an index with an image per platform, each checked to hold a Go binary for its platform (GOOS and GOARCH from its build info) with the run's benchEdit string. " +
		"Wall time is the buildx command's. CPU time is buildkitd's with its waited-for descendants (utime, stime, cutime and cstime from /proc/PID/stat, in 1/100 s), which holds every build step and its QEMU emulation; peak memory is not measured (the client's says nothing of the build). " +
		"The table of phases splits each build's wall time into the fixed costs (the base image, modules, xgo-build's install, the export and push) and the go build itself.",
}

// prepareDockerfile starts the engine, pushes the stand-in golang index, starts the module
// proxy and writes the two Dockerfiles.
func (b *bench) prepareDockerfile(ctx context.Context) error {
	leaveOut := "; or leave out the dockerfile comparison (XGO_BENCH_CASES without dockerfile)"
	if os.Geteuid() != 0 {
		return fmt.Errorf("the dockerfile comparison runs buildkitd, which needs root here%s", leaveOut)
	}
	readme, err := os.ReadFile(filepath.Join(b.cfg.Root, "README.md"))
	if err != nil {
		return err
	}
	cross, err := checkout.ExampleDockerfile(string(readme))
	if err != nil {
		return err
	}
	emulated, err := emulatedDockerfile(cross)
	if err != nil {
		return err
	}
	repo, tag, err := baseImage(cross)
	if err != nil {
		return err
	}
	dir := b.fresh("dockerfiles")
	b.dockerfile.cross, b.dockerfile.emulated = filepath.Join(dir, "cross.Dockerfile"), filepath.Join(dir, "emulated.Dockerfile")
	for path, text := range map[string]string{b.dockerfile.cross: cross, b.dockerfile.emulated: emulated} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}

	// $variable, else the pinned module, installed once into the tools cache.
	tool := func(variable, module string) (string, error) {
		if p := os.Getenv(variable); p != "" {
			return p, nil
		}
		b.logf("installing %s (once; `go tool mage test` installs it too)", module)
		p, err := tools.GoInstall(ctx, module, b.log)
		if err != nil {
			return "", fmt.Errorf("%w%s", err, leaveOut)
		}
		return p, nil
	}
	buildkitd, err := tool("XGO_TEST_BUILDKITD", tools.BuildkitdModule)
	if err != nil {
		return err
	}
	buildx, err := tool("XGO_TEST_BUILDX", tools.BuildxModule)
	if err != nil {
		return err
	}
	reg, err := tool("XGO_TEST_REGISTRY", tools.RegistryModule)
	if err != nil {
		return err
	}
	b.logf("starting buildkitd behind buildx")
	if b.dockerfile.engine, err = startEngine(ctx, b.fresh("engine"), buildkitd, buildx, reg); err != nil {
		return fmt.Errorf("the dockerfile comparison: %w%s", err, leaveOut)
	}
	e := b.dockerfile.engine
	b.version("buildkitd", b.firstLine(ctx, buildkitd, "--version"))
	out, _ := command{Env: e.Env(), Args: []string{"docker", "buildx", "version"}}.run(ctx)
	b.version("buildx", strings.TrimSpace(string(out)))

	goVersion := strings.TrimPrefix(b.goVersion, "go")
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, ps := range DockerfilePlatforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			return err
		}
		goroot, err := b.toolchainFor(ctx, p.Architecture)
		if err != nil {
			return err
		}
		busybox, err := b.busyboxFor(ctx, p.Architecture)
		if err != nil {
			return fmt.Errorf("%w%s", err, leaveOut)
		}
		layers := b.fresh("golang-" + strings.ReplaceAll(ps, "/", "-"))
		img, err := golangStandIn(*p, goroot, goVersion, busybox, layers)
		if err != nil {
			return fmt.Errorf("making the golang stand-in for %s: %w", ps, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	ref, err := name.ParseReference(e.RegistryHost()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return err
	}
	b.logf("pushing the golang stand-in for %s as %s", strings.Join(DockerfilePlatforms, ", "), ref)
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}

	if b.dockerfile.proxy, err = checkout.StartModuleProxy(b.cfg.Root); err != nil {
		return err
	}
	hostProxy, err := command{Env: b.env, Args: []string{"go", "env", "GOPROXY"}}.run(ctx)
	if err != nil {
		return err
	}
	b.dockerfile.goproxy = b.dockerfile.proxy.URL + "," + strings.TrimSpace(string(hostProxy))
	b.extra = append(b.extra, "Dockerfile base image toolchains: "+strings.Join(b.dockerfile.toolchains, "; ")+".")
	return nil
}

// busyboxFor returns a static busybox for goarch: this machine's own (Debian's
// busybox-static on PATH) for its architecture, else Debian's for goarch.
func (b *bench) busyboxFor(ctx context.Context, goarch string) (string, error) {
	if goarch == runtime.GOARCH {
		return exec.LookPath("busybox")
	}
	return debianBusybox(ctx, b.cfg.Cache, goarch, b.log)
}

// dockerfileSide is one side of the Dockerfile comparison.
type dockerfileSide struct {
	name       string // "cross" or "emulated", in repository names
	dockerfile string
	cold, warm *Side
}

// dockerfileCase measures the multi-platform Dockerfile build of program cross-compiled in a
// $BUILDPLATFORM stage against the same build emulated under QEMU, interleaved: each run of
// a side is a cold build after pruning BuildKit's cache, then a warm one with one line of
// the main package changed.
func (b *bench) dockerfileCase(ctx context.Context, program string) error {
	buildContext := b.fresh(program + "-dockerfile-context")
	if err := dockerContext(filepath.Join(b.cfg.Root, "testdata", program), buildContext); err != nil {
		return fmt.Errorf("making the build context of %s: %w", program, err)
	}
	mainGo := filepath.Join(buildContext, "cmd", "app", "main.go")
	if err := addEditBlock(mainGo); err != nil {
		return err
	}
	n := strconv.Itoa(len(DockerfilePlatforms))
	cold := Case{Group: groupDockerfile, Name: program + ", " + n + " platforms, push, cold (no BuildKit cache)",
		Ours: Side{Tool: "xgo-build in a $BUILDPLATFORM stage"}, Theirs: Side{Tool: "go build under QEMU"}}
	warm := Case{Group: groupDockerfile, Name: program + ", " + n + " platforms, push, warm, one line changed",
		Ours: Side{Tool: cold.Ours.Tool}, Theirs: Side{Tool: cold.Theirs.Tool}}
	sides := []dockerfileSide{
		{"cross", b.dockerfile.cross, &cold.Ours, &warm.Ours},
		{"emulated", b.dockerfile.emulated, &cold.Theirs, &warm.Theirs},
	}
	e := b.dockerfile.engine
	for i := 1; i <= b.cfg.Cold[program]; i++ {
		for k := range sides {
			s := sides[(k+i+1)%2] // ours first in odd runs, theirs first in even ones
			if err := b.pruneBuildKit(ctx); err != nil {
				return err
			}
			for _, run := range []struct {
				edit int
				side *Side
				c    *Case
			}{{0, s.cold, &cold}, {i, s.warm, &warm}} {
				if err := applyEdit(mainGo, run.edit); err != nil {
					return err
				}
				ref := fmt.Sprintf("%s/%s-%s-%d:edit-%d", e.RegistryHost(), program, s.name, i, run.edit)
				sample, err := b.buildDockerfile(ctx, s, buildContext, ref, run.edit)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", run.c.Name, run.side.Tool, err)
				}
				sample.Iterated = i
				run.side.Samples = append(run.side.Samples, sample)
				b.logSample(run.c, run.side, "", sample)
				b.logf("  phases: %s", fmtPhases(sample.Phases))
			}
		}
	}
	b.res.Cases = append(b.res.Cases, cold, warm)
	for _, c := range []Case{cold, warm} {
		note := dockerfileNote(c)
		b.extra = append(b.extra, note)
		b.logf("%s", note)
	}
	return nil
}

// fixedPhases are the phases of a Dockerfile build whose cost does not grow with the
// program: the base image, module downloads, xgo-build's install and the export.
var fixedPhases = []string{phaseBase, phaseModules, phaseInstall, phaseExport}

// dockerfileNote states a Dockerfile case's figures with the fixed costs split out: the
// medians of the wall time, of the go build phase and of the fixed phases (summed per run),
// for each side, and the ratios of ours to theirs.
func dockerfileNote(c Case) string {
	type figures struct{ wall, build, fixed float64 }
	median := func(samples []Sample) figures {
		var walls, builds, fixed []float64
		for _, s := range samples {
			walls = append(walls, s.Seconds)
			builds = append(builds, s.Phases[phaseBuild])
			f := 0.0
			for _, p := range fixedPhases {
				f += s.Phases[p]
			}
			fixed = append(fixed, f)
		}
		return figures{Median(walls), Median(builds), Median(fixed)}
	}
	o, t := median(c.Ours.Samples), median(c.Theirs.Samples)
	return fmt.Sprintf("%s, %s: wall time %s against %s (%s); the go build step %s against %s (%s); "+
		"the fixed costs (base image, modules, xgo-build's install, export: their phases summed) %s against %s (medians of %d and %d runs).",
		c.Group, c.Name, fmtSeconds(o.wall), fmtSeconds(t.wall), timesX(Ratio(o.wall, t.wall)),
		fmtSeconds(o.build), fmtSeconds(t.build), timesX(Ratio(o.build, t.build)),
		fmtSeconds(o.fixed), fmtSeconds(t.fixed), len(c.Ours.Samples), len(c.Theirs.Samples))
}

// pruneBuildKit empties BuildKit's cache (`docker buildx prune --all --force`: layers, cache
// mounts, pulled images) and checks with `docker buildx du` that nothing is left.
func (b *bench) pruneBuildKit(ctx context.Context) error {
	e := b.dockerfile.engine
	if out, err := (command{Env: e.Env(), Args: []string{"docker", "buildx", "prune", "--all", "--force"}}).run(ctx); err != nil {
		return fmt.Errorf("emptying BuildKit's cache: %w: %s", err, out)
	}
	out, err := command{Env: e.Env(), Args: []string{"docker", "buildx", "du"}}.run(ctx)
	if err != nil {
		return fmt.Errorf("reading BuildKit's disk use: %w", err)
	}
	if total := duTotal(string(out)); total != "0B" {
		return fmt.Errorf("BuildKit's cache holds %q after docker buildx prune --all:\n%s", total, out)
	}
	return nil
}

// duTotal returns the value of the Total: line of `docker buildx du` ("0B", "1.992GB"),
// or "" without one.
func duTotal(du string) string {
	for _, line := range strings.Split(du, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Total:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// buildDockerfile builds side's Dockerfile on buildContext for DockerfilePlatforms, pushes the
// index as ref and checks the build: a cold one (edit 0) took no RUN step from the cache, a
// warm one took `go mod download` from it and built again; every image holds a Go binary
// for its platform with the string of edit. It returns the measured sample with its phases.
func (b *bench) buildDockerfile(ctx context.Context, s dockerfileSide, buildContext, ref string, edit int) (Sample, error) {
	e := b.dockerfile.engine
	var progress bytes.Buffer
	cmd := command{Dir: buildContext, Env: e.Env(), Stderr: &progress, Args: []string{
		"docker", "buildx", "build", "--progress=rawjson", "--platform", strings.Join(DockerfilePlatforms, ","),
		"--build-arg", "GOPROXY=" + b.dockerfile.goproxy, "--build-arg", "GONOSUMDB=" + modulePath,
		"-f", s.dockerfile, "--push", "-t", ref, ".",
	}}
	before, err := procCPU(e.BuildkitdPID())
	if err != nil {
		return Sample{}, err
	}
	sample, _, err := cmd.measure(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("%w\nbuildkitd (last lines):\n%s", err, e.BuildkitdLog(20))
	}
	after, err := procCPU(e.BuildkitdPID())
	if err != nil {
		return Sample{}, err
	}
	sample.CPU, sample.MaxRSS = after-before, 0
	trace, err := parseTrace(&progress)
	if err != nil {
		return Sample{}, err
	}
	sample.Phases = trace.phases()
	if err := checkTrace(trace, s.name == "cross", edit == 0); err != nil {
		return Sample{}, err
	}
	if sample.Digest, err = checkIndex(ctx, ref, DockerfilePlatforms); err != nil {
		return Sample{}, err
	}
	for _, p := range DockerfilePlatforms {
		if err := checkImageBinary(ctx, ref, p, fmt.Sprintf(`edit %d`, edit)); err != nil {
			return Sample{}, err
		}
	}
	return sample, nil
}

// checkTrace checks a Dockerfile build's steps: a cold build took no RUN step from the
// cache; a warm one took `go mod download` from it and ran the go build again; the cross
// one's --xgo-verify passed for every platform.
func checkTrace(t *buildTrace, cross, cold bool) error {
	if cold {
		var cached []string
		for _, p := range []string{phaseModules, phaseInstall, phaseBuild} {
			cached = append(cached, t.stepsIn(p, true)...)
		}
		if len(cached) > 0 {
			return fmt.Errorf("a cold build took steps from the cache: %s", strings.Join(cached, "; "))
		}
	} else {
		if ran := t.stepsIn(phaseModules, false); len(ran) > 0 {
			return fmt.Errorf("a warm build ran go mod download again: %s", strings.Join(ran, "; "))
		}
		if cached := t.stepsIn(phaseBuild, true); len(cached) > 0 {
			return fmt.Errorf("a warm build with a changed line took its build from the cache: %s", strings.Join(cached, "; "))
		}
	}
	if len(t.stepsIn(phaseBuild, false)) == 0 && cold {
		return errors.New("the build ran no go build step")
	}
	if cross {
		log := t.log()
		for _, p := range DockerfilePlatforms {
			if want := "/out/app: ok " + p + "\n"; !strings.Contains(log, want) {
				return fmt.Errorf("the build log lacks xgo-build --xgo-verify's line %q", strings.TrimSpace(want))
			}
		}
	}
	return nil
}

// checkImageBinary checks that the image for platform in the index ref holds, as its last
// layer's app, a Go binary built for that platform's GOOS and GOARCH that contains want.
func checkImageBinary(ctx context.Context, ref, platform, want string) error {
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithPlatform(*p))
	if err != nil {
		return fmt.Errorf("fetching the %s image of %s: %w", platform, ref, err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		return fmt.Errorf("the %s image of %s has no layers (%v)", platform, ref, err)
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("the %s image of %s has no app in its last layer", platform, ref)
		}
		if err != nil {
			return err
		}
		if strings.TrimPrefix(h.Name, "/") != "app" {
			continue
		}
		bin, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		info, err := buildinfo.Read(bytes.NewReader(bin))
		if err != nil {
			return fmt.Errorf("the %s image's app: %w", platform, err)
		}
		got := map[string]string{}
		for _, s := range info.Settings {
			got[s.Key] = s.Value
		}
		if got["GOOS"] != p.OS || got["GOARCH"] != p.Architecture {
			return fmt.Errorf("the %s image's app is built for %s/%s", platform, got["GOOS"], got["GOARCH"])
		}
		if !bytes.Contains(bin, []byte(want)) {
			return fmt.Errorf("the %s image's app lacks %q: the changed line did not reach it", platform, want)
		}
		return nil
	}
}

// dockerContext makes the build context of the program at src in dst, laid out as the
// README's Dockerfile expects: go.mod and go.sum (empty when the program has none) at the
// root, the main package's files in cmd/app.
func dockerContext(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, "cmd", "app"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), nil, 0o644); err != nil {
		return err
	}
	for _, e := range entries {
		switch {
		case !e.Type().IsRegular():
			return fmt.Errorf("%s: %s is not a regular file (a program of one package is expected)", src, e.Name())
		case e.Name() == "go.mod" || e.Name() == "go.sum":
			err = copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
		default:
			err = copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, "cmd", "app", e.Name()))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// procCPU returns the CPU time, in seconds, of the process pid and of its descendants it
// has waited for: utime, stime, cutime and cstime of /proc/PID/stat.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcCPU(b)
}

// userHZ is the unit of the times in /proc/PID/stat: 1/100 s on Linux, whatever the
// kernel's tick.
const userHZ = 100

// parseProcCPU reads utime, stime, cutime and cstime (fields 14 to 17) from the text of a
// /proc/PID/stat file and returns their sum in seconds.
func parseProcCPU(stat []byte) (float64, error) {
	// The second field, the command name in parentheses, may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("reading /proc/PID/stat %q: no command name", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 15 {
		return 0, fmt.Errorf("reading /proc/PID/stat %q: %d fields", stat, len(f)+2)
	}
	var ticks int64
	for _, s := range f[14-3 : 17-3+1] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading /proc/PID/stat %q: %w", stat, err)
		}
		ticks += n
	}
	return float64(ticks) / userHZ, nil
}

// fmtPhases formats a build's phases for the progress log.
func fmtPhases(phases map[string]float64) string {
	var parts []string
	for _, p := range phaseOrder {
		if v, ok := phases[p]; ok {
			parts = append(parts, p+" "+fmtSeconds(v))
		}
	}
	return strings.Join(parts, ", ")
}
