package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/magefile/mage/mg"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
	"github.com/xgo-build/xgo-build/shim"
)

// stage is how far a run goes.
type stage int

const (
	stageBinaries stage = iota
	stageImage
	stageRelease
)

// runEnv is the outside world of a run.
type runEnv struct {
	dir     string              // project directory
	getenv  func(string) string // XGO_* and the user's GO* variables
	environ []string            // environment of the go builds
	out     io.Writer           // progress, warnings and summaries: stderr
	result  io.Writer           // the run's result alone, for $(...): stdout; nil discards it (see results.go)
	verbose bool                // print the go commands
}

// runTarget runs a stage for mage: in the working directory, with the process environment.
func runTarget(ctx context.Context, last stage) error {
	dir, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the project directory: %w", err)
	}
	// mage cancels ctx on SIGINT; CI systems stop jobs with SIGTERM.
	ctx, stop := interruptContext(ctx)
	defer stop()
	return run(ctx, runEnv{dir: dir, getenv: os.Getenv, environ: os.Environ(), out: os.Stderr, result: os.Stdout, verbose: mg.Verbose()}, last)
}

// String returns the mage target name of the stage.
func (s stage) String() string {
	return [...]string{"binaries", "image", "release"}[s]
}

// run releases the project as far as last says, one step after another: read the
// configuration (and the base, beside git once go list has found the main package), plan the
// targets against the base,
// then, with dist/ locked and marked incomplete, build the binaries (each image assembled as
// soon as its binary is built), write the image layout, and push it. Every value is checked
// before the first build; a failure after that names its target. A run stopped by a signal
// (or by the end of the process that started it) fails with that, whatever the work that was
// cut short reported (see stoppedError); one that had done all its work when the signal came
// succeeds, and says so.
func run(ctx context.Context, e runEnv, last stage) error {
	r := &release{env: e, last: last, start: time.Now()}
	err := stoppedError(ctx, last.String(), r.run(ctx))
	if cause := stopCause(ctx); err == nil && cause != nil {
		fmt.Fprintf(e.out, "%s after the %s had done its work: it is complete\n", cause, last)
	}
	return err
}

// run does the steps that the function run describes, and returns their first error as it is.
func (r *release) run(ctx context.Context) error {
	if err := r.readConfig(ctx); err != nil {
		return err
	}
	if err := r.planTargets(); err != nil {
		return err
	}
	// Everything is checked: from here on dist/ changes, and stays marked until the run ends
	// well. Another run on the same dist/ would mix its files with these: the run holds the
	// lock of dist/ until it returns.
	unlock, err := lockDist(ctx, r.cfg.Dist, r.cfg.Wait, r.env.out)
	if err != nil {
		return err
	}
	defer unlock()
	if r.last >= stageImage {
		// The layout the run would write must not replace what is not one: say so before
		// anything is built.
		if err := oci.CheckReplaceable(filepath.Join(r.cfg.Dist, "oci")); err != nil {
			return err
		}
	}
	done, err := markIncomplete(r.cfg.Dist, r.last.String(), r.start)
	if err != nil {
		return err
	}
	if err := r.steps(ctx); err != nil {
		return err
	}
	return done()
}

// release is the state of one run, filled in step by step.
type release struct {
	env   runEnv
	last  stage     // how far the run goes
	start time.Time // for the summary's wall time

	cfg   config          // readConfig
	opts  []remote.Option // registry calls; nil when the run makes none
	cache store.Cache     // Dir "" when there is none
	base  store.Base      // readConfig

	targets []target            // planTargets
	images  []oci.PlatformImage // buildBinaries, in the order of targets
	rows    []platformReport    // buildBinaries: the summary's lines, with the manifests
	layout  string              // writeLayout: dist/oci
	index   v1.Hash             // writeLayout: the index digest
}

