package bench

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/xgo-build/xgo-build/magefiles/internal/enginetest"
	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// linuxEngine is enginetest's engine: buildkitd behind a buildx remote builder, with a
// loopback registry standing in for docker.io.
type linuxEngine struct{ *enginetest.Engine }

func (e linuxEngine) RegistryHost() string { return e.Registry.Host() }

// startEngine starts enginetest's engine with its files in dir, the given buildkitd, buildx
// and registry programs.
func startEngine(ctx context.Context, dir, buildkitd, buildx, registry string) (engine, error) {
	e, err := enginetest.Run(ctx, enginetest.RunOptions{Dir: dir, Buildkitd: buildkitd, Buildx: buildx,
		Registry: []registrytest.Option{registrytest.WithBinary(registry)}})
	if err != nil {
		return nil, err
	}
	return linuxEngine{e}, nil
}

// enableBinfmt enables qemu-user-static's binfmt_misc handlers (enginetest.EnableBinfmt).
func enableBinfmt(ctx context.Context) error { return enginetest.EnableBinfmt(ctx) }

// golangStandIn returns the stand-in golang image for p (enginetest.GolangImage).
func golangStandIn(p v1.Platform, goroot, goVersion, busybox, dir string) (v1.Image, error) {
	return enginetest.GolangImage(p, goroot, goVersion, busybox, dir)
}
