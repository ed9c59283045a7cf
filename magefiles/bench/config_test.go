package bench

import (
	"reflect"
	"strings"
	"testing"
)

// env returns a getenv over the given "KEY=value" pairs.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestConfigFromDefaults(t *testing.T) {
	c, err := ConfigFrom("/repo", env("HOME=/home/u"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Root:     "/repo",
		Programs: []string{"hello", "midsize"},
		Groups:   []string{"emulated", "release", "shim", "edit", "dockerfile", "cgo"},
		Cold:     map[string]int{"hello": 3, "midsize": 1, "cgo": 3},
		Warm:     3,
		Shim:     20,
		Out:      "/repo/magefiles/bench/results",
		Cache:    "/home/u/.cache/xgo-build/bench",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("ConfigFrom = %+v\nwant %+v", c, want)
	}
}

func TestConfigFromQuick(t *testing.T) {
	c, err := ConfigFrom("/repo", env("XGO_BENCH_QUICK=1", "TMPDIR=/scratch", "XDG_CACHE_HOME=/xdg"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Quick || !reflect.DeepEqual(c.Programs, []string{"hello"}) || c.Cold["hello"] != 1 || c.Cold["cgo"] != 1 || c.Warm != 2 || c.Shim != 10 {
		t.Errorf("quick config = %+v", c)
	}
	if c.Out != "/scratch/xgo-build-bench-quick" {
		t.Errorf("quick results go to %q, want outside the repository", c.Out)
	}
	if c.Cache != "/xdg/xgo-build/bench" {
		t.Errorf("cache = %q, want under XDG_CACHE_HOME", c.Cache)
	}
}

func TestConfigFromOverrides(t *testing.T) {
	c, err := ConfigFrom("/repo", env(
		"XGO_BENCH_QUICK=true", "XGO_BENCH_PROGRAMS=midsize, hello,midsize", "XGO_BENCH_CASES=shim, dockerfile,cgo,edit",
		"XGO_BENCH_RUNS=5", "XGO_BENCH_WARM_RUNS=4", "XGO_BENCH_SHIM_RUNS=20",
		"XGO_BENCH_OUT=out", "XGO_BENCH_CACHE=/c"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Root:     "/repo",
		Quick:    true,
		Programs: []string{"midsize", "hello"},
		Groups:   []string{"shim", "dockerfile", "cgo", "edit"},
		Cold:     map[string]int{"hello": 5, "midsize": 5, "cgo": 5},
		Warm:     4,
		Shim:     20,
		Out:      "/repo/out",
		Cache:    "/c",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("ConfigFrom = %+v\nwant %+v", c, want)
	}
	if !c.has("shim") || !c.has("dockerfile") || c.has("release") {
		t.Errorf("has: shim %v, dockerfile %v, release %v; want true, true, false", c.has("shim"), c.has("dockerfile"), c.has("release"))
	}
}

func TestConfigFromErrors(t *testing.T) {
	_, err := ConfigFrom("/repo", env(
		"XGO_BENCH_QUICK=maybe", "XGO_BENCH_PROGRAMS=hello,big", "XGO_BENCH_CASES=docker",
		"XGO_BENCH_RUNS=0", "XGO_BENCH_WARM_RUNS=x", "XGO_BENCH_SHIM_RUNS=-2"))
	if err == nil {
		t.Fatal("ConfigFrom accepted bad values")
	}
	for _, want := range []string{
		`XGO_BENCH_QUICK="maybe": must be true or false`,
		`XGO_BENCH_PROGRAMS="hello,big": "big" is not one of hello, midsize`,
		`XGO_BENCH_CASES="docker": "docker" is not one of emulated, release, shim, edit, dockerfile, cgo`,
		`XGO_BENCH_RUNS="0": must be a positive integer`,
		`XGO_BENCH_WARM_RUNS="x": must be a positive integer`,
		`XGO_BENCH_SHIM_RUNS="-2": must be a positive integer`,
		"no cache directory: set XGO_BENCH_CACHE (or HOME)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}
