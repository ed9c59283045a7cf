package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTripleOf(t *testing.T) {
	tests := []struct {
		platform, goarm string
		want            string // the triple, "" for none
		gcc, libc       string
	}{
		{"linux/amd64", "", "x86_64-linux-gnu", "gcc-x86-64-linux-gnu", "libc6-dev-amd64-cross"},
		{"linux/386", "", "i686-linux-gnu", "gcc-i686-linux-gnu", "libc6-dev-i386-cross"},
		{"linux/arm64", "", "aarch64-linux-gnu", "gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"},
		{"linux/arm/v7", "7", "arm-linux-gnueabihf", "gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"},
		{"linux/arm/v7", "7,softfloat", "arm-linux-gnueabihf", "gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"},
		{"linux/arm/v6", "6", "arm-linux-gnueabi", "gcc-arm-linux-gnueabi", "libc6-dev-armel-cross"},
		{"linux/arm/v5", "5", "arm-linux-gnueabi", "gcc-arm-linux-gnueabi", "libc6-dev-armel-cross"},
		{"linux/riscv64", "", "riscv64-linux-gnu", "gcc-riscv64-linux-gnu", "libc6-dev-riscv64-cross"},
		{"linux/ppc64le", "", "powerpc64le-linux-gnu", "gcc-powerpc64le-linux-gnu", "libc6-dev-ppc64el-cross"},
		{"linux/s390x", "", "s390x-linux-gnu", "gcc-s390x-linux-gnu", "libc6-dev-s390x-cross"},
		{"linux/mips", "", "mips-linux-gnu", "gcc-mips-linux-gnu", "libc6-dev-mips-cross"},
		{"linux/mipsle", "", "mipsel-linux-gnu", "gcc-mipsel-linux-gnu", "libc6-dev-mipsel-cross"},
		{"linux/mips64", "", "mips64-linux-gnuabi64", "gcc-mips64-linux-gnuabi64", "libc6-dev-mips64-cross"},
		{"linux/mips64le", "", "mips64el-linux-gnuabi64", "gcc-mips64el-linux-gnuabi64", "libc6-dev-mips64el-cross"},
		{"linux/loong64", "", "loongarch64-linux-gnu", "", ""},
		{"linux/ppc64", "", "", "", ""},
		{"windows/amd64", "", "", "", ""},
		{"darwin/arm64", "", "", "", ""},
	}
	for _, tt := range tests {
		got, ok := tripleOf(mustParse(t, tt.platform), tt.goarm)
		if ok != (tt.want != "") || got.name != tt.want || got.gcc != tt.gcc || got.libc != tt.libc {
			t.Errorf("tripleOf(%s, GOARM=%q) = %q %q %q, %v; want %q %q %q", tt.platform, tt.goarm, got.name, got.gcc, got.libc, ok, tt.want, tt.gcc, tt.libc)
		}
	}
}

// TestLinuxArches checks the table against the platform table: every row is a linux Go
// port, once, without triples where Go has no cgo; each triple is listed once, and the
// package names follow Debian's pattern.
func TestLinuxArches(t *testing.T) {
	arches, _ := portArches("linux")
	seenArch, seen := map[string]bool{}, map[string]bool{}
	for _, a := range linuxArches {
		if !slices.Contains(arches, a.arch) {
			t.Errorf("linux/%s is not a Go port", a.arch)
		}
		if seenArch[a.arch] {
			t.Errorf("linux/%s listed twice", a.arch)
		}
		seenArch[a.arch] = true
		if a.noCgo && len(a.cc) > 0 {
			t.Errorf("linux/%s has a triple but no cgo", a.arch)
		}
		for _, tr := range a.cc {
			if seen[tr.name] {
				t.Errorf("triple %s listed twice", tr.name)
			}
			seen[tr.name] = true
			if tr.gcc != "" && tr.gcc != "gcc-"+strings.ReplaceAll(tr.name, "_", "-") {
				t.Errorf("%s: package %s, want gcc-<triple>", tr.name, tr.gcc)
			}
			if (tr.gcc == "") != (tr.libc == "") {
				t.Errorf("%s: gcc package %q but libc package %q", tr.name, tr.gcc, tr.libc)
			}
		}
	}
	if got := linuxArches[0].cc[0].pkgConfigLibdir(); got != "/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig" {
		t.Errorf("i686 PKG_CONFIG_LIBDIR = %s, want Debian's i386 multiarch directory", got)
	}
}

// fakeTools returns a directory holding executable scripts with the given names.
func fakeTools(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		mustDo(t, os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\nexit 0\n"), 0o755))
	}
	return dir
}

