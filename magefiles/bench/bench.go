package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/internal/tools"
)

// targetVars are the variables a build target depends on; the bench clears them from the
// environment it starts from, so only what each case sets applies.
var targetVars = []string{
	"GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64",
	"GORISCV64", "CGO_ENABLED", "GOCACHE", "GOROOT", "GOWORK",
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
}

// baseEnv returns env without the target variables and without any XGO_* or KO_* setting, so
// neither side of a comparison picks up configuration the bench did not give it.
func baseEnv(env []string) []string {
	env = withEnv(env, targetVars...)
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "XGO_") && !strings.HasPrefix(kv, "KO_") && !strings.HasPrefix(kv, "KOCACHE=") {
			out = append(out, kv)
		}
	}
	return out
}

// bench is one run in progress: its configuration, the tools it prepared and what it measured.
type bench struct {
	cfg   Config
	log   io.Writer
	env   []string // the environment every command starts from
	work  string   // this run's scratch directory, removed at the end
	res   Results
	runID int      // counts the fresh directories of the run
	extra []string // notes the cases add, after the method notes

	goVersion string
	xgo       string // xgo-build built from ./cmd/xgo-build
	mage      string // mage at the version go.mod requires
	qemu      string // qemu-aarch64-static
	goroot    string // the linux-arm64 toolchain, runnable under qemu
	ko        string
	registry  *registrytest.Registry
	base      string // the base index, by digest

	cgo        cgoSetup        // the cgo comparison's compilers
	dockerfile dockerfileSetup // the Dockerfile comparison's engine, images and proxy
}

// Run measures what cfg selects, prints progress and the table to log, and writes
// results.md, chart.svg and results.json to cfg.Out.
func Run(ctx context.Context, cfg Config, log io.Writer) error {
	b := &bench{cfg: cfg, log: log}
	b.res.Started = time.Now().UTC()
	b.res.Quick = cfg.Quick
	b.res.Machine = detectMachine()
	b.env = withEnv(baseEnv(os.Environ()), "GOWORK=off")

	work, err := os.MkdirTemp("", "xgo-build-bench-")
	if err != nil {
		return err
	}
	b.work = work
	defer os.RemoveAll(work)
	defer func() {
		if b.registry != nil {
			if err := b.registry.Close(); err != nil {
				b.logf("%v", err)
			}
		}
		if err := b.dockerfile.close(); err != nil {
			b.logf("%v", err)
		}
	}()
	if err := b.prepare(ctx); err != nil {
		return err
	}

	for _, program := range cfg.Programs {
		if cfg.has("emulated") {
			if err := b.emulated(ctx, program); err != nil {
				return err
			}
		}
		if cfg.has("release") || cfg.has("edit") {
			if err := b.release(ctx, program); err != nil {
				return err
			}
		}
		if cfg.has("dockerfile") {
			if err := b.dockerfileCase(ctx, program); err != nil {
				return err
			}
		}
		if cfg.has("shim") {
			if err := b.shimOverhead(ctx, program); err != nil {
				return err
			}
		}
	}
	if cfg.has("cgo") {
		if err := b.cgoCase(ctx); err != nil {
			return err
		}
	}

	sortCases(b.res.Cases)
	b.res.Seconds = time.Since(b.res.Started).Seconds()
	b.res.Notes = append(b.notes(), b.extra...)
	b.res.summarize()
	if err := writeResults(cfg.Out, b.res); err != nil {
		return err
	}
	fmt.Fprintln(log)
	writeMarkdown(log, b.res, "")
	fmt.Fprintf(log, "\nwrote %s\n", strings.Join([]string{
		filepath.Join(cfg.Out, "results.md"), filepath.Join(cfg.Out, "chart.svg"), filepath.Join(cfg.Out, "results.json"),
	}, ", "))
	return nil
}

// The titles of the comparison groups, as the results show them.
const (
	groupEmulated   = "Native vs emulated"
	groupCgo        = "cgo, native vs emulated"
	groupDockerfile = "Dockerfile in BuildKit, cross vs emulated"
	groupRelease    = "Release vs ko"
	groupEdit       = "Release vs ko, one line changed"
	groupShim       = "Shim overhead"
)

// groupOrder is the order of the comparison groups in the results.
var groupOrder = []string{groupEmulated, groupCgo, groupDockerfile, groupRelease, groupEdit, groupShim}

// sortCases orders cases by comparison group, keeping the run order (programs smallest first,
// cold before warm) within a group.
func sortCases(cases []Case) {
	slices.SortStableFunc(cases, func(a, b Case) int {
		return slices.Index(groupOrder, a.Group) - slices.Index(groupOrder, b.Group)
	})
}

