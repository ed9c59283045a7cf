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
//   - xgo-build linked as go, the README's wrapper mode, under an unchanged `go build`;
//   - `mage release` run as a user runs it (a project importing the release targets),
//     pushing the eight default platforms to the engine's registry, each image pulled with
//     `docker pull --platform` and run (linux/386 natively where the kernel has IA32
//     emulation, else its binary verified), and `mage load` of each platform, run the same;
//   - a cgo program released with CGO_ENABLED=1 and -extldflags=-static on scratch for
//     linux/amd64, arm64, arm/v7, riscv64, ppc64le and s390x, each image pulled and run:
//     the C function answers, and says what its cross compiler built for;
//   - the README's cgo example Dockerfile, its build stage on Debian stand-ins made of this
//     machine's packages (the apt-get line replaced by the files of the packages it names),
//     built for the platforms the README names, each image run on glibc.
//
// It has no code of its own.
package engine