// readConfig reads and checks the configuration, asks go list and git, and resolves the
// base, side by side with git once every variable and the main package are known to be good.
func (r *release) readConfig(ctx context.Context) error {
	getenv, err := withDockerMetadata(r.env.getenv)
	if err != nil {
		return err
	}
	r.env.getenv = getenv
	e := r.env
	if r.last == stageRelease && strings.TrimSpace(e.getenv("XGO_REPO")) == "" {
		return errors.New("XGO_REPO is not set: release needs the repository to push to, e.g. XGO_REPO=ghcr.io/you/app")
	}
	cfg, errs := readEnv(e.dir, e.getenv)
	if !store.Builtin(cfg.Base) || r.last == stageRelease {
		r.opts = registry.Options(ctx, cfg.Jobs, cfg.Insecure, cfg.Retry, cfg.keychain)
	}
	r.cache = store.Cache{Dir: store.CacheDir(e.getenv)}
	var (
		wg        sync.WaitGroup
		baseErr   error
		mainFound func()
	)
	// Reading the base writes it to the cache: it starts only once every value is known to be
	// good, the main package included, and runs beside git.
	if len(errs) == 0 {
		mainFound = func() {
			wg.Go(func() { r.base, baseErr = store.LoadBase(ctx, cfg.Base, cfg.Insecure, r.opts, r.cache) })
		}
	}
	errs = append(errs, cfg.askGoAndGit(ctx, e.getenv, e.environ, mainFound)...)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.cfg = cfg
	return baseErr
}

// planTargets resolves the requested platforms against the base.
func (r *release) planTargets() error {
	targets, err := planTargets(r.cfg.Platforms, r.base)
	if err == nil && r.cfg.Platforms.All && !r.cfg.ByDigest {
		err = r.cfg.Image.checkAllPlatforms(targets)
	}
	r.targets = targets
	return err
}

// steps builds, assembles and pushes, as far as the run goes, and prints the summary.
func (r *release) steps(ctx context.Context) error {
	defer r.cache.Trim(time.Now())
	if err := r.buildBinaries(ctx); err != nil {
		return err
	}
	if err := r.smoke(ctx); err != nil {
		return err
	}
	if r.last == stageBinaries {
		return r.summary()
	}
	if err := r.writeLayout(); err != nil {
		return err
	}
	if r.last == stageImage {
		if err := r.summary(); err != nil {
			return err
		}
		fmt.Fprintf(r.env.out, "wrote the OCI image layout %s: index %s\n", r.layout, r.index)
		return r.imageResult()
	}
	if r.cfg.ByDigest {
		return r.pushByDigest(ctx)
	}
	return r.push(ctx)
}

// buildBinaries runs the go builds, as many at a time as cfg.Jobs says, printing a line as
// each ends; for image and release, each binary's image is made as soon as it is built,
// while the other builds run.
func (r *release) buildBinaries(ctx context.Context) error {
	cfg, e := r.cfg, r.env
	if cfg.DistUnignored {
		fmt.Fprintf(e.out, "warning: git does not ignore %s: add it to .gitignore, or go stamps the next build as modified and the digests change\n", cfg.Dist)
	}
	fmt.Fprintf(e.out, "building %s for %d platforms, %d at a time\n", cfg.Main, len(r.targets), cfg.Jobs)
	spec := buildSpec{
		Dir: cfg.Dir, Main: cfg.Main, Name: cfg.Name, Flags: cfg.Flags,
		BinDir: filepath.Join(cfg.Dist, "bin"), Jobs: cfg.Jobs,
		Environ: e.environ, Getenv: e.getenv,
	}
	if e.verbose {
		spec.Verbose = e.out
	}
	if r.last >= stageImage {
		spec.Base = cfg.Base
	}
	platforms := make([]shim.Platform, len(r.targets))
	for i, t := range r.targets {
		platforms[i] = t.Platform
	}
	var asm *assembler
	if r.last >= stageImage {
		asm = startAssembly(ctx, cfg, r.targets, r.cache)
	}
	builds, err := buildAll(ctx, spec, platforms, func(b buildResult) {
		fmt.Fprintln(e.out, progressLine(b))
		if asm != nil {
			asm.add(b)
		}
	})
	if err != nil {
		if asm != nil {
			asm.stop()
		}
		return err
	}
	r.rows = make([]platformReport, len(builds))
	for i, b := range builds {
		r.rows[i] = newPlatformReport(cfg.Dist, b)
	}
	if asm == nil {
		return nil
	}
	if r.images, err = asm.wait(); err != nil {
		return err
	}
	for i, im := range r.images {
		d, err := im.Image.Digest()
		if err != nil {
			return fmt.Errorf("computing the %s manifest digest: %w", im.Platform, err)
		}
		r.rows[i].Manifest = d.String()
		if r.rows[i].SBOM, r.rows[i].Provenance, err = attestationDigests(im); err != nil {
			return err
		}
	}
	return nil
}

