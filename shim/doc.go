// Package shim turns a container build's target platform into the environment of a native Go
// cross-build, and runs the real go command with it. It is the whole of the xgo-build command
// and the platform table of the release pipeline, so that a Dockerfile build and a release build
// the same binary for the same platform string.
//
// # Platforms
//
// A platform is written os/arch[/variant], as buildx passes it in TARGETPLATFORM. [Parse] trims
// it, lowers its case and normalises it as containerd does:
//
//	x86_64, x86-64  -> amd64          armhf -> arm/v7     macos -> darwin
//	aarch64         -> arm64          armel -> arm/v6     wasi  -> wasip1
//	i386, i686      -> 386
//
// The os/arch pair must be a Go port (`go tool dist list`). The variant selects the arch's
// sub-architecture variable, and only the values the Go toolchain really implements are
// accepted (go itself silently builds the default for GOARM=8 or GOAMD64=v5):
//
//	arch              variants                               variable   default
//	amd64             v1 v2 v3 v4                            GOAMD64    v1
//	arm               v5 v6 v7, v8 (= v7), 5 6 7             GOARM      7
//	arm64             v8 v8.0..v8.9, v9 v9.0..v9.5           GOARM64    v8.0
//	386               sse2 softfloat                         GO386      sse2
//	mips mipsle       hardfloat softfloat                    GOMIPS     hardfloat
//	mips64 mips64le   hardfloat softfloat                    GOMIPS64   hardfloat
//	ppc64 ppc64le     power8 power9 power10                  GOPPC64    power8
//	riscv64           rva20u64 rva22u64 rva23u64             GORISCV64  rva20u64
//
// Other arches take no variant. In the canonical form ([Platform.String]) a variant that names
// the default is dropped (linux/arm64/v8 is linux/arm64), except for arm, whose variant is
// always written (linux/arm is linux/arm/v7).
//
// # Environment
//
// [Target] picks the platform: the --xgo-platform flag, else TARGETPLATFORM, else
// TARGETOS/TARGETARCH/TARGETVARIANT. [Vars] gives GOOS, GOARCH, the arch's variable and
// CGO_ENABLED=0 (unless CGO_ENABLED is set), refusing a user's setting that contradicts the
// target, and [MergeEnv] applies them without duplicate keys.
//
// # The real go
//
// The go that xgo-build runs is XGO_GO if set, else the first go on PATH that is not xgo-build
// itself; another copy of xgo-build there is reported as a loop. When that go is not the real
// go (its build info does not name cmd/go: a script or other wrapper), the shim also sets
// XGO_BUILD_DEPTH=N:PATH for it, N counting such wrappers run by the shims up the chain and
// PATH naming the last. A shim that would run a ninth reports a loop (a wrapper that runs
// xgo-build again) instead of spinning. Only wrappers count, never the real go, so a go test,
// go generate or go run whose program runs xgo-build is never refused, even through a wrapper
// such as a version manager's shim.
package shim
