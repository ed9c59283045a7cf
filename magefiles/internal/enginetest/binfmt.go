package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/xgo-build/xgo-build/shim"
)

// binfmtDir is where the kernel's binfmt_misc is mounted.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// qemuGoarches are the architectures whose linux images the engine runs under QEMU, through
// the binfmt_misc handler qemu-<name> (shim.QemuArch) that qemu-user-static registers.
// linux/386 is not there: Debian's qemu-i386 crashes on Go binaries.
var qemuGoarches = []string{"arm64", "arm", "ppc64le", "riscv64", "s390x"}

// enableBinfmt mounts binfmt_misc where it is not mounted and enables the QEMU handler of
// every foreign architecture of qemuGoarches with update-binfmts. A handler must have the F
// flag: the kernel then opens the emulator when it is registered, so that it runs binaries
// inside containers, whose file systems do not have it.
func enableBinfmt(ctx context.Context, updateBinfmts string) error {
	if _, err := os.Stat(filepath.Join(binfmtDir, "register")); errors.Is(err, fs.ErrNotExist) {
		if err := syscall.Mount("binfmt_misc", binfmtDir, "binfmt_misc", 0, ""); err != nil {
			return fmt.Errorf("mounting binfmt_misc on %s: %w (mount -t binfmt_misc binfmt_misc %s)", binfmtDir, err, binfmtDir)
		}
	} else if err != nil {
		return err
	}
	var names []string
	for _, arch := range qemuGoarches {
		if q, ok := shim.QemuArch(arch); ok && arch != runtime.GOARCH {
			names = append(names, "qemu-"+q)
		}
	}
	slices.Sort(names)
	for _, h := range names {
		enabled, flags, err := handler(h)
		if err != nil {
			return err
		}
		if !enabled {
			out, err := exec.CommandContext(ctx, updateBinfmts, "--enable", h).CombinedOutput()
			if err != nil {
				return fmt.Errorf("enabling %s: update-binfmts --enable %s: %v: %s (apt-get install qemu-user-static binfmt-support)",
					h, h, err, strings.TrimSpace(string(out)))
			}
			if enabled, flags, err = handler(h); err != nil {
				return err
			}
			if !enabled {
				return fmt.Errorf("enabling %s: update-binfmts --enable %s left it disabled", h, h)
			}
		}
		if !strings.Contains(flags, "F") {
			return fmt.Errorf("binfmt_misc handler %s has flags %q, without F: containers cannot find its emulator (re-register it with the F flag, as Debian's qemu-user-static does)", h, flags)
		}
	}
	return nil
}

// handler reads the binfmt_misc handler name: whether it is registered and enabled, and its
// flags.
func handler(name string) (enabled bool, flags string, err error) {
	b, err := os.ReadFile(filepath.Join(binfmtDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("reading the binfmt_misc handler %s: %w", name, err)
	}
	lines := strings.Split(string(b), "\n")
	for _, l := range lines {
		if f, ok := strings.CutPrefix(l, "flags: "); ok {
			flags = f
		}
	}
	return lines[0] == "enabled", flags, nil
}

// Runs reports whether images of the platform p ("os/arch[/variant]") run in the engine:
// linux images of the build machine's architecture, and of every architecture of
// qemuGoarches, whose QEMU handlers Start enables. linux/386 is not counted, even on amd64:
// Debian's qemu-i386 crashes on Go binaries, and an amd64 kernel runs them natively only
// when it was built with IA32 emulation, which only running one tells.
func Runs(p string) bool {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || parts[0] != "linux" {
		return false
	}
	return parts[1] == runtime.GOARCH || slices.Contains(qemuGoarches, parts[1])
}
