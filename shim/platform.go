package shim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Platform is a normalised build target: a GOOS, a GOARCH and the canonical variant.
type Platform struct {
	OS      string // a GOOS value: "linux", "windows", "wasip1", ...
	Arch    string // a GOARCH value: "amd64", "arm", "arm64", ...
	Variant string // the canonical variant, or "" for the arch's default level
}

// A port is one GOOS with the GOARCH values Go supports for it.
type port struct {
	os     string
	arches []string
}

// portTable lists the os/arch pairs of `go tool dist list` for Go 1.26, sorted by os. It is
// static data, like every table of the package: the shim does no work at start-up.
var portTable = [...]port{
	{"aix", []string{"ppc64"}},
	{"android", []string{"386", "amd64", "arm", "arm64"}},
	{"darwin", []string{"amd64", "arm64"}},
	{"dragonfly", []string{"amd64"}},
	{"freebsd", []string{"386", "amd64", "arm", "arm64"}},
	{"illumos", []string{"amd64"}},
	{"ios", []string{"amd64", "arm64"}},
	{"js", []string{"wasm"}},
	{"linux", []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le",
		"mipsle", "ppc64", "ppc64le", "riscv64", "s390x"}},
	{"netbsd", []string{"386", "amd64", "arm", "arm64"}},
	{"openbsd", []string{"386", "amd64", "arm", "arm64", "ppc64", "riscv64"}},
	{"plan9", []string{"386", "amd64", "arm"}},
	{"solaris", []string{"amd64"}},
	{"wasip1", []string{"wasm"}},
	{"windows", []string{"386", "amd64", "arm64"}},
}

// portArches returns the GOARCH values of os, and whether os is a GOOS at all.
func portArches(os string) ([]string, bool) {
	i := slices.IndexFunc(portTable[:], func(p port) bool { return p.os == os })
	if i < 0 {
		return nil, false
	}
	return portTable[i].arches, true
}

// osNames returns every GOOS of the port table, sorted.
func osNames() []string {
	names := make([]string, len(portTable))
	for i, p := range portTable {
		names[i] = p.os
	}
	sort.Strings(names)
	return names
}

// An alias is a name containerd normalises and the platform parts it stands for.
type alias struct {
	name string
	to   Platform
}

// osAliases are the operating system names containerd normalises.
var osAliases = [...]alias{
	{"macos", Platform{OS: "darwin"}},
	{"wasi", Platform{OS: "wasip1"}},
}

// archAliases are the architecture names containerd normalises; some imply a variant.
var archAliases = [...]alias{
	{"x86_64", Platform{Arch: "amd64"}},
	{"x86-64", Platform{Arch: "amd64"}},
	{"aarch64", Platform{Arch: "arm64"}},
	{"i386", Platform{Arch: "386"}},
	{"i686", Platform{Arch: "386"}},
	{"armhf", Platform{Arch: "arm", Variant: "v7"}},
	{"armel", Platform{Arch: "arm", Variant: "v6"}},
}

// lookupAlias returns what name stands for in aliases, and whether it is one of them.
func lookupAlias(aliases []alias, name string) (Platform, bool) {
	i := slices.IndexFunc(aliases, func(a alias) bool { return a.name == name })
	if i < 0 {
		return Platform{}, false
	}
	return aliases[i].to, true
}

// ParseError reports a platform string that cannot be parsed.
type ParseError struct {
	Source string // where the string came from: "platform", "TARGETPLATFORM", ...
	Input  string // the string as given
	Reason string // what is wrong with it
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Source, e.Input, e.Reason)
}

