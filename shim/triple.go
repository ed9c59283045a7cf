package shim

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// A triple is the GNU target triple of the C cross compiler for a linux arch (see
// linuxArches), with the Debian packages that provide the compiler and the target's C
// library.
type triple struct {
	goarm     []string // for arm: the GOARM values (suffixes removed) the triple serves
	name      string   // the triple: the compiler is <name>-gcc, its C++ twin <name>-g++
	multiarch string   // Debian's multiarch directory name, when it is not name
	gcc       string   // the Debian package of <name>-gcc, "" if Debian has none
	libc      string   // the Debian package of the target's C library and headers
}

// tripleOf returns the cross compiler triple of p, where goarm is the GOARM value of an arm
// build (a suffix such as ",softfloat" allowed), and whether the table has one.
func tripleOf(p Platform, goarm string) (triple, bool) {
	a, ok := linuxArchOf(p)
	if !ok {
		return triple{}, false
	}
	goarm, _, _ = strings.Cut(goarm, ",")
	for _, t := range a.cc {
		if t.goarm == nil || slices.Contains(t.goarm, goarm) {
			return t, true
		}
	}
	return triple{}, false
}

// pkgConfigLibdir returns the pkg-config search path of the triple's Debian multiarch
// libraries (libfoo-dev:arm64 and the like).
func (t triple) pkgConfigLibdir() string {
	dir := t.multiarch
	if dir == "" {
		dir = t.name
	}
	return "/usr/lib/" + dir + "/pkgconfig:/usr/share/pkgconfig"
}

// packages returns the Debian packages to install for the triple's compiler, "" if none.
func (t triple) packages() string {
	if t.gcc == "" {
		return ""
	}
	return t.gcc + " " + t.libc
}

// HostPlatform returns the os/arch this shim runs on, without a variant.
func HostPlatform() Platform {
	return Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// CgoVars returns the C toolchain variables of a cgo cross build for p, as "KEY=value" in
// the order CC, CXX, PKG_CONFIG_LIBDIR, or none when there is nothing to choose: CGO_ENABLED
// is not "1", p has the host's os and arch (the host's cc is right), or the user set CC (the
// user owns the toolchain). Otherwise CC is XGO_CC if set (CXX then XGO_CXX if set; nothing
// is derived), else <triple>-gcc found in PATH for p's triple (linuxArches; GOARM 5 and 6
// pick armel, 7 armhf; see linuxArches), with <triple>-g++ as CXX when it is in PATH and
// PKG_CONFIG_LIBDIR=/usr/lib/<multiarch>/pkgconfig:/usr/share/pkgconfig. CXX and
// PKG_CONFIG_LIBDIR the user set are kept. No compiler found is an error naming the packages
// that provide one. getenv reads the user's variables, PATH included.
func CgoVars(p Platform, getenv func(string) string) ([]string, error) {
	return cgoVars(p, HostPlatform(), getenv)
}

// cgoVars is CgoVars for a given host.
func cgoVars(p, host Platform, getenv func(string) string) ([]string, error) {
	if getenv("CGO_ENABLED") != "1" || (p.OS == host.OS && p.Arch == host.Arch) || getenv("CC") != "" {
		return nil, nil
	}
	if a, ok := linuxArchOf(p); ok && a.noCgo {
		return nil, fmt.Errorf("CGO_ENABLED=1: go has no cgo for %s", p)
	}
	var vars []string
	add := func(k, v string) {
		if getenv(k) == "" && v != "" {
			vars = append(vars, k+"="+v)
		}
	}
	if cc := getenv("XGO_CC"); strings.TrimSpace(cc) != "" {
		if err := checkCommand(strings.Fields(cc)[0], getenv("PATH")); err != nil {
			return nil, fmt.Errorf("XGO_CC=%q: %w", cc, err)
		}
		add("CC", cc)
		add("CXX", getenv("XGO_CXX"))
		return vars, nil
	}
	goarm := ""
	if a, ok := variantsOf(p.Arch); ok && a.env == "GOARM" {
		v, err := variantValue(a, p, getenv("GOARM"))
		if err != nil {
			return nil, err
		}
		goarm = v
	}
	t, ok := tripleOf(p, goarm)
	if !ok {
		return nil, fmt.Errorf("CGO_ENABLED=1 for %s needs a C cross compiler: xgo-build knows none for %s; set XGO_CC (or CC)", p, p)
	}
	gcc := t.name + "-gcc"
	if _, err := lookPath(gcc, getenv("PATH"), ""); err != nil {
		how := "install one or set XGO_CC"
		if pkgs := t.packages(); pkgs != "" {
			how = "install " + pkgs + " (Debian/Ubuntu) or set XGO_CC"
		}
		return nil, fmt.Errorf("CGO_ENABLED=1 for %s needs a C cross compiler, and %s is not in PATH: %s", p, gcc, how)
	}
	add("CC", gcc)
	if _, err := lookPath(t.name+"-g++", getenv("PATH"), ""); err == nil {
		add("CXX", t.name+"-g++")
	}
	add("PKG_CONFIG_LIBDIR", t.pkgConfigLibdir())
	return vars, nil
}

// checkCommand returns an error unless name, a path or a name looked up in pathList, is a
// program this system can run.
func checkCommand(name, pathList string) error {
	if hasSeparator(name) {
		return checkExecutable(name)
	}
	_, err := lookPath(name, pathList, "")
	return err
}
