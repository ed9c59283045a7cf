//go:build mage

package main

import (
	"context"
	"os"

	"github.com/xgo-build/xgo-build/magefiles/bench"
)

// Bench measures xgo-build against QEMU-emulated builds, ko and plain go build, interleaved,
// and writes magefiles/bench/results/{results.md,chart.svg,results.json}. It takes about 20
// minutes on 2 idle cores, plus a few the first time (installing ko and distribution's registry
// at their pinned versions, fetching the linux-arm64 Go toolchain). Run nothing else meanwhile.
// XGO_BENCH_QUICK=1 runs a short version (hello only) whose results go to
// $TMPDIR/xgo-build-bench-quick; XGO_BENCH_PROGRAMS, XGO_BENCH_CASES (emulated, release, shim),
// XGO_BENCH_RUNS, XGO_BENCH_WARM_RUNS, XGO_BENCH_SHIM_RUNS, XGO_BENCH_OUT and XGO_BENCH_CACHE
// adjust it; XGO_TEST_REGISTRY points at a registry binary to use instead of installing one.
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