// Parse normalises and validates a platform "os/arch[/variant]": surrounding space and case
// are forgiven, containerd's aliases are accepted, and the pair must be a Go port.
func Parse(s string) (Platform, error) {
	fail := func(format string, args ...any) (Platform, error) {
		return Platform{}, &ParseError{Source: "platform", Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return fail("must be os/arch or os/arch/variant")
	}
	for i, part := range parts {
		if strings.TrimSpace(part) != part {
			return fail("space inside the platform")
		}
		if part == "" {
			return fail("empty %s", [...]string{"os", "arch", "variant"}[i])
		}
	}
	p := Platform{OS: parts[0], Arch: parts[1]}
	if a, ok := lookupAlias(osAliases[:], p.OS); ok {
		p.OS = a.OS
	}
	var implied string
	if a, ok := lookupAlias(archAliases[:], p.Arch); ok {
		p.Arch, implied = a.Arch, a.Variant
	}
	arches, ok := portArches(p.OS)
	if !ok {
		return fail("unknown os %q: must be %s", parts[0], joinOr(osNames()))
	}
	if !knownArch(p.Arch) {
		return fail("unknown arch %q: must be %s", parts[1], joinOr(allArches()))
	}
	if !slices.Contains(arches, p.Arch) {
		return fail("%s/%s is not a Go port; %s supports %s", p.OS, p.Arch, p.OS, joinOr(arches))
	}
	given := implied
	if len(parts) == 3 {
		given = parts[2]
		if implied != "" {
			if a, _ := variantsOf(p.Arch); a.spelledAs(given) != implied {
				return fail("%s means %s/%s but the variant is %s", parts[1], p.Arch, implied, given)
			}
		}
	}
	a, ok := variantsOf(p.Arch)
	if !ok {
		if given != "" {
			return fail("%s has no variants", p.Arch)
		}
		return p, nil
	}
	name, ok := a.canonical(given)
	if !ok {
		return fail("%s variant must be %s", p.Arch, a.validSpellings())
	}
	p.Variant = name
	return p, nil
}

// spelledAs returns the canonical name of a spelling, or the spelling itself if unknown.
func (a *archVariants) spelledAs(s string) string {
	if name, ok := a.canonical(s); ok {
		return name
	}
	return s
}

// String returns the canonical "os/arch[/variant]" form, which Parse maps back to p.
func (p Platform) String() string {
	if p.Variant == "" {
		return p.OS + "/" + p.Arch
	}
	return p.OS + "/" + p.Arch + "/" + p.Variant
}

// VariantVar returns the name of the arch's sub-architecture variable, or "" if it has none.
func (p Platform) VariantVar() string {
	if a, ok := variantsOf(p.Arch); ok {
		return a.env
	}
	return ""
}

// VariantValue returns the value of the arch's sub-architecture variable for p, the default
// level when p names none, or "" when the arch has no such variable.
func (p Platform) VariantValue() string {
	if a, ok := variantsOf(p.Arch); ok {
		return a.value(p.Variant)
	}
	return ""
}

// Platforms returns every canonical platform that Parse accepts, variants included, sorted.
func Platforms() []Platform {
	var all []Platform
	for _, port := range portTable {
		for _, arch := range port.arches {
			a, ok := variantsOf(arch)
			if !ok {
				all = append(all, Platform{OS: port.os, Arch: arch})
				continue
			}
			for _, v := range a.variants {
				all = append(all, Platform{OS: port.os, Arch: arch, Variant: v.name})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].less(all[j]) })
	return all
}

// less orders platforms by os, arch, then the arch's own variant order.
func (p Platform) less(q Platform) bool {
	if p.OS != q.OS {
		return p.OS < q.OS
	}
	if p.Arch != q.Arch {
		return p.Arch < q.Arch
	}
	return variantRank(p) < variantRank(q)
}

// variantRank returns the position of p's variant in its arch's variants, -1 if none.
func variantRank(p Platform) int {
	if a, ok := variantsOf(p.Arch); ok {
		for i, v := range a.variants {
			if v.name == p.Variant {
				return i
			}
		}
	}
	return -1
}

// knownArch reports whether arch is the GOARCH of some port.
func knownArch(arch string) bool {
	return slices.ContainsFunc(portTable[:], func(p port) bool { return slices.Contains(p.arches, arch) })
}

// allArches returns every GOARCH of the port table once, sorted.
func allArches() []string {
	var all []string
	for _, p := range portTable {
		all = append(all, p.arches...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}
