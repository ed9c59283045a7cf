package shim

// A linuxArch is what xgo-build knows of one linux GOARCH beyond the platform table: the
// name qemu-user gives it, whether Go has cgo there, and the C cross compilers of cgo builds.
type linuxArch struct {
	arch string
	// qemu is qemu-user's name of the arch: qemu-<qemu>-static runs its binaries, and
	// binfmt-support registers the handler qemu-<qemu>. "" when qemu-user does not run Go
	// binaries of the arch.
	qemu  string
	noCgo bool     // Go has no cgo here (`go tool dist list -json`: CgoSupported false)
	cc    []triple // the C cross compilers of cgo builds; for arm, one a group of GOARM values
}

// linuxArches lists the linux GOARCH values of the platform table with what the smoke runs,
// the engine tests' binfmt set-up and cgo cross builds need to know of them. Debian's
// gcc-<triple> only recommends libc6-dev-<arch>-cross, so both packages are named: without
// the second, nothing links.
var linuxArches = [...]linuxArch{
	// Debian's qemu-i386 crashes on Go binaries (runtime.runqput): no qemu name.
	{arch: "386", cc: []triple{{name: "i686-linux-gnu", multiarch: "i386-linux-gnu", gcc: "gcc-i686-linux-gnu", libc: "libc6-dev-i386-cross"}}},
	{arch: "amd64", qemu: "x86_64", cc: []triple{{name: "x86_64-linux-gnu", gcc: "gcc-x86-64-linux-gnu", libc: "libc6-dev-amd64-cross"}}},
	{arch: "arm", qemu: "arm", cc: []triple{
		{goarm: []string{"5", "6"}, name: "arm-linux-gnueabi", gcc: "gcc-arm-linux-gnueabi", libc: "libc6-dev-armel-cross"},
		{goarm: []string{"7"}, name: "arm-linux-gnueabihf", gcc: "gcc-arm-linux-gnueabihf", libc: "libc6-dev-armhf-cross"},
	}},
	{arch: "arm64", qemu: "aarch64", cc: []triple{{name: "aarch64-linux-gnu", gcc: "gcc-aarch64-linux-gnu", libc: "libc6-dev-arm64-cross"}}},
	{arch: "loong64", qemu: "loongarch64", cc: []triple{{name: "loongarch64-linux-gnu"}}},
	{arch: "mips", qemu: "mips", cc: []triple{{name: "mips-linux-gnu", gcc: "gcc-mips-linux-gnu", libc: "libc6-dev-mips-cross"}}},
	{arch: "mips64", qemu: "mips64", cc: []triple{{name: "mips64-linux-gnuabi64", gcc: "gcc-mips64-linux-gnuabi64", libc: "libc6-dev-mips64-cross"}}},
	{arch: "mips64le", qemu: "mips64el", cc: []triple{{name: "mips64el-linux-gnuabi64", gcc: "gcc-mips64el-linux-gnuabi64", libc: "libc6-dev-mips64el-cross"}}},
	{arch: "mipsle", qemu: "mipsel", cc: []triple{{name: "mipsel-linux-gnu", gcc: "gcc-mipsel-linux-gnu", libc: "libc6-dev-mipsel-cross"}}},
	{arch: "ppc64", qemu: "ppc64", noCgo: true},
	{arch: "ppc64le", qemu: "ppc64le", cc: []triple{{name: "powerpc64le-linux-gnu", gcc: "gcc-powerpc64le-linux-gnu", libc: "libc6-dev-ppc64el-cross"}}},
	{arch: "riscv64", qemu: "riscv64", cc: []triple{{name: "riscv64-linux-gnu", gcc: "gcc-riscv64-linux-gnu", libc: "libc6-dev-riscv64-cross"}}},
	{arch: "s390x", qemu: "s390x", cc: []triple{{name: "s390x-linux-gnu", gcc: "gcc-s390x-linux-gnu", libc: "libc6-dev-s390x-cross"}}},
}

// linuxArchOf returns the row of linuxArches for p, a linux platform.
func linuxArchOf(p Platform) (linuxArch, bool) {
	if p.OS != "linux" {
		return linuxArch{}, false
	}
	for _, a := range linuxArches {
		if a.arch == p.Arch {
			return a, true
		}
	}
	return linuxArch{}, false
}

// QemuArch returns qemu-user's name for the linux GOARCH arch ("aarch64" for arm64), and
// whether qemu-user runs Go binaries of it.
func QemuArch(arch string) (string, bool) {
	a, ok := linuxArchOf(Platform{OS: "linux", Arch: arch})
	return a.qemu, ok && a.qemu != ""
}
