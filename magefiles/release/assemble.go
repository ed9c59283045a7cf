package release

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/store"
	"golang.org/x/sync/errgroup"
)

// assembler makes the platform images from the binaries as they are built, with their
// attestations (see attestations.go), up to cfg.Jobs at a time, in the background.
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
		refs, err := attestations(a.cfg, a.list[i], r, img)
		if err != nil {
			return err
		}
		a.images[i] = oci.PlatformImage{Platform: r.Platform, Image: img, Referrers: refs}
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

// makeImage puts the binary of r on the target's base image, with the release's annotations
// (XGO_ANNOTATIONS' for the manifest over them), the same org.opencontainers.image.* keys as
// config labels (XGO_LABELS over them), the user, env, workdir and ports of cfg.Image, and
// computes the image's digest. The layer comes from cache when it has a directory (an
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
	own := imageAnnotations(cfg, t)
	img, err := oci.NewImage(t.Base, layer, oci.ImageSpec{
		Platform:     t.Platform,
		Entrypoint:   []string{"/" + file},
		Created:      cfg.Created,
		Annotations:  withOver(own, cfg.Image.Annotations.forManifest(t.Platform)),
		User:         cfg.Image.User,
		Env:          cfg.Image.Env,
		WorkingDir:   cfg.Image.WorkingDir,
		ExposedPorts: cfg.Image.Ports,
		Labels:       withOver(own, cfg.Image.Labels),
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
