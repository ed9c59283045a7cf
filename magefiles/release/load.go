package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/magefile/mage/mg"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/shim"
)

// The load target puts what the image target builds into the local Docker engine, so that
// docker run takes it without a registry: it checks its values and asks the engine for its
// platform (engine.go), runs the image target (dist/oci), and sends the image of one platform
// of the index, the engine's or XGO_LOAD_PLATFORM, to the engine as a docker-save tarball
// under one tag, which it prints. An engine with the containerd image store could take the
// whole index; load sends it one platform there too.

// runLoad runs the load target for mage: in the working directory, with the process
// environment.
func runLoad(ctx context.Context) error {
	dir, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the project directory: %w", err)
	}
	ctx, stop := interruptContext(ctx)
	defer stop()
	return load(ctx, runEnv{dir: dir, getenv: os.Getenv, environ: os.Environ(), out: os.Stderr, result: os.Stdout, verbose: mg.Verbose()})
}

// load builds the image and loads one platform of it into the Docker engine. A run stopped by
// a signal fails with that, as run does.
func load(ctx context.Context, e runEnv) error {
	err := stoppedError(ctx, "load", loadImage(ctx, e, time.Now()))
	if cause := stopCause(ctx); err == nil && cause != nil {
		fmt.Fprintf(e.out, "%s after the load had done its work: it is complete\n", cause)
	}
	return err
}

// loadSettings is what load reads beside the image target's configuration.
type loadSettings struct {
	tag      string         // XGO_LOAD_TAG with its tag; "" for the default
	platform *shim.Platform // XGO_LOAD_PLATFORM; nil for the engine's
	engine   engine         // DOCKER_HOST
}

// readLoadEnv reads XGO_LOAD_TAG, XGO_LOAD_PLATFORM and DOCKER_HOST: every bad value is one
// error naming the variable and the value, all of them joined.
func readLoadEnv(getenv func(string) string) (loadSettings, error) {
	var (
		lc   loadSettings
		errs []error
		err  error
	)
	if v := strings.TrimSpace(getenv("XGO_LOAD_TAG")); v != "" {
		if lc.tag, err = parseLoadTag(v); err != nil {
			errs = append(errs, badValue("XGO_LOAD_TAG", getenv("XGO_LOAD_TAG"), err))
		}
	}
	if v := getenv("XGO_LOAD_PLATFORM"); strings.TrimSpace(v) != "" {
		p, err := shim.Parse(v)
		if err != nil {
			errs = append(errs, badValue("XGO_LOAD_PLATFORM", v, err))
		}
		lc.platform = &p
	}
	if lc.engine, err = parseDockerHost(getenv("DOCKER_HOST")); err != nil {
		errs = append(errs, badValue("DOCKER_HOST", getenv("DOCKER_HOST"), err))
	}
	return lc, errors.Join(errs...)
}

// parseLoadTag checks an image reference with an optional tag, name[:tag], and returns it
// with its tag (latest when it has none), as docker run takes it.
func parseLoadTag(s string) (string, error) {
	if strings.Contains(s, "@") {
		return "", errors.New("must be name[:tag], without a digest")
	}
	t, err := name.NewTag(s)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(s, ":"+t.TagStr()) {
		s += ":" + t.TagStr()
	}
	return s, nil
}

// defaultLoadTag returns the tag load gives when XGO_LOAD_TAG is unset: the binary name, in
// lower case, with the first tag a release of this commit pushes (X.Y.Z for a vX.Y.Z git
// tag, else latest).
func defaultLoadTag(cfg config) (string, error) {
	s := strings.ToLower(cfg.Name) + ":" + versionTags(cfg.Version)[0]
	if _, err := name.NewTag(s); err != nil {
		return "", fmt.Errorf("the binary name %q makes no image name (%v): set XGO_LOAD_TAG", cfg.Name, err)
	}
	return s, nil
}

