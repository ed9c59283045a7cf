//go:build mage

package main

import (
	"context"
	"os"

	"github.com/xgo-build/xgo-build/magefiles/bench"
)

// Bench measures xgo-build against QEMU-emulated builds (pure Go, cgo, and a multi-platform
// Dockerfile in BuildKit), ko (cold, warm and with one line changed) and plain go build,
// interleaved, and writes magefiles/bench/results/{results.md,chart.svg,results.json}. The
// first run also installs ko, distribution's registry, buildkitd and buildx at their pinned
// versions and fetches or builds Go's toolchains for the foreign platforms. Run nothing else
// meanwhile. XGO_BENCH_QUICK=1 runs a short version (hello only) whose results go to
// $TMPDIR/xgo-build-bench-quick; XGO_BENCH_PROGRAMS, XGO_BENCH_CASES (emulated, release, shim,
// edit, dockerfile, cgo), XGO_BENCH_RUNS, XGO_BENCH_WARM_RUNS, XGO_BENCH_SHIM_RUNS,
// XGO_BENCH_OUT and XGO_BENCH_CACHE adjust it; XGO_TEST_REGISTRY, XGO_TEST_BUILDKITD and
// XGO_TEST_BUILDX point at binaries to use instead of installing them. The dockerfile and cgo
// cases need root, and dockerfile a running Docker daemon.
func Bench(ctx context.Context) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := bench.FindRoot(wd)
	if err != nil {
		return err
	}
	cfg, err := bench.ConfigFrom(root, os.Getenv)
	if err != nil {
		return err
	}
	return bench.Run(ctx, cfg, os.Stdout)
}
