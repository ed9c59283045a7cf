package shim

// qemuArches is the qemu-user name of each linux GOARCH whose Go binaries qemu-<name>-static
// runs (binfmt-support registers the same names as handlers qemu-<name>). 386 is left out:
// Debian's qemu-i386 crashes on Go binaries (runtime.runqput).
var qemuArches = map[string]string{
	"amd64":    "x86_64",
	"arm64":    "aarch64",
	"arm":      "arm",
	"ppc64":    "ppc64",
	"ppc64le":  "ppc64le",
	"riscv64":  "riscv64",
	"s390x":    "s390x",
	"mips":     "mips",
	"mipsle":   "mipsel",
	"mips64":   "mips64",
	"mips64le": "mips64el",
	"loong64":  "loongarch64",
}

// QemuArch returns qemu-user's name for the linux GOARCH arch ("aarch64" for arm64), and
// whether qemu-user runs Go binaries of it.
func QemuArch(arch string) (string, bool) {
	q, ok := qemuArches[arch]
	return q, ok
}
