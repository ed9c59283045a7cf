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
	"golang.org/x/sync/errgroup"

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
	out     io.Writer           // progress and results
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
	return run(ctx, runEnv{dir: dir, getenv: os.Getenv, environ: os.Environ(), out: os.Stdout, verbose: mg.Verbose()}, last)
}

// String returns the mage target name of the stage.
func (s stage) String() string {
	return [...]string{"binaries", "image", "release"}[s]
}

// run validates the configuration and the plan, then builds and, as far as last says,
// assembles the image and pushes it.
func run(ctx context.Context, e runEnv, last stage) error {
	start := time.Now()
	if last == stageRelease && strings.TrimSpace(e.getenv("XGO_REPO")) == "" {
		return errors.New("XGO_REPO is not set: release needs the repository to push to, e.g. XGO_REPO=ghcr.io/you/app")
	}
	cfg, errs := readEnv(e.dir, e.getenv)
	var opts []remote.Option
	if cfg.Base != "scratch" || last == stageRelease {
		opts = registry.Options(ctx, cfg.Jobs, cfg.Insecure, cfg.Retry)
	}
	cache := store.Cache{Dir: store.CacheDir(e.getenv)}
	defer cache.Trim(time.Now())
	// go list, git and the base's registry are asked side by side; the base only once its
	// variables are known to be good.
	var (
		wg      sync.WaitGroup
		base    store.Base
		baseErr error
	)
	if len(errs) == 0 {
		wg.Go(func() { base, baseErr = store.LoadBase(ctx, cfg.Base, cfg.Insecure, opts, cache) })
	}
	errs = append(errs, cfg.inspect(ctx, e.getenv, e.environ)...)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if baseErr != nil {
		return baseErr
	}
	targets, err := planTargets(cfg.Platforms, base)
	if err != nil {
		return err
	}
	// Everything is checked: from here on dist/ changes, and stays marked until the run ends
	// well. Another run on the same dist/ would mix its files with these: the run holds the
	// lock of dist/ until it returns.
	unlock, err := lockDist(ctx, cfg.Dist, cfg.Wait, e.out)
	if err != nil {
		return stoppedError(ctx, last.String(), err)
	}
	defer unlock()
	done, err := markIncomplete(cfg.Dist, last.String(), start)
	if err != nil {
		return err
	}
	if err := produce(ctx, e, cfg, base, targets, opts, cache, last, start); err != nil {
		// A signal to the process group can kill go build before the context's
		// cancellation reaches it: the signal, not the killed build, is the reason.
		return stoppedError(ctx, last.String(), err)
	}
	return done()
}

// produce builds the binaries of targets and, as far as last says, assembles the image and
// pushes it, printing progress and results.
func produce(ctx context.Context, e runEnv, cfg config, base store.Base, targets []target, opts []remote.Option, cache store.Cache, last stage, start time.Time) error {
	if cfg.DistUnignored {
		fmt.Fprintf(e.out, "warning: git does not ignore %s: add it to .gitignore, or go stamps the next build as modified and the digests change\n", cfg.Dist)
	}
	fmt.Fprintf(e.out, "building %s for %d platforms, %d at a time\n", cfg.Main, len(targets), cfg.Jobs)
	spec := buildSpec{
		Dir: cfg.Dir, Main: cfg.Main, Name: cfg.Name, Flags: cfg.Flags,
		BinDir: filepath.Join(cfg.Dist, "bin"), Jobs: cfg.Jobs,
		Environ: e.environ, Getenv: e.getenv,
	}
	if e.verbose {
		spec.Verbose = e.out
	}
	platforms := make([]shim.Platform, len(targets))
	for i, t := range targets {
		platforms[i] = t.Platform
	}
	// Each image is made as soon as its binary is built, while the other builds run.
	var asm *assembler
	if last >= stageImage {
		asm = startAssembly(ctx, cfg, targets, cache)
	}
	builds, err := buildAll(ctx, spec, platforms, func(r buildResult) {
		fmt.Fprintln(e.out, progressLine(r))
		if asm != nil {
			asm.add(r)
		}
	})
	if err != nil {
		if asm != nil {
			asm.stop()
		}
		return err
	}
	if last == stageBinaries {
		rows := make([]platformReport, len(builds))
		for i, b := range builds {
			rows[i] = newPlatformReport(cfg.Dist, b, "")
		}
		return writeSummary(e.out, rows, time.Since(start), runtime.NumCPU())
	}

	images, err := asm.wait()
	if err != nil {
		return err
	}
	idx, err := oci.NewIndex(images, indexAnnotations(cfg, base))
	if err != nil {
		return err
	}
	layoutDir := filepath.Join(cfg.Dist, "oci")
	if err := oci.WriteLayout(layoutDir, idx); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return fmt.Errorf("computing the index digest: %w", err)
	}
	rows := make([]platformReport, len(builds))
	for i, b := range builds {
		d, err := images[i].Image.Digest()
		if err != nil {
			return fmt.Errorf("computing the %s manifest digest: %w", b.Platform, err)
		}
		rows[i] = newPlatformReport(cfg.Dist, b, d.String())
	}
	if last == stageImage {
		if err := writeSummary(e.out, rows, time.Since(start), runtime.NumCPU()); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.out, "wrote the OCI image layout %s: index %s\n", layoutDir, digest)
		return err
	}

	mounts, err := baseLayers(targets)
	if err != nil {
		return err
	}
	return publish(ctx, e, cfg, base, mounts, layoutDir, rows, opts, start)
}

