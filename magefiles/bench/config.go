package bench

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Programs are the sample programs under testdata, smallest first.
var Programs = []string{"hello", "midsize"}

// Groups are the comparisons the bench can run, selected by XGO_BENCH_CASES: native vs
// emulated (pure Go), release vs ko (cold and warm), shim overhead, release vs ko with one line
// changed, a multi-platform Dockerfile build cross-compiled vs emulated in BuildKit, and a cgo
// build cross-compiled vs emulated.
var Groups = []string{"emulated", "release", "shim", "edit", "dockerfile", "cgo"}

// DockerfilePlatforms are the platforms of the Dockerfile comparison: the build machine's own
// and three that BuildKit runs under QEMU.
var DockerfilePlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/riscv64"}

// Platforms are the eight platforms of the release comparison, in the order images are listed.
var Platforms = []string{
	"linux/amd64", "linux/386", "linux/arm64", "linux/arm/v7",
	"linux/arm/v6", "linux/ppc64le", "linux/s390x", "linux/riscv64",
}

// KoModule is the pinned ko the release comparison installs and runs.
const KoModule = "github.com/google/ko@v0.19.1"

// Config is what one bench run does, read from the XGO_BENCH_* variables.
type Config struct {
	Root     string         // repository root: testdata, cmd/xgo-build and the release package
	Quick    bool           // XGO_BENCH_QUICK: few runs, results outside the repository
	Programs []string       // XGO_BENCH_PROGRAMS: which of Programs to build
	Groups   []string       // XGO_BENCH_CASES: which of Groups to run
	Cold     map[string]int // XGO_BENCH_RUNS: cold runs per program (emulated, release, dockerfile; "cgo" for the cgo case)
	Warm     int            // XGO_BENCH_WARM_RUNS: warm release runs, and edited ones, after each cold one
	Shim     int            // XGO_BENCH_SHIM_RUNS: runs per side of the shim comparison
	Out      string         // XGO_BENCH_OUT: where results.md, chart.svg and results.json go
	Cache    string         // XGO_BENCH_CACHE: the emulated toolchain and other reusable files
}

// ConfigFrom reads the configuration for the repository at root through getenv:
//
//	XGO_BENCH_QUICK=1        quick mode: hello only, one cold run, two warm runs, ten shim
//	                         runs, results in $TMPDIR/xgo-build-bench-quick unless XGO_BENCH_OUT
//	XGO_BENCH_PROGRAMS=list  comma-separated programs (default hello,midsize)
//	XGO_BENCH_CASES=list     comma-separated comparisons: emulated, release, shim, edit,
//	                         dockerfile, cgo (default all; dockerfile needs root, a Docker
//	                         daemon, buildkitd and buildx, cgo root and qemu-user)
//	XGO_BENCH_RUNS=N         cold runs per side for every program (default 3 for hello and
//	                         testdata/cgo, 1 for midsize)
//	XGO_BENCH_WARM_RUNS=N    warm release runs per side after each cold run, and as many
//	                         release runs with one line changed (default 3)
//	XGO_BENCH_SHIM_RUNS=N    shim runs per side (default 20)
//	XGO_BENCH_OUT=dir        results directory (default magefiles/bench/results)
//	XGO_BENCH_CACHE=dir      cache directory (default <user cache dir>/xgo-build/bench)
func ConfigFrom(root string, getenv func(string) string) (Config, error) {
	c := Config{
		Root:     root,
		Programs: Programs,
		Groups:   Groups,
		Cold:     map[string]int{"hello": 3, "midsize": 1, "cgo": 3},
		Warm:     3,
		Shim:     20,
		Out:      filepath.Join(root, "magefiles", "bench", "results"),
	}
	var errs []error
	if v := getenv("XGO_BENCH_QUICK"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("XGO_BENCH_QUICK=%q: must be true or false (or 1 or 0)", v))
		}
		c.Quick = b
	}
	if c.Quick {
		c.Programs = []string{"hello"}
		c.Cold = map[string]int{"hello": 1, "midsize": 1, "cgo": 1}
		c.Warm, c.Shim = 2, 10
		tmp := getenv("TMPDIR")
		if tmp == "" {
			tmp = "/tmp"
		}
		c.Out = filepath.Join(tmp, "xgo-build-bench-quick")
	}
	list := func(variable string, valid []string, dst *[]string) {
		v := getenv(variable)
		if v == "" {
			return
		}
		var got []string
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(valid, s) {
				errs = append(errs, fmt.Errorf("%s=%q: %q is not one of %s", variable, v, s, strings.Join(valid, ", ")))
				return
			}
			if !slices.Contains(got, s) {
				got = append(got, s)
			}
		}
		*dst = got
	}
	list("XGO_BENCH_PROGRAMS", Programs, &c.Programs)
	list("XGO_BENCH_CASES", Groups, &c.Groups)
	count := func(variable string, dst *int) {
		v := getenv(variable)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q: must be a positive integer", variable, v))
			return
		}
		*dst = n
	}
	var runs int
	count("XGO_BENCH_RUNS", &runs)
	if runs > 0 {
		c.Cold = map[string]int{"hello": runs, "midsize": runs, "cgo": runs}
	}
	count("XGO_BENCH_WARM_RUNS", &c.Warm)
	count("XGO_BENCH_SHIM_RUNS", &c.Shim)
	if v := getenv("XGO_BENCH_OUT"); v != "" {
		c.Out = absUnder(root, v)
	}
	switch {
	case getenv("XGO_BENCH_CACHE") != "":
		c.Cache = absUnder(root, getenv("XGO_BENCH_CACHE"))
	case getenv("XDG_CACHE_HOME") != "" && filepath.IsAbs(getenv("XDG_CACHE_HOME")):
		c.Cache = filepath.Join(getenv("XDG_CACHE_HOME"), "xgo-build", "bench")
	case getenv("HOME") != "":
		c.Cache = filepath.Join(getenv("HOME"), ".cache", "xgo-build", "bench")
	default:
		errs = append(errs, errors.New("no cache directory: set XGO_BENCH_CACHE (or HOME)"))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// absUnder returns p made absolute relative to dir.
func absUnder(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// has reports whether the run includes the comparison group.
func (c Config) has(group string) bool { return slices.Contains(c.Groups, group) }
