// Package bench measures xgo-build against the alternatives a user weighs it against, side by
// side, in one run, on the same programs (testdata/hello and testdata/midsize):
//
//   - native vs emulated: a cold-cache linux/arm64 build with xgo-build against the same build
//     by the linux-arm64 Go toolchain (module golang.org/toolchain) running under qemu-user, as
//     `docker buildx` does for a foreign platform;
//   - release vs ko: the eight-platform image pushed by the release targets against the same
//     image pushed by ko, onto the same base in the same loopback registry, cold and warm; each
//     release run is also set against its compile work (the CPU time of its go builds, read
//     from its release.json, over the cores);
//   - shim overhead: `xgo-build -o x .` against `go build -o x .` with the same variables, warm;
//     and the shim's start-up to exec, against the floor any Go program pays to start and exec
//     (testdata/floor);
//   - release vs ko with one line changed (edit): the same two commands after one line of the
//     main package changed, a different value every run, so every platform recompiles one
//     package and relinks; set against ko and against the release's compile work;
//   - a multi-platform Dockerfile in BuildKit (dockerfile): the README's Dockerfile, xgo-build
//     in a $BUILDPLATFORM stage, against the same Dockerfile with its build stage for the
//     target platform, run under QEMU, cold and warm with one line changed, each build split
//     into phases from BuildKit's progress stream (buildkitd from magefiles/internal/enginetest);
//   - cgo, native vs emulated (cgo): testdata/cgo for linux/arm64 with the host's C cross
//     compiler against Go's linux-arm64 toolchain and Debian's arm64 gcc in an arm64 root file
//     system, every program of that build under qemu-user through binfmt_misc.
//
// The sides of a comparison run interleaved, so machine noise hits them alike. Each figure is
// the median of several runs with its range, the ratio of ours to theirs, and the peak resident
// memory. The results are written as results.md (a table), chart.svg (a bar chart) and
// results.json, with the machine and the tool versions they were measured on.
//
// Run it with `go tool mage bench` in the repository; see Config for the XGO_BENCH_* variables.
package bench