func TestCgoVars(t *testing.T) {
	amd64 := Platform{OS: "linux", Arch: "amd64"}
	both := fakeTools(t, "aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++", "arm-linux-gnueabi-gcc", "arm-linux-gnueabihf-gcc", "zig")
	gccOnly := fakeTools(t, "aarch64-linux-gnu-gcc")
	notExec := t.TempDir()
	mustDo(t, os.WriteFile(filepath.Join(notExec, "aarch64-linux-gnu-gcc"), nil, 0o644))
	empty := t.TempDir()
	const arm64Pkg = "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"
	tests := []struct {
		name     string
		platform string
		host     Platform
		env      []string
		want     []string
		err      string // part of the error, "" for none
	}{
		{"cgo off", "linux/arm64", amd64, []string{"PATH=" + both}, nil, ""},
		{"cgo 0", "linux/arm64", amd64, []string{"CGO_ENABLED=0", "PATH=" + empty}, nil, ""},
		{"host target", "linux/amd64/v3", amd64, []string{"CGO_ENABLED=1", "PATH=" + empty}, nil, ""},
		{"gcc and g++", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + empty + ":" + both},
			[]string{"CC=aarch64-linux-gnu-gcc", "CXX=aarch64-linux-gnu-g++", "PKG_CONFIG_LIBDIR=" + arm64Pkg}, ""},
		{"gcc only", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + gccOnly},
			[]string{"CC=aarch64-linux-gnu-gcc", "PKG_CONFIG_LIBDIR=" + arm64Pkg}, ""},
		{"arm64 host, amd64 target", "linux/amd64", Platform{OS: "linux", Arch: "arm64"}, []string{"CGO_ENABLED=1", "PATH=" + empty},
			nil, "CGO_ENABLED=1 for linux/amd64 needs a C cross compiler, and x86_64-linux-gnu-gcc is not in PATH: install gcc-x86-64-linux-gnu libc6-dev-amd64-cross (Debian/Ubuntu) or set XGO_CC"},
		{"user CXX and PKG_CONFIG_LIBDIR kept", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + both, "CXX=clang++", "PKG_CONFIG_LIBDIR=/opt/pc"},
			[]string{"CC=aarch64-linux-gnu-gcc"}, ""},
		{"user CC: the user's toolchain", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + empty, "CC=clang --target=aarch64-linux-gnu"}, nil, ""},
		{"armhf", "linux/arm/v7", amd64, []string{"CGO_ENABLED=1", "PATH=" + both},
			[]string{"CC=arm-linux-gnueabihf-gcc", "PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig"}, ""},
		{"armel", "linux/arm/v6", amd64, []string{"CGO_ENABLED=1", "PATH=" + both},
			[]string{"CC=arm-linux-gnueabi-gcc", "PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabi/pkgconfig:/usr/share/pkgconfig"}, ""},
		{"armel from GOARM=5,softfloat", "linux/arm/v5", amd64, []string{"CGO_ENABLED=1", "GOARM=5,softfloat", "PATH=" + both},
			[]string{"CC=arm-linux-gnueabi-gcc", "PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabi/pkgconfig:/usr/share/pkgconfig"}, ""},
		{"XGO_CC first", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + both, "XGO_CC=zig cc -target aarch64-linux-musl"},
			[]string{"CC=zig cc -target aarch64-linux-musl"}, ""},
		{"XGO_CXX", "windows/amd64", amd64, []string{"CGO_ENABLED=1", "PATH=" + both, "XGO_CC=zig cc -target x86_64-windows-gnu", "XGO_CXX=zig c++ -target x86_64-windows-gnu"},
			[]string{"CC=zig cc -target x86_64-windows-gnu", "CXX=zig c++ -target x86_64-windows-gnu"}, ""},
		{"XGO_CC missing", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + gccOnly, "XGO_CC=zig cc"},
			nil, `XGO_CC="zig cc": no zig in PATH`},
		{"not in PATH", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + empty},
			nil, "CGO_ENABLED=1 for linux/arm64 needs a C cross compiler, and aarch64-linux-gnu-gcc is not in PATH: install gcc-aarch64-linux-gnu libc6-dev-arm64-cross (Debian/Ubuntu) or set XGO_CC"},
		{"not executable", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + notExec},
			nil, "aarch64-linux-gnu-gcc is not in PATH"},
		{"relative PATH entry ignored", "linux/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=."},
			nil, "aarch64-linux-gnu-gcc is not in PATH"},
		{"no Debian package", "linux/loong64", amd64, []string{"CGO_ENABLED=1", "PATH=" + empty},
			nil, "loongarch64-linux-gnu-gcc is not in PATH: install one or set XGO_CC"},
		{"no triple", "windows/arm64", amd64, []string{"CGO_ENABLED=1", "PATH=" + both},
			nil, "CGO_ENABLED=1 for windows/arm64 needs a C cross compiler: xgo-build knows none for windows/arm64; set XGO_CC"},
		{"no cgo", "linux/ppc64", amd64, []string{"CGO_ENABLED=1", "PATH=" + both},
			nil, "go has no cgo for linux/ppc64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cgoVars(mustParse(t, tt.platform), tt.host, envOf(tt.env...))
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// cgoCross is one cgo cross build the real test runs: the compiler it needs and how to run
// the result.
type cgoCross struct {
	platform string
	triple   string
	libcDir  string // Debian's sysroot of the target's C library, qemu's -L
	qemu     string
}

// TestCgoCrossRun cross-builds testdata/cgo, whose main calls a C function, with
// CGO_ENABLED=1 and the Debian cross compiler the shim picks, and runs it under qemu-user
// with the target's C library: the printed number comes from C code compiled for the target.
func TestCgoCrossRun(t *testing.T) {
	skipShort(t, "cross-builds with a C cross compiler and emulates the result")
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "cgo"))
	mustDo(t, err)
	for _, tt := range []cgoCross{
		{"linux/arm64", "aarch64-linux-gnu", "/usr/aarch64-linux-gnu", "qemu-aarch64-static"},
		{"linux/arm/v7", "arm-linux-gnueabihf", "/usr/arm-linux-gnueabihf", "qemu-arm-static"},
		{"linux/riscv64", "riscv64-linux-gnu", "/usr/riscv64-linux-gnu", "qemu-riscv64-static"},
		{"linux/ppc64le", "powerpc64le-linux-gnu", "/usr/powerpc64le-linux-gnu", "qemu-ppc64le-static"},
		{"linux/s390x", "s390x-linux-gnu", "/usr/s390x-linux-gnu", "qemu-s390x-static"},
	} {
		t.Run(strings.ReplaceAll(tt.platform, "/", "_"), func(t *testing.T) {
			p := mustParse(t, tt.platform)
			if h := HostPlatform(); p.OS == h.OS && p.Arch == h.Arch {
				t.Skipf("%s is the host: no cross compiler to test", p)
			}
			tr, _ := tripleOf(p, p.VariantValue())
			how := "install " + tr.packages() + " (apt-get install " + tr.packages() + ")"
			requireTool(t, tt.triple+"-gcc", how)
			requireFile(t, filepath.Join(tt.libcDir, "lib", "crt1.o"), how)
			qemu := requireTool(t, tt.qemu, "install Debian's qemu-user-static (apt-get install qemu-user-static)")
			bin := filepath.Join(t.TempDir(), "cgo")
			env := []string{"CGO_ENABLED=1", "CC=", "CXX=", "XGO_CC=", "PKG_CONFIG_LIBDIR="}
			code, stdout, stderr := shimBuild(t, dir, env, "--xgo-platform="+tt.platform, "-o", bin, ".")
			if code != 0 {
				t.Fatalf("CGO_ENABLED=1 xgo-build --xgo-platform=%s: exit %d\n%s%s", tt.platform, code, stdout, stderr)
			}
			code, stdout, stderr = shimBuild(t, dir, env, "--xgo-platform="+tt.platform, "--xgo-verify", bin)
			if want := bin + ": ok " + p.String() + " (cgo, dynamic)\n"; code != 0 || stdout != want {
				t.Errorf("--xgo-verify: exit %d, stdout %q, want %q\n%s", code, stdout, want, stderr)
			}
			out, err := exec.Command(qemu, "-L", tt.libcDir, bin).CombinedOutput()
			if err != nil {
				t.Fatalf("%s -L %s %s: %v\n%s", tt.qemu, tt.libcDir, bin, err, out)
			}
			if want := "C says 42 on " + p.OS + "/" + p.Arch + "\n"; string(out) != want {
				t.Errorf("%s printed %q, want %q", tt.platform, out, want)
			}
		})
	}
}

