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
//     (testdata/floor).
//
// The sides of a comparison run interleaved, so machine noise hits them alike. Each figure is
// the median of several runs with its range, the ratio of ours to theirs, and the peak resident
// memory. The results are written as results.md (a table), chart.svg (a bar chart) and
// results.json, with the machine and the tool versions they were measured on.
//
// Run it with `go tool mage bench` in the repository; see Config for the XGO_BENCH_* variables.
package bench
