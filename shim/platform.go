package shim

import (
	"fmt"
	"sort"
	"strings"
)

// Platform is a normalised build target: a GOOS, a GOARCH and the canonical variant.
type Platform struct {
	OS      string // a GOOS value: "linux", "windows", "wasip1", ...
	Arch    string // a GOARCH value: "amd64", "arm", "arm64", ...
	Variant string // the canonical variant, or "" for the arch's default level
}

// ports lists the os/arch pairs of `go tool dist list` for Go 1.26.
var ports = map[string][]string{
	"aix":       {"ppc64"},
	"android":   {"386", "amd64", "arm", "arm64"},
	"darwin":    {"amd64", "arm64"},
	"dragonfly": {"amd64"},
	"freebsd":   {"386", "amd64", "arm", "arm64"},
	"illumos":   {"amd64"},
	"ios":       {"amd64", "arm64"},
	"js":        {"wasm"},
	"linux": {"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le",
		"mipsle", "ppc64", "ppc64le", "riscv64", "s390x"},
	"netbsd":  {"386", "amd64", "arm", "arm64"},
	"openbsd": {"386", "amd64", "arm", "arm64", "ppc64", "riscv64"},
	"plan9":   {"386", "amd64", "arm"},
	"solaris": {"amd64"},
	"wasip1":  {"wasm"},
	"windows": {"386", "amd64", "arm64"},
}

// osAliases are the operating system names containerd normalises.
var osAliases = map[string]string{
	"macos": "darwin",
	"wasi":  "wasip1",
}

// archAliases are the architecture names containerd normalises; some imply a variant.
var archAliases = map[string]Platform{
	"x86_64":  {Arch: "amd64"},
	"x86-64":  {Arch: "amd64"},
	"aarch64": {Arch: "arm64"},
	"i386":    {Arch: "386"},
	"i686":    {Arch: "386"},
	"armhf":   {Arch: "arm", Variant: "v7"},
	"armel":   {Arch: "arm", Variant: "v6"},
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
	if os, ok := osAliases[p.OS]; ok {
		p.OS = os
	}
	var implied string
	if a, ok := archAliases[p.Arch]; ok {
		p.Arch, implied = a.Arch, a.Variant
	}
	arches, ok := ports[p.OS]
	if !ok {
		return fail("unknown os %q: must be %s", parts[0], joinOr(sortedKeys(ports)))
	}
	if !knownArch(p.Arch) {
		return fail("unknown arch %q: must be %s", parts[1], joinOr(allArches()))
	}
	if !contains(arches, p.Arch) {
		return fail("%s/%s is not a Go port; %s supports %s", p.OS, p.Arch, p.OS, joinOr(arches))
	}
	given := implied
	if len(parts) == 3 {
		given = parts[2]
		if implied != "" {
			if a := archTable[p.Arch]; a.spelledAs(given) != implied {
				return fail("%s means %s/%s but the variant is %s", parts[1], p.Arch, implied, given)
			}
		}
	}
	a, ok := archTable[p.Arch]
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
	if a, ok := archTable[p.Arch]; ok {
		return a.env
	}
	return ""
}

// VariantValue returns the value of the arch's sub-architecture variable for p, the default
// level when p names none, or "" when the arch has no such variable.
func (p Platform) VariantValue() string {
	if a, ok := archTable[p.Arch]; ok {
		return a.value(p.Variant)
	}
	return ""
}

// Platforms returns every canonical platform that Parse accepts, variants included, sorted.
func Platforms() []Platform {
	var all []Platform
	for os, arches := range ports {
		for _, arch := range arches {
			a, ok := archTable[arch]
			if !ok {
				all = append(all, Platform{OS: os, Arch: arch})
				continue
			}
			for _, v := range a.variants {
				all = append(all, Platform{OS: os, Arch: arch, Variant: v.name})
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

func variantRank(p Platform) int {
	if a, ok := archTable[p.Arch]; ok {
		for i, v := range a.variants {
			if v.name == p.Variant {
				return i
			}
		}
	}
	return -1
}

func knownArch(arch string) bool {
	for _, arches := range ports {
		if contains(arches, arch) {
			return true
		}
	}
	return false
}

func allArches() []string {
	seen := map[string]bool{}
	for _, arches := range ports {
		for _, a := range arches {
			seen[a] = true
		}
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