// writeLayout stitches the images into one index, with the release's annotations, and
// writes it as the OCI image layout dist/oci, named by the release's first tag, with the
// images' attestations after it.
func (r *release) writeLayout() error {
	idx, err := oci.NewIndex(r.images, indexAnnotations(r.cfg, r.base))
	if err != nil {
		return err
	}
	r.layout = filepath.Join(r.cfg.Dist, "oci")
	opts := []oci.LayoutOption{oci.WithReferrers(referrersOf(r.images)...)}
	if len(r.cfg.Tags) > 0 {
		opts = append(opts, oci.WithRefName(r.cfg.Tags[0]))
	}
	if err := oci.WriteLayout(r.layout, idx, opts...); err != nil {
		return err
	}
	if r.index, err = idx.Digest(); err != nil {
		return fmt.Errorf("computing the index digest: %w", err)
	}
	return nil
}

// summary prints the table of the built platforms.
func (r *release) summary() error {
	return writeSummary(r.env.out, r.rows, time.Since(r.start), runtime.NumCPU())
}

// push pushes the image layout to the configured repository, tags last, then writes
// release.json and prints the summary and the pushed reference. The base's layers are
// mounted from the base's repository when it is in the same registry.
func (r *release) push(ctx context.Context) error {
	cfg, e, base, rows := r.cfg, r.env, r.base, r.rows
	mounts, err := baseLayers(r.targets)
	if err != nil {
		return err
	}
	reportPath := filepath.Join(cfg.Dist, "release.json")
	if err := os.Remove(reportPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the previous %s: %w", reportPath, err)
	}
	// Push what is on disk: the layers are sent as written, not compressed again.
	onDisk, err := oci.OpenLayout(r.layout)
	if err != nil {
		return err
	}
	referrers, err := oci.OpenReferrers(r.layout)
	if err != nil {
		return err
	}
	digest, err := onDisk.Digest()
	if err != nil {
		return fmt.Errorf("reading the index digest of %s: %w", r.layout, err)
	}
	fmt.Fprintf(e.out, "pushing %s to %s\n", digest, cfg.repo.Name())
	res, err := registry.PushIndex(ctx, cfg.repo, registry.Mountable(onDisk, base.Repo, cfg.repo, mounts), cfg.Tags, r.opts, referrers...)
	if res, err = settleTags(ctx, cfg, cfg.Tags, res, err); err != nil {
		return withAttestationAdvice(err)
	}
	rep := releaseReport{
		Repository:    cfg.repo.Name(),
		Digest:        res.Digest.String(),
		Reference:     cfg.repo.Name() + "@" + res.Digest.String(),
		Tags:          res.Tags,
		Version:       cfg.Version,
		Revision:      cfg.Revision,
		Created:       cfg.Created.Format(time.RFC3339),
		Base:          cfg.Base,
		Platforms:     rows,
		BlobsUploaded: res.BlobsUploaded,
		BlobsSkipped:  res.BlobsSkipped,
		BytesUploaded: res.BytesUploaded,
		BytesSkipped:  res.BytesSkipped,
		Cores:         runtime.NumCPU(),
	}
	if base.Digest != (v1.Hash{}) {
		rep.BaseDigest = base.Digest.String()
	}
	wall := time.Since(r.start)
	rep.Seconds = wall.Round(time.Millisecond).Seconds()
	if err := writeReport(reportPath, rep); err != nil {
		return err
	}
	if err := writeSummary(e.out, rows, wall, rep.Cores); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "uploaded %d blobs (%s), skipped %d the registry had (%s); tags: %s\n",
		res.BlobsUploaded, formatSize(res.BytesUploaded), res.BlobsSkipped, formatSize(res.BytesSkipped), strings.Join(res.Tags, ", "))
	return r.releaseResult(rep)
}

// baseLayers returns the digests of the layers of the targets' base images.
func baseLayers(targets []target) (map[v1.Hash]bool, error) {
	layers := map[v1.Hash]bool{}
	for _, t := range targets {
		if t.BaseDigest == (v1.Hash{}) {
			continue // scratch, static: nothing to mount
		}
		m, err := t.Base.Manifest()
		if err != nil {
			return nil, fmt.Errorf("reading the %s base manifest: %w", t.Platform, err)
		}
		for _, l := range m.Layers {
			layers[l.Digest] = true
		}
	}
	return layers, nil
}
