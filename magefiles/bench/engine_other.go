//go:build !linux

package bench

import (
	"context"
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// errEngineLinux is the error of the comparisons that need linux's container engine or
// binfmt_misc.
var errEngineLinux = errors.New("it needs linux: buildkitd's OCI worker and binfmt_misc are linux only")

func startEngine(context.Context, string, string, string, string) (engine, error) {
	return nil, errEngineLinux
}

func enableBinfmt(context.Context) error { return errEngineLinux }

func golangStandIn(v1.Platform, string, string, string, string) (v1.Image, error) {
	return nil, errEngineLinux
}
