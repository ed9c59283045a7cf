package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/xgo-build/xgo-build/magefiles/internal/tools"
	"github.com/xgo-build/xgo-build/shim"
)

// cgoSetup is what the cgo comparison runs: the host's C cross compiler for linux/arm64 and
// an arm64 root file system holding Debian's gcc and C library with Go's linux-arm64
// toolchain, whose programs run under qemu-user through binfmt_misc.
type cgoSetup struct {
	cc      string // aarch64-linux-gnu-gcc
	sysroot string // the arm64 root file system
}

// cgoPackages are the Debian packages of the emulated side's C toolchain, as the golang
// images based on Debian install them (g++, make and pkg-config left out: the program needs
// none of them).
var cgoPackages = []string{"gcc", "libc6-dev"}

// cgoMethodNote says what the cgo comparison measures.
const cgoMethodNote = "cgo, native vs emulated: testdata/cgo (a C function called through cgo) built for linux/arm64 with a cold GOCACHE, from a copy outside any repository, GOFLAGS=-buildvcs=false and GOPROXY=off on both sides. " +
	"Ours is `xgo-build -o app .` with TARGETPLATFORM=linux/arm64 and CGO_ENABLED=1 on the host, which sets CC=aarch64-linux-gnu-gcc (Debian's gcc-aarch64-linux-gnu). " +
	"Theirs is `go build -o app .` with CGO_ENABLED=1 run by the linux-arm64 Go toolchain (module golang.org/toolchain) at /usr/local/go of an arm64 root file system: " +
	"Debian's arm64 gcc and libc6-dev with their dependencies (apt-get --download-only for arm64, unpacked with dpkg-deb) from the same Debian release as the cross compiler, entered with chroot (with /dev/null, without /proc and /sys, which the build does not need); " +
	"every program of the build (go, compile, cgo, link, gcc, cc1, as, collect2, ld) is an arm64 binary that the kernel runs under qemu-aarch64-static through binfmt_misc, which is how a `docker buildx` build runs a RUN step of a foreign platform. " +
	"Both outputs are checked to be cgo linux/arm64 Go binaries (shim.VerifyFor with CGO_ENABLED=1) and run under qemu-aarch64-static, printing the C function's result."