// prepare builds and installs what the selected comparisons need and records their versions.
func (b *bench) prepare(ctx context.Context) error {
	var err error
	if b.goVersion, err = goVersion(ctx, b.env); err != nil {
		return err
	}
	b.version("Go", b.goVersion)
	bin := filepath.Join(b.work, "bin")
	b.xgo = filepath.Join(bin, "xgo-build")
	b.mage = filepath.Join(bin, "mage")
	b.logf("building xgo-build and mage from %s", b.cfg.Root)
	for _, build := range []command{
		// xgo-build static, as the README installs it and the image ships it.
		{Dir: b.cfg.Root, Env: withEnv(b.env, "CGO_ENABLED=0"), Args: []string{"go", "build", "-o", b.xgo, "./cmd/xgo-build"}},
		{Dir: b.cfg.Root, Env: b.env, Args: []string{"go", "build", "-o", b.mage, "github.com/magefile/mage"}},
	} {
		if _, err := build.run(ctx); err != nil {
			return err
		}
	}
	b.version("xgo-build", b.revision(ctx))

	for _, program := range b.cfg.Programs {
		dir := filepath.Join(b.cfg.Root, "testdata", program)
		if _, err := (command{Dir: dir, Env: b.env, Args: []string{"go", "mod", "download"}}).run(ctx); err != nil {
			return fmt.Errorf("fetching the modules of %s: %w", program, err)
		}
	}

	if b.cfg.has("emulated") || b.cfg.has("cgo") {
		if b.qemu, err = exec.LookPath("qemu-aarch64-static"); err != nil {
			// Debian's qemu-user-static, installed with apt-get where this user can.
			if err := tools.Debian(ctx, b.log); err != nil {
				return fmt.Errorf("%w; or leave out the emulated and cgo comparisons (XGO_BENCH_CASES=release,shim,edit)", err)
			}
			if b.qemu, err = exec.LookPath("qemu-aarch64-static"); err != nil {
				return fmt.Errorf("qemu-aarch64-static not found after installing qemu-user-static: %w", err)
			}
		}
		b.version("QEMU", b.firstLine(ctx, b.qemu, "--version"))
		b.logf("fetching the linux-arm64 Go toolchain %s", b.goVersion)
		if b.goroot, err = emulatedToolchain(ctx, b.cfg.Cache, b.goVersion, b.env); err != nil {
			return err
		}
	}
	if b.cfg.has("cgo") {
		if err := b.prepareCgo(ctx); err != nil {
			return err
		}
	}

	if b.cfg.has("release") || b.cfg.has("edit") {
		reg := os.Getenv("XGO_TEST_REGISTRY")
		if reg == "" {
			b.logf("installing %s (once)", tools.RegistryModule)
			if reg, err = tools.GoInstall(ctx, tools.RegistryModule, b.log); err != nil {
				return err
			}
		}
		b.version("registry", b.firstLine(ctx, reg, "--version"))
		b.logf("installing %s (once)", KoModule)
		if b.ko, err = tools.GoInstall(ctx, KoModule, b.log); err != nil {
			return err
		}
		b.version("ko", b.firstLine(ctx, b.ko, "version"))
		b.registry, err = registrytest.Run(ctx, registrytest.WithBinary(reg), registrytest.WithDir(filepath.Join(b.work, "registry")))
		if err != nil {
			return fmt.Errorf("starting the registry: %w", err)
		}
		if b.base, err = pushBase(ctx, b.registry.Host(), Platforms); err != nil {
			return err
		}
		b.logf("registry on %s, base %s", b.registry.Host(), b.base)
	}
	if b.cfg.has("dockerfile") {
		if err := b.prepareDockerfile(ctx); err != nil {
			return err
		}
	}
	return nil
}

// fresh returns a new empty directory of the run, named after what it is for.
func (b *bench) fresh(what string) string {
	b.runID++
	dir := filepath.Join(b.work, fmt.Sprintf("%03d-%s", b.runID, what))
	os.MkdirAll(dir, 0o755)
	return dir
}

// logf prints one progress line.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// logSample prints one measured run.
func (b *bench) logSample(c *Case, side *Side, label string, s Sample) {
	b.logf("%s: %s · %s%s: %s, peak %s", c.Group, c.Name, side.Tool, label, fmtSeconds(s.Seconds), fmtBytes(s.MaxRSS))
}

// version records the version of a tool the run used.
func (b *bench) version(name, v string) {
	b.res.Versions = append(b.res.Versions, Version{Name: name, Version: v})
}

