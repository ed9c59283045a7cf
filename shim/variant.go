package shim

import (
	"fmt"
	"slices"
	"strings"
)

// A variant is one sub-architecture level of an arch: the canonical name it has in a platform
// string and the value its variable gets.
type variant struct {
	name  string // canonical platform variant, "" for the arch's default
	value string // value of the arch's variable
}

// A spelling is one more way to write a canonical variant name in a platform string.
type spelling struct {
	as   string // the spelling, lower case
	name string // the canonical variant name it stands for
}

// An archVariants describes the sub-architecture variable of one GOARCH, or of a family of
// them that share it (mips and mipsle).
type archVariants struct {
	arches    []string   // the GOARCH values whose variable this is
	env       string     // the variable: GOARM, GOAMD64, ...
	variants  []variant  // in order; variants[0] is the default unless def says otherwise
	def       string     // canonical name of the default variant
	spellings []spelling // accepted spellings besides the variants' own names
	suffixes  []string   // suffixes go accepts after the value (",softfloat", ",lse")
}

// archTable is the one table of sub-architecture variables: the platform parser, the
// environment mapping, the verifier and the documentation all read it. It is static data
// (no maps, no calls), so reading it costs the shim nothing at start-up.
var archTable = [...]archVariants{
	{arches: []string{"amd64"}, env: "GOAMD64",
		variants:  []variant{{"", "v1"}, {"v2", "v2"}, {"v3", "v3"}, {"v4", "v4"}},
		spellings: []spelling{{"v1", ""}}},
	{arches: []string{"arm"}, env: "GOARM", def: "v7", suffixes: []string{",softfloat", ",hardfloat"},
		variants:  []variant{{"v5", "5"}, {"v6", "6"}, {"v7", "7"}},
		spellings: []spelling{{"v8", "v7"}, {"5", "v5"}, {"6", "v6"}, {"7", "v7"}}},
	{arches: []string{"arm64"}, env: "GOARM64", suffixes: []string{",lse", ",crypto"},
		variants: []variant{{"", "v8.0"},
			{"v8.1", "v8.1"}, {"v8.2", "v8.2"}, {"v8.3", "v8.3"},
			{"v8.4", "v8.4"}, {"v8.5", "v8.5"}, {"v8.6", "v8.6"},
			{"v8.7", "v8.7"}, {"v8.8", "v8.8"}, {"v8.9", "v8.9"},
			{"v9.0", "v9.0"}, {"v9.1", "v9.1"}, {"v9.2", "v9.2"},
			{"v9.3", "v9.3"}, {"v9.4", "v9.4"}, {"v9.5", "v9.5"}},
		spellings: []spelling{{"v8", ""}, {"v8.0", ""}, {"v9", "v9.0"}}},
	{arches: []string{"386"}, env: "GO386",
		variants:  []variant{{"", "sse2"}, {"softfloat", "softfloat"}},
		spellings: []spelling{{"sse2", ""}}},
	{arches: []string{"mips", "mipsle"}, env: "GOMIPS",
		variants:  []variant{{"", "hardfloat"}, {"softfloat", "softfloat"}},
		spellings: []spelling{{"hardfloat", ""}}},
	{arches: []string{"mips64", "mips64le"}, env: "GOMIPS64",
		variants:  []variant{{"", "hardfloat"}, {"softfloat", "softfloat"}},
		spellings: []spelling{{"hardfloat", ""}}},
	{arches: []string{"ppc64", "ppc64le"}, env: "GOPPC64",
		variants:  []variant{{"", "power8"}, {"power9", "power9"}, {"power10", "power10"}},
		spellings: []spelling{{"power8", ""}}},
	{arches: []string{"riscv64"}, env: "GORISCV64",
		variants:  []variant{{"", "rva20u64"}, {"rva22u64", "rva22u64"}, {"rva23u64", "rva23u64"}},
		spellings: []spelling{{"rva20u64", ""}}},
}

// variantsOf returns the sub-architecture variable of arch from archTable, and whether arch
// has one.
func variantsOf(arch string) (*archVariants, bool) {
	i := slices.IndexFunc(archTable[:], func(a archVariants) bool { return slices.Contains(a.arches, arch) })
	if i < 0 {
		return nil, false
	}
	return &archTable[i], true
}

// validSpellings lists the accepted spellings for error messages, in the variants' order. It
// is computed only when an error needs it: the table is read at every start of the shim.
func (a *archVariants) validSpellings() string {
	var names []string
	add := func(s string) {
		if isDocumentedSpelling(s) && !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	for _, v := range a.variants {
		add(v.name)
	}
	for _, sp := range a.spellings {
		add(sp.as)
	}
	sortSpellings(names, a)
	return joinOr(names)
}

// isDocumentedSpelling reports whether s is listed in error messages: the bare GOARM digits
// are accepted but the v-forms are the ones to recommend.
func isDocumentedSpelling(s string) bool {
	return s != "" && (s[0] < '0' || s[0] > '9')
}

// sortSpellings orders spellings as the variants are ordered, and within one variant
// shorter first (v8 before v8.0, v9 before v9.0).
func sortSpellings(names []string, a *archVariants) {
	rank := func(s string) int {
		name, _ := a.canonical(s)
		for i, v := range a.variants {
			if name == v.name {
				return i
			}
		}
		return len(a.variants)
	}
	less := func(x, y string) bool {
		if rx, ry := rank(x), rank(y); rx != ry {
			return rx < ry
		}
		if len(x) != len(y) {
			return len(x) < len(y)
		}
		return x < y
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && less(names[j], names[j-1]); j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
}

// joinOr joins ["a", "b", "c"] as "a, b or c".
func joinOr(list []string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// canonical returns the canonical variant name for a spelling, and whether it is accepted.
// The empty spelling is the arch's default.
func (a *archVariants) canonical(s string) (string, bool) {
	if s == "" {
		return a.def, true
	}
	for _, sp := range a.spellings {
		if sp.as == s {
			return sp.name, true
		}
	}
	for _, v := range a.variants {
		if v.name != "" && v.name == s {
			return v.name, true
		}
	}
	return "", false
}

// value returns the variable's value for a canonical variant name.
func (a *archVariants) value(name string) string {
	for _, v := range a.variants {
		if v.name == name {
			return v.value
		}
	}
	return ""
}

// checkValue validates a value of the variable as the go command would accept it: one of the
// variants' values, optionally followed by the arch's suffixes. It returns the value without
// its suffixes.
func (a *archVariants) checkValue(s string) (string, error) {
	base := s
	for trimmed := true; trimmed; {
		trimmed = false
		for _, suf := range a.suffixes {
			if strings.HasSuffix(base, suf) {
				base, trimmed = strings.TrimSuffix(base, suf), true
			}
		}
	}
	for _, v := range a.variants {
		if v.value == base {
			return base, nil
		}
	}
	values := make([]string, len(a.variants))
	for i, v := range a.variants {
		values[i] = v.value
	}
	msg := fmt.Sprintf("invalid %s %q: must be %s", a.env, s, joinOr(values))
	if len(a.suffixes) > 0 {
		msg += ", optionally followed by " + joinOr(a.suffixes)
	}
	return "", fmt.Errorf("%s", msg)
}