// prepareCgo finds or installs the cross compiler, enables binfmt_misc and makes the arm64
// root file system.
func (b *bench) prepareCgo(ctx context.Context) error {
	leaveOut := "; or leave out the cgo comparison (XGO_BENCH_CASES without cgo)"
	if os.Geteuid() != 0 {
		return fmt.Errorf("the cgo comparison runs its emulated build in a chroot: it needs root%s", leaveOut)
	}
	var err error
	if b.cgo.cc, err = exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		if err := tools.Debian(ctx, b.log); err != nil {
			return fmt.Errorf("%w%s", err, leaveOut)
		}
		if b.cgo.cc, err = exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
			return fmt.Errorf("aarch64-linux-gnu-gcc not found after installing g++-aarch64-linux-gnu: %w", err)
		}
	}
	b.version("gcc (cross)", b.firstLine(ctx, b.cgo.cc, "--version"))
	if err := enableBinfmt(ctx); err != nil {
		return fmt.Errorf("running arm64 programs in a chroot: %w%s", err, leaveOut)
	}
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return fmt.Errorf("%w%s", err, leaveOut)
	}
	suite, err := debianSuite(osRelease, "arm64")
	if err != nil {
		return fmt.Errorf("%w%s", err, leaveOut)
	}
	if b.cgo.sysroot, err = arm64Sysroot(ctx, b.cfg.Cache, suite, b.goVersion, b.goroot, b.log); err != nil {
		return err
	}
	out, err := command{Chroot: b.cgo.sysroot, Dir: "/", Env: []string{"PATH=/usr/bin:/bin"}, Args: []string{"/usr/bin/gcc", "--version"}}.run(ctx)
	if err != nil {
		return fmt.Errorf("running the arm64 gcc under QEMU: %w", err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	b.version("gcc (arm64, under QEMU)", line)
	return nil
}

// arm64Sysroot returns the arm64 root file system of the cgo comparison, made once under
// cache: Debian suite's cgoPackages and their dependencies for arm64 unpacked, the
// linux-arm64 Go toolchain at goroot copied to /usr/local/go, and /tmp, /root and /dev/null.
func arm64Sysroot(ctx context.Context, cache, suite, goVersion, goroot string, log io.Writer) (string, error) {
	dst := filepath.Join(cache, "sysroot", suite+"-arm64-gcc-"+goVersion)
	root := filepath.Join(dst, "root")
	done := filepath.Join(dst, ".complete")
	if _, err := os.Stat(done); err == nil {
		return root, nil
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	debs, err := debianDownload(ctx, filepath.Join(dst, "apt"), "arm64", suite, cgoPackages, log)
	if err != nil {
		return "", err
	}
	if err := unpackDebs(ctx, debs, root); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "bench: copying the linux-arm64 toolchain into %s\n", root)
	if err := copyTree(goroot, filepath.Join(root, "usr", "local", "go")); err != nil {
		return "", err
	}
	if err := makeToolsExecutable(filepath.Join(root, "usr", "local", "go")); err != nil {
		return "", err
	}
	for _, d := range []struct {
		name string
		mode os.FileMode
	}{{"tmp", 0o777 | os.ModeSticky}, {"root", 0o700}, {"dev", 0o755}} {
		p := filepath.Join(root, d.name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return "", err
		}
	}
	if err := mknodNull(filepath.Join(root, "dev", "null")); err != nil {
		return "", err
	}
	return root, os.WriteFile(done, nil, 0o644)
}

// cgoCase measures a cold linux/arm64 build of testdata/cgo cross-compiled by xgo-build with
// the host's C cross compiler against the same build by the linux-arm64 Go toolchain and
// Debian's arm64 gcc, all under qemu-user, interleaved.
func (b *bench) cgoCase(ctx context.Context) error {
	src := filepath.Join(b.cfg.Root, "testdata", "cgo")
	arm64, err := shim.Parse("linux/arm64")
	if err != nil {
		return err
	}
	cgoOn := getenvFrom([]string{"CGO_ENABLED=1"})
	c := Case{
		Group:  groupCgo,
		Name:   "testdata/cgo, linux/arm64, cold cache",
		Ours:   Side{Tool: "xgo-build, cross gcc"},
		Theirs: Side{Tool: "go and gcc under qemu-user"},
	}
	// Each side builds its own copy of the program, outside any repository.
	ours := func(i int) (command, string, func(), error) {
		scratch := b.fresh("cgo-xgo")
		dir := filepath.Join(scratch, "src")
		if err := copyTree(src, dir); err != nil {
			return command{}, "", nil, err
		}
		out := filepath.Join(scratch, "cgo")
		return command{Dir: dir, Env: withEnv(b.env, "GOCACHE="+filepath.Join(scratch, "gocache"),
				"TARGETPLATFORM=linux/arm64", "CGO_ENABLED=1", "GOFLAGS=-buildvcs=false", "GOPROXY=off"),
				Args: []string{b.xgo, "-o", out, "."}},
			out, func() { os.RemoveAll(scratch) }, nil
	}
	theirs := func(i int) (command, string, func(), error) {
		run := fmt.Sprintf("/tmp/bench-%d", i)
		host := filepath.Join(b.cgo.sysroot, run)
		if err := os.RemoveAll(host); err != nil {
			return command{}, "", nil, err
		}
		if err := copyTree(src, filepath.Join(host, "src")); err != nil {
			return command{}, "", nil, err
		}
		return command{Chroot: b.cgo.sysroot, Dir: run + "/src", Env: []string{
				"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"HOME=/root", "GOROOT=/usr/local/go", "GOPATH=" + run + "/gopath", "GOCACHE=" + run + "/gocache",
				"GOTOOLCHAIN=local", "CGO_ENABLED=1", "GOFLAGS=-buildvcs=false", "GOPROXY=off",
			}, Args: []string{"/usr/local/go/bin/go", "build", "-o", run + "/cgo", "."}},
			filepath.Join(host, "cgo"), func() { os.RemoveAll(host) }, nil
	}
	sides := []struct {
		side *Side
		cmd  func(int) (command, string, func(), error)
	}{{&c.Ours, ours}, {&c.Theirs, theirs}}
	for i := 1; i <= b.cfg.Cold["cgo"]; i++ {
		for k := range sides {
			s := sides[(k+i+1)%2] // ours first in odd runs, theirs first in even ones
			cmd, out, cleanup, err := s.cmd(i)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", c.Name, s.side.Tool, err)
			}
			sample, _, err := cmd.measure(ctx)
			if err == nil {
				err = b.checkCgo(ctx, out, arm64, cgoOn)
			}
			cleanup()
			if err != nil {
				return fmt.Errorf("%s, %s: %w", c.Name, s.side.Tool, err)
			}
			sample.Iterated = i
			s.side.Samples = append(s.side.Samples, sample)
			b.logSample(&c, s.side, "", sample)
		}
	}
	b.res.Cases = append(b.res.Cases, c)
	return nil
}

// checkCgo checks that out is a cgo Go binary for p that runs under qemu-user and prints the
// C function's result.
func (b *bench) checkCgo(ctx context.Context, out string, p shim.Platform, getenv func(string) string) error {
	if err := shim.VerifyFor(out, p, getenv); err != nil {
		return err
	}
	got, err := command{Env: b.env, Args: []string{b.qemu, "-L", b.cgo.sysroot, out}}.run(ctx)
	if err != nil {
		return err
	}
	if want := "C says 42 on linux/arm64\n"; string(got) != want {
		return fmt.Errorf("the program printed %q, want %q", got, want)
	}
	return nil
}