// firstLine runs a tool's version command and returns the first line it prints.
func (b *bench) firstLine(ctx context.Context, args ...string) string {
	out, err := (command{Env: b.env, Args: args}).run(ctx)
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil && line == "" {
		return "unknown"
	}
	// distribution's registry starts its line with the path it was run as.
	return strings.TrimPrefix(line, args[0]+" ")
}

// revision describes the repository's commit, "+dirty" when it has uncommitted changes.
func (b *bench) revision(ctx context.Context) string {
	out, err := (command{Dir: b.cfg.Root, Env: b.env, Args: []string{"git", "describe", "--always", "--dirty=+dirty", "--abbrev=12"}}).run(ctx)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// notes explain how the figures were taken.
func (b *bench) notes() []string {
	n := []string{
		"The sides of each case run interleaved, alternating which goes first, so machine noise hits both alike. " +
			"Each figure is the median of its runs, with the fastest and slowest in brackets; the ratio is ours over theirs (below 1: ours is faster).",
		"Peak memory is ru_maxrss from wait4: the largest resident set of the measured process and of the descendants it waited for, " +
			"so for a tree of processes (go build running compile and link, ko running go, QEMU running compile) it is the largest single process, not the sum of those running at once.",
		"CPU time is user plus system time from the same rusage (the process and its waited-for descendants): on a busy machine it moves less than wall time, " +
			"but it does not show parallelism (two cores busy for 10 s count 20 s) and QEMU's emulation counts in it.",
		"GOMODCACHE is shared and warm (modules downloaded before timing); a cold run has a fresh, empty GOCACHE and, for the release cases, an empty XDG_CACHE_HOME, a fresh dist directory and a fresh repository in the registry.",
	}
	if b.cfg.has("emulated") {
		n = append(n, "Native vs emulated: ours is `xgo-build -o app .` with TARGETPLATFORM=linux/arm64 on the host; theirs is the linux-arm64 Go toolchain of the same version "+
			"(module golang.org/toolchain) run as `qemu-aarch64-static <goroot>/bin/go build -toolexec=qemu-aarch64-static -o app .` with GOROOT set and CGO_ENABLED=0, "+
			"which is what a `docker buildx` build does for a foreign platform (binfmt_misc runs every arm64 process under QEMU); compile, asm and link all go through -toolexec "+
			"(where binfmt_misc is not mounted, an arm64 tool started without it could not even run, so a finished build shows every step ran under QEMU). "+
			"Both outputs are checked to be linux/arm64 Go binaries (shim.Verify).")
	}
	if b.cfg.has("release") || b.cfg.has("edit") {
		n = append(n, fmt.Sprintf("Release vs ko: both push the image of the same program for %s onto the same base (an OCI index pushed to the same loopback distribution registry) and are checked to have pushed an index with every platform. "+
			"Ours is `mage release` run as a user runs it: a mage binary compiled from a temporary project whose magefile imports github.com/xgo-build/xgo-build/magefiles/release (go.mod replace to this checkout), "+
			"with XGO_MAIN=. XGO_PLATFORMS XGO_BASE XGO_REPO XGO_DIST. Theirs is `ko build --bare --sbom=spdx --platform=...` with KO_DOCKER_REPO and KO_DEFAULTBASEIMAGE. Each side attaches what it attaches by default: "+
			"ours an SPDX SBOM and a SLSA provenance per platform image, as OCI referrers; ko an SPDX SBOM per platform image and one for the index, under cosign's sha256-<digest>.sbom tags. "+
			"A warm run repeats the previous run with nothing changed.", strings.Join(Platforms, ", ")))
	}
	if b.cfg.has("cgo") {
		n = append(n, cgoMethodNote)
	}
	if b.cfg.has("dockerfile") {
		n = append(n, dockerfileMethodNotes...)
	}
	if b.cfg.has("edit") {
		n = append(n, editMethodNote)
	}
	if b.cfg.has("shim") {
		n = append(n, "Shim overhead: `xgo-build -o app .` with TARGETPLATFORM=linux/arm64 against `go build -o app .` with the variables the shim sets (shim.Vars), both with a warm build cache; "+
			"xgo-build is built static (CGO_ENABLED=0), as the README installs it and the image ships it. "+
			"Start-up: T, a tiny static Go program (imports only os and syscall) that exits at once, stands for go; three commands run interleaved: T alone, "+
			"xgo-build with XGO_GO=T (it parses, maps the platform, checks T's build info and execs it), and the floor, T with XGO_FLOOR_EXEC=T, which only execs T: "+
			"what any Go program pays to start and exec. Both start-up cases are set against the same runs of T alone; the note below gives the differences of the medians.")
	}
	return n
}
