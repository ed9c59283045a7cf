package shim

import (
	"fmt"
	"strings"
)

// Target picks the platform to build for: the --xgo-platform value flag if not empty, else
// TARGETPLATFORM, else TARGETOS/TARGETARCH/TARGETVARIANT (the OS defaults to linux). ok is false
// when none of them is set: a build for the host.
func Target(flag string, getenv func(string) string) (p Platform, ok bool, err error) {
	parse := func(source, s string) (Platform, bool, error) {
		p, err := Parse(s)
		if pe, isParse := err.(*ParseError); isParse {
			pe.Source = source
		}
		return p, err == nil, err
	}
	if strings.TrimSpace(flag) != "" {
		return parse("--xgo-platform", flag)
	}
	if s := getenv("TARGETPLATFORM"); strings.TrimSpace(s) != "" {
		return parse("TARGETPLATFORM", s)
	}
	os, arch, variant := getenv("TARGETOS"), getenv("TARGETARCH"), getenv("TARGETVARIANT")
	if strings.TrimSpace(arch) == "" {
		if strings.TrimSpace(os+variant) != "" {
			return Platform{}, false, fmt.Errorf("TARGETOS=%q and TARGETVARIANT=%q need TARGETARCH", os, variant)
		}
		return Platform{}, false, nil
	}
	if strings.TrimSpace(os) == "" {
		os = "linux"
	}
	s := os + "/" + arch
	if strings.TrimSpace(variant) != "" {
		s += "/" + variant
	}
	return parse("TARGETOS/TARGETARCH/TARGETVARIANT", s)
}

// Vars returns the variables to set for building p, as "KEY=value" in the order GOOS, GOARCH,
// the arch's variant variable, CGO_ENABLED. A GOOS, GOARCH or variant variable in the user's
// environment that contradicts p is an error naming both values; a variant variable the user set
// is kept, once validated, when p names no variant; CGO_ENABLED=0 is set only if the user did
// not set CGO_ENABLED.
func Vars(p Platform, getenv func(string) string) ([]string, error) {
	for _, kv := range [...][2]string{{"GOOS", p.OS}, {"GOARCH", p.Arch}} {
		if v := getenv(kv[0]); v != "" && v != kv[1] {
			return nil, fmt.Errorf("%s=%s in the environment conflicts with target %s (%s=%s)", kv[0], v, p, kv[0], kv[1])
		}
	}
	vars := []string{"GOOS=" + p.OS, "GOARCH=" + p.Arch}
	if a, ok := variantsOf(p.Arch); ok {
		value, err := variantValue(a, p, getenv(a.env))
		if err != nil {
			return nil, err
		}
		vars = append(vars, a.env+"="+value)
	}
	if getenv("CGO_ENABLED") == "" {
		vars = append(vars, "CGO_ENABLED=0")
	}
	return vars, nil
}

// variantValue decides the variant variable's value from the target and the user's setting.
func variantValue(a *archVariants, p Platform, user string) (string, error) {
	want := a.value(p.Variant)
	if user == "" {
		return want, nil
	}
	base, err := a.checkValue(user)
	if err != nil {
		return "", err
	}
	if p.Variant != "" && base != want {
		return "", fmt.Errorf("%s=%s in the environment conflicts with target %s (%s=%s)", a.env, user, p, a.env, want)
	}
	return user, nil
}

// MergeEnv returns env, a list of "KEY=value" as os.Environ gives it, with every key of vars
// set to its value from vars. The result has no duplicate keys: a Go child process keeps the
// first of duplicates, so they would silently undo the target.
func MergeEnv(env, vars []string) []string {
	set := make(map[string]bool, len(vars))
	for _, kv := range vars {
		set[key(kv)] = true
	}
	out := make([]string, 0, len(env)+len(vars))
	seen := make(map[string]bool, len(env))
	for _, kv := range env {
		k := key(kv)
		if set[k] || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	return append(out, vars...)
}

func key(kv string) string {
	if i := strings.IndexByte(kv, '='); i > 0 {
		return kv[:i]
	}
	return kv
}
