// Package engine holds the tests that run this repository's products in a real container
// engine, the one package enginetest starts (BuildKit behind buildx, the Docker daemon, QEMU
// through binfmt_misc): the repository's Dockerfile built for four platforms with xgo-build,
// pushed, pulled and run, foreign platforms under emulation; and a Dockerfile whose build
// stage lacks ARG TARGETPLATFORM. It has no code of its own.
package engine
