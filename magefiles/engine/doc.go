// Package engine holds the tests that run this repository's products in a real container
// engine, the one package enginetest starts (BuildKit behind buildx, the Docker daemon, QEMU
// through binfmt_misc), all with one engine whose BuildKit cache they share:
//
//   - the repository's Dockerfile built for four platforms with xgo-build, pushed, pulled
//     and run, foreign platforms under emulation;
//   - a Dockerfile whose build stage lacks ARG TARGETPLATFORM;
//   - the README's example Dockerfile, taken from README.md, built for the same four
//     platforms on testdata/dockerfile/example with xgo-build installed by `go install` from
//     a module proxy on loopback that serves this checkout, and each image run;
//   - xgo-build taken from the xgo-build image as the README says, through a
//     $BUILDPLATFORM stage, which gives the build machine's binary to a foreign build;
//   - xgo-build linked as go, the README's wrapper mode, under an unchanged `go build`.
//
// It has no code of its own.
package engine