// requireFile skips the test when the file at path is missing, saying how to get it; when CI
// is "true" a missing file fails the test instead, as CI must never skip.
func requireFile(t testing.TB, path, howToGet string) {
	t.Helper()
	_, err := os.Stat(path)
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (%v) and CI=true forbids skipping; %s", path, err, howToGet)
	}
	t.Skipf("%s is missing (%v); %s", path, err, howToGet)
}

// TestREADMETriples checks that the README's cgo section names every triple of the table
// with its Debian packages.
func TestREADMETriples(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	mustDo(t, err)
	_, section, ok := strings.Cut(string(data), "\n### cgo cross builds\n")
	if !ok {
		t.Fatal("README.md: no cgo cross builds section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, a := range linuxArches {
		for _, tr := range a.cc {
			if !strings.Contains(section, "| linux/"+a.arch) && !strings.Contains(section, ", "+a.arch+" |") {
				t.Errorf("README cgo table lacks linux/%s", a.arch)
			}
			if !strings.Contains(section, tr.name) {
				t.Errorf("README cgo table lacks the triple %s", tr.name)
			}
			if pkgs := tr.packages(); pkgs != "" && !strings.Contains(section, pkgs) {
				t.Errorf("README cgo table lacks %q for %s", pkgs, tr.name)
			}
		}
	}
}

func TestQemuArch(t *testing.T) {
	for _, tt := range []struct {
		arch, want string
		ok         bool
	}{
		{"arm64", "aarch64", true},
		{"amd64", "x86_64", true},
		{"mipsle", "mipsel", true},
		{"loong64", "loongarch64", true},
		{"386", "", false},
		{"wasm", "", false},
	} {
		if got, ok := QemuArch(tt.arch); got != tt.want || ok != tt.ok {
			t.Errorf("QemuArch(%q) = %q, %v; want %q, %v", tt.arch, got, ok, tt.want, tt.ok)
		}
	}
}
