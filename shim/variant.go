package shim

import (
	"fmt"
	"strings"
)

// A variant is one sub-architecture level of an arch: the canonical name it has in a platform
// string and the value its variable gets.
type variant struct {
	name  string // canonical platform variant, "" for the arch's default
	value string // value of the arch's variable
}

// An archVariants describes the sub-architecture variable of one GOARCH.
type archVariants struct {
	env      string            // the variable: GOARM, GOAMD64, ...
	variants []variant         // in order; variants[0] is the default unless def says otherwise
	def      string            // canonical name of the default variant
	spelled  map[string]string // every accepted spelling (lower case) -> canonical name
	suffixes []string          // suffixes go accepts after the value (",softfloat", ",lse")
}

// archTable is the one table of sub-architecture variables: the platform parser, the
// environment mapping, the verifier and the documentation all read it.
var archTable = map[string]*archVariants{
	"amd64": newArch("GOAMD64", "", nil,
		variant{"", "v1"}, variant{"v2", "v2"}, variant{"v3", "v3"}, variant{"v4", "v4"}).
		spell("v1", ""),
	"arm": newArch("GOARM", "v7", []string{",softfloat", ",hardfloat"},
		variant{"v5", "5"}, variant{"v6", "6"}, variant{"v7", "7"}).
		spell("v8", "v7").spell("5", "v5").spell("6", "v6").spell("7", "v7"),
	"arm64": newArch("GOARM64", "", []string{",lse", ",crypto"},
		variant{"", "v8.0"},
		variant{"v8.1", "v8.1"}, variant{"v8.2", "v8.2"}, variant{"v8.3", "v8.3"},
		variant{"v8.4", "v8.4"}, variant{"v8.5", "v8.5"}, variant{"v8.6", "v8.6"},
		variant{"v8.7", "v8.7"}, variant{"v8.8", "v8.8"}, variant{"v8.9", "v8.9"},
		variant{"v9.0", "v9.0"}, variant{"v9.1", "v9.1"}, variant{"v9.2", "v9.2"},
		variant{"v9.3", "v9.3"}, variant{"v9.4", "v9.4"}, variant{"v9.5", "v9.5"}).
		spell("v8", "").spell("v8.0", "").spell("v9", "v9.0"),
	"386": newArch("GO386", "", nil,
		variant{"", "sse2"}, variant{"softfloat", "softfloat"}).spell("sse2", ""),
	"mips":     mipsArch("GOMIPS"),
	"mipsle":   mipsArch("GOMIPS"),
	"mips64":   mipsArch("GOMIPS64"),
	"mips64le": mipsArch("GOMIPS64"),
	"ppc64":    ppcArch(),
	"ppc64le":  ppcArch(),
	"riscv64": newArch("GORISCV64", "", nil,
		variant{"", "rva20u64"}, variant{"rva22u64", "rva22u64"}, variant{"rva23u64", "rva23u64"}).
		spell("rva20u64", ""),
}

func mipsArch(env string) *archVariants {
	return newArch(env, "", nil, variant{"", "hardfloat"}, variant{"softfloat", "softfloat"}).
		spell("hardfloat", "")
}

func ppcArch() *archVariants {
	return newArch("GOPPC64", "", nil,
		variant{"", "power8"}, variant{"power9", "power9"}, variant{"power10", "power10"}).
		spell("power8", "")
}

func newArch(env, def string, suffixes []string, vs ...variant) *archVariants {
	a := &archVariants{env: env, variants: vs, def: def, spelled: map[string]string{}, suffixes: suffixes}
	for _, v := range vs {
		if v.name != "" {
			a.spell(v.name, v.name)
		}
	}
	return a
}

// spell accepts s as a spelling of the canonical variant name.
func (a *archVariants) spell(s, name string) *archVariants {
	a.spelled[s] = name
	return a
}

// validSpellings lists the accepted spellings for error messages, in the variants' order. It
// is computed only when an error needs it: the table is read at every start of the shim.
func (a *archVariants) validSpellings() string {
	var names []string
	for sp := range a.spelled {
		if isDocumentedSpelling(sp) {
			names = append(names, sp)
		}
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
		for i, v := range a.variants {
			if a.spelled[s] == v.name {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
	name, ok := a.spelled[s]
	return name, ok
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