// publish pushes the image layout at layoutDir to cfg's repository, tags last, then writes
// release.json and prints the summary and the pushed reference. The layers in mounts, the
// base's, are mounted from the base's repository when it is in the same registry.
func publish(ctx context.Context, e runEnv, cfg config, base store.Base, mounts map[v1.Hash]bool, layoutDir string, rows []platformReport, opts []remote.Option, start time.Time) error {
	reportPath := filepath.Join(cfg.Dist, "release.json")
	if err := os.Remove(reportPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the previous %s: %w", reportPath, err)
	}
	// Push what is on disk: the layers are sent as written, not compressed again.
	onDisk, err := oci.OpenLayout(layoutDir)
	if err != nil {
		return err
	}
	digest, err := onDisk.Digest()
	if err != nil {
		return fmt.Errorf("reading the index digest of %s: %w", layoutDir, err)
	}
	fmt.Fprintf(e.out, "pushing %s to %s\n", digest, cfg.repo.Name())
	res, err := registry.PushIndex(ctx, cfg.repo, registry.Mountable(onDisk, base.Repo, cfg.repo, mounts), cfg.Tags, opts)
	if err != nil {
		return err
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
	wall := time.Since(start)
	rep.Seconds = wall.Round(time.Millisecond).Seconds()
	if err := writeReport(reportPath, rep); err != nil {
		return err
	}
	if err := writeSummary(e.out, rows, wall, rep.Cores); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "uploaded %d blobs (%s), skipped %d the registry had (%s); tags: %s\n",
		res.BlobsUploaded, formatSize(res.BytesUploaded), res.BlobsSkipped, formatSize(res.BytesSkipped), strings.Join(res.Tags, ", "))
	_, err = fmt.Fprintln(e.out, rep.Reference)
	return err
}

