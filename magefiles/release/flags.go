package release

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// XGO_FLAGS holds go build flags only: the release puts them between `go build -trimpath` and
// its own `-o <path> <main package>`. A word that is not a flag would end go's flags there, and
// go would take -o and the path for package paths (`malformed import path "-o"`); a flag go
// does not know, or does not take there, fails every build after dist/ was changed. So the
// words are parsed here as go's flag package parses them, against the flags of go build, and
// anything go would refuse is an error of the configuration.

// goBuildFlags are the flags of go build in Go 1.26, by name (go help build; in
// cmd/go/internal: work.AddBuildFlags, work.AddCoverFlags and CmdBuild's -o, with
// base.AddBuildFlagsNX, AddChdirFlag, AddModFlag and AddModCommonFlags): true for a flag that
// takes a value, as -name value or -name=value; false for a boolean one, which takes a value
// only as -name=value.
var goBuildFlags = map[string]bool{
	"a": false, "asan": false, "buildvcs": false, "cover": false, "json": false,
	"linkshared": false, "modcacherw": false, "msan": false, "n": false, "race": false,
	"trimpath": false, "v": false, "work": false, "x": false,

	"C": true, "asmflags": true, "buildmode": true, "compiler": true, "covermode": true,
	"coverpkg": true, "gccgoflags": true, "gcflags": true, "installsuffix": true, "ldflags": true,
	"mod": true, "modfile": true, "o": true, "overlay": true, "p": true, "pgo": true, "pkgdir": true,
	"tags": true, "toolexec": true,
	"debug-actiongraph": true, "debug-runtime-trace": true, "debug-trace": true,
}

// flagValues lists the values go accepts for the flags that take one of a few.
var flagValues = map[string][]string{
	"buildvcs":  {"true", "false", "auto"},
	"compiler":  {"gc", "gccgo"},
	"covermode": {"set", "count", "atomic"},
	"mod":       {"readonly", "vendor", "mod"},
}

// checkFlags checks the words of XGO_FLAGS as go build would parse them before the release's
// -o and main package: every word is a go build flag or the value of the flag before it; -o
// (the release chooses each binary's path) and -C (go takes it only first on its command
// line) are refused, and so is a value go would refuse for -p, a boolean flag or one of
// flagValues.
func checkFlags(words []string) error {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			return errors.New(`"--" is not a go build flag: it would end go's flags, and XGO_FLAGS must hold flags only; name the package with XGO_MAIN`)
		}
		if len(w) < 2 || w[0] != '-' {
			if _, err := strconv.ParseBool(w); (err == nil || w == "auto") && i > 0 && isBooleanFlag(words[i-1]) {
				prev := words[i-1]
				return fmt.Errorf("%q is not a go build flag: %s takes a value only as %s=%s", w, prev, prev, w)
			}
			return fmt.Errorf("%q is not a go build flag: XGO_FLAGS must hold flags only; name the package with XGO_MAIN", w)
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(w[1:], "-"), "=")
		takesValue, known := goBuildFlags[name]
		switch {
		case !known:
			return fmt.Errorf("%q is not a go build flag (go help build lists them)", w)
		case name == "o":
			return errors.New("must not set -o: the release chooses each binary's path")
		case name == "C":
			return errors.New("must not set -C: go takes it only as the first flag of its command line; run the target in that directory instead")
		}
		if takesValue && !hasValue {
			if i+1 == len(words) {
				return fmt.Errorf("%s needs a value", w)
			}
			i++
			value, hasValue = words[i], true
		}
		if hasValue {
			if err := checkFlagValue(name, takesValue, value); err != nil {
				return err
			}
		}
	}
	return nil
}

// isBooleanFlag reports whether w is a boolean go build flag without a value (-race).
func isBooleanFlag(w string) bool {
	if len(w) < 2 || w[0] != '-' || strings.Contains(w, "=") {
		return false
	}
	takesValue, known := goBuildFlags[strings.TrimPrefix(w[1:], "-")]
	return known && !takesValue
}

// checkFlagValue checks the value of the go build flag -name as go would.
func checkFlagValue(name string, takesValue bool, value string) error {
	if allowed, ok := flagValues[name]; ok {
		if !slices.Contains(allowed, value) {
			return fmt.Errorf("-%s=%q: must be %s", name, value, strings.Join(allowed, ", "))
		}
		return nil
	}
	switch {
	case !takesValue:
		if _, err := strconv.ParseBool(value); err != nil {
			return fmt.Errorf("-%s=%q: must be true or false", name, value)
		}
	case name == "p":
		if n, err := strconv.Atoi(value); err != nil || n < 1 {
			return fmt.Errorf("-p %q: must be a positive integer", value)
		}
	}
	return nil
}
