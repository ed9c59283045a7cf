package shim

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestSupported(t *testing.T) {
	all := []Platform{
		{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "amd64", Variant: "v3"},
		{OS: "linux", Arch: "arm", Variant: "v6"}, {OS: "plan9", Arch: "arm", Variant: "v7"},
		{OS: "wasip1", Arch: "wasm"},
	}
	got := supported(all, "linux/amd64\r\n  linux/arm\nwasip1/wasm\nlinux/loong64\n\n")
	var names []string
	for _, p := range got {
		names = append(names, p.String())
	}
	want := "linux/amd64 linux/amd64/v3 linux/arm/v6 wasip1/wasm"
	if strings.Join(names, " ") != want {
		t.Errorf("supported = %q, want %q", names, want)
	}
	if got := supported(all, ""); len(got) != 0 {
		t.Errorf("supported with an empty list = %v, want none", got)
	}
}

// TestListMatchesToolchain checks --xgo-list against the go in use: every platform it
// prints parses to itself, and every os/arch pair of go tool dist list is covered.
func TestListMatchesToolchain(t *testing.T) {
	dist, err := exec.Command("go", "tool", "dist", "list").Output()
	if err != nil {
		t.Fatalf("go tool dist list: %v", err)
	}
	gopath, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	environ := []string{"XGO_GO=" + gopath}
	inv := invocation{args: []string{"xgo-build", "--xgo-list"}, environ: environ, getenv: getenvFrom(environ), stdout: &stdout, stderr: &stderr}
	if code := inv.run(); code != 0 {
		t.Fatalf("--xgo-list: exit %d: %s", code, stderr.String())
	}
	pairs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		p, err := Parse(line)
		if err != nil || p.String() != line {
			t.Errorf("--xgo-list printed %q, which parses to %v, %v", line, p, err)
			continue
		}
		pairs[p.OS+"/"+p.Arch] = true
	}
	for _, pair := range strings.Fields(string(dist)) {
		if !pairs[pair] {
			t.Errorf("go tool dist list names %s, --xgo-list has no platform for it", pair)
		}
	}
	if len(pairs) != len(strings.Fields(string(dist))) {
		t.Errorf("--xgo-list covers %d os/arch pairs, go tool dist list %d", len(pairs), len(strings.Fields(string(dist))))
	}
}