// baseLayers returns the digests of the layers of the targets' base images.
func baseLayers(targets []target) (map[v1.Hash]bool, error) {
	layers := map[v1.Hash]bool{}
	for _, t := range targets {
		if t.BaseDigest == (v1.Hash{}) {
			continue // scratch
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

// assembler makes the platform images from the binaries as they are built, up to cfg.Jobs
// at a time, in the background.
type assembler struct {
	cfg     config
	cache   store.Cache    // dir "" when there is none
	targets map[string]int // platform string -> position
	list    []target
	images  []oci.PlatformImage
	g       *errgroup.Group
	sem     chan struct{} // one slot per concurrent image
	ctx     context.Context
	cancel  context.CancelFunc
}

// startAssembly returns an assembler for targets; add each built binary, then wait (or stop).
func startAssembly(ctx context.Context, cfg config, targets []target, cache store.Cache) *assembler {
	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	a := &assembler{cfg: cfg, cache: cache, targets: map[string]int{}, list: targets,
		images: make([]oci.PlatformImage, len(targets)), g: g, ctx: gctx, cancel: cancel,
		sem: make(chan struct{}, max(cfg.Jobs, 1))}
	for i, t := range targets {
		a.targets[t.Platform.String()] = i
	}
	return a
}

// add starts making the image of one built binary.
func (a *assembler) add(r buildResult) {
	i, ok := a.targets[r.Platform.String()]
	if !ok {
		return
	}
	// add must not block the build that calls it: the goroutine waits for a slot instead.
	a.g.Go(func() error {
		select {
		case a.sem <- struct{}{}:
			defer func() { <-a.sem }()
		case <-a.ctx.Done():
			return a.ctx.Err()
		}
		img, err := makeImage(a.cfg, a.cache, a.list[i], r)
		if err != nil {
			return err
		}
		a.images[i] = oci.PlatformImage{Platform: r.Platform, Image: img}
		return nil
	})
}

// wait returns the images in the order of the targets, once every one is made.
func (a *assembler) wait() ([]oci.PlatformImage, error) {
	defer a.cancel()
	if err := a.g.Wait(); err != nil {
		return nil, err
	}
	for i, im := range a.images {
		if im.Image == nil {
			return nil, fmt.Errorf("building the %s image: its binary was never built", a.list[i].Platform)
		}
	}
	return a.images, nil
}

// stop abandons the assembly and waits for the images in progress.
func (a *assembler) stop() {
	a.cancel()
	_ = a.g.Wait()
}

// makeImage puts the binary of r on the target's base image, with the release's annotations,
// and computes the image's digest. The layer comes from cache when it has a directory (an
// unchanged binary is then not compressed again), else it is compressed now.
func makeImage(cfg config, cache store.Cache, t target, r buildResult) (v1.Image, error) {
	file := cfg.Name + exeSuffix(t.Platform.OS)
	var layer v1.Layer
	var err error
	if cache.Dir != "" {
		layer, _, err = cache.LayerAfterBuild(r.Path, file, cfg.Created, r.Before)
	} else {
		layer, err = oci.BinaryLayer(r.Path, file, cfg.Created)
	}
	if err != nil {
		return nil, err
	}
	img, err := oci.NewImage(t.Base, layer, oci.ImageSpec{
		Platform:    t.Platform,
		Entrypoint:  []string{"/" + file},
		Created:     cfg.Created,
		Annotations: imageAnnotations(cfg, t),
	})
	if err != nil {
		return nil, err
	}
	if _, err := img.Digest(); err != nil {
		return nil, fmt.Errorf("building the %s image: %w", t.Platform, err)
	}
	// The base's layers go into the layout: fetch those the cache lacks now, while the
	// other builds run.
	if err := oci.FetchLayerFiles(t.Base); err != nil {
		return nil, fmt.Errorf("building the %s image: %w", t.Platform, err)
	}
	return img, nil
}

// exeSuffix is the file name suffix of executables on goos.
func exeSuffix(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

// The OCI pre-defined annotation keys the release sets.
const (
	annotationCreated    = "org.opencontainers.image.created"
	annotationSource     = "org.opencontainers.image.source"
	annotationRevision   = "org.opencontainers.image.revision"
	annotationVersion    = "org.opencontainers.image.version"
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

// commonAnnotations are the annotations of the index and of every image.
func commonAnnotations(cfg config) map[string]string {
	m := map[string]string{annotationCreated: cfg.Created.Format(time.RFC3339)}
	for k, v := range map[string]string{annotationSource: cfg.Source, annotationRevision: cfg.Revision, annotationVersion: cfg.Version} {
		if v != "" {
			m[k] = v
		}
	}
	if cfg.Base != "scratch" {
		m[annotationBaseName] = cfg.Base
	}
	return m
}

// imageAnnotations are a platform image's annotations: base.digest is the digest of the base
// manifest the image was built on.
func imageAnnotations(cfg config, t target) map[string]string {
	m := commonAnnotations(cfg)
	if t.BaseDigest != (v1.Hash{}) {
		m[annotationBaseDigest] = t.BaseDigest.String()
	}
	return m
}

// indexAnnotations are the index's annotations: base.digest is the digest of the base index
// (or manifest) XGO_BASE resolved to.
func indexAnnotations(cfg config, base store.Base) map[string]string {
	m := commonAnnotations(cfg)
	if base.Digest != (v1.Hash{}) {
		m[annotationBaseDigest] = base.Digest.String()
	}
	return m
}