// loadImage does the work of load; start is when the run began.
func loadImage(ctx context.Context, e runEnv, start time.Time) error {
	lc, err := readLoadEnv(e.getenv)
	if err != nil {
		return err
	}
	info, err := lc.engine.info(ctx)
	if err != nil {
		return err
	}
	want, fromEngine := lc.platform, false
	if want == nil {
		p, err := info.platform()
		if err != nil {
			return err
		}
		want, fromEngine = &p, true
	}
	// A platform XGO_PLATFORMS leaves out fails before the build; with all (or a bad value,
	// which the image run reports) it is looked for in the index.
	if pl, err := parsePlatformList(e.getenv("XGO_PLATFORMS")); err == nil && !pl.All && !slices.Contains(pl.List, *want) {
		return missingPlatform(*want, fromEngine, pl.List)
	}

	image := e
	image.result = nil // the result of load is the tag alone
	r := &release{env: image, last: stageImage, start: start}
	if err := r.run(ctx); err != nil {
		return err
	}
	tag := lc.tag
	if tag == "" {
		if tag, err = defaultLoadTag(r.cfg); err != nil {
			return err
		}
	}
	img, digest, err := platformImage(r.layout, r.index, *want, fromEngine)
	if err != nil {
		return err
	}
	if info.containerdStore() {
		fmt.Fprintf(e.out, "the Docker engine at %s has the containerd image store, which could hold the whole index: load gives it the %s image alone\n", lc.engine.host, want)
	}
	fmt.Fprintf(e.out, "loading the %s image %s into the Docker engine at %s as %s\n", want, digest, lc.engine.host, tag)
	if err := writeToEngine(ctx, lc.engine, tag, img); err != nil {
		return fmt.Errorf("loading %s into the Docker engine at %s: %w", tag, lc.engine.host, err)
	}
	_, err = fmt.Fprintln(e.results(), tag)
	return err
}

// platformImage returns the image of platform p in the layout at dir, whose index must be
// the one the run wrote (index), and its manifest digest. fromEngine says that p is the
// engine's platform, not XGO_LOAD_PLATFORM, for the message when the index lacks it.
func platformImage(dir string, index v1.Hash, p shim.Platform, fromEngine bool) (v1.Image, v1.Hash, error) {
	idx, err := oci.OpenLayout(dir)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if d, err := idx.Digest(); err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading the index digest of %s: %w", dir, err)
	} else if d != index {
		return nil, v1.Hash{}, fmt.Errorf("%s changed after the build: its index is %s, not %s (another run wrote it?)", dir, d, index)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("reading the index of %s: %w", dir, err)
	}
	var have []shim.Platform
	for _, desc := range m.Manifests {
		if desc.Platform == nil {
			continue
		}
		q, err := shim.Parse(strings.TrimSuffix(desc.Platform.OS+"/"+desc.Platform.Architecture+"/"+desc.Platform.Variant, "/"))
		if err != nil {
			continue
		}
		if q == p {
			img, err := idx.Image(desc.Digest)
			if err != nil {
				return nil, v1.Hash{}, fmt.Errorf("reading the %s image of %s: %w", p, dir, err)
			}
			return img, desc.Digest, nil
		}
		have = append(have, q)
	}
	return nil, v1.Hash{}, missingPlatform(p, fromEngine, have)
}

// missingPlatform is the error of a platform to load that the image lacks (or will lack),
// with the platforms it has.
func missingPlatform(p shim.Platform, fromEngine bool, have []shim.Platform) error {
	names := make([]string, len(have))
	for i, q := range have {
		names[i] = q.String()
	}
	list := strings.Join(names, ", ")
	if fromEngine {
		return fmt.Errorf("the image has no %s platform, the Docker engine's, only %s: add it to XGO_PLATFORMS, or set XGO_LOAD_PLATFORM to one of them", p, list)
	}
	return badValue("XGO_LOAD_PLATFORM", p.String(), fmt.Errorf("the image has no such platform, only %s: add it to XGO_PLATFORMS", list))
}

// errEngineDone stops the writing of a tarball the engine no longer reads.
var errEngineDone = errors.New("the Docker engine stopped reading the image")

// writeToEngine streams img, tagged tag, to the engine as a docker-save tarball (the layers
// as they are in the layout, compressed), written as the engine reads it.
func writeToEngine(ctx context.Context, eng engine, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := tarball.Write(ref, img, pw)
		pw.CloseWithError(err)
		written <- err
	}()
	loadErr := eng.load(ctx, pr)
	pr.CloseWithError(errEngineDone)
	if err := <-written; err != nil && !errors.Is(err, errEngineDone) && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("writing the image tarball: %w", err)
	}
	return loadErr
}
