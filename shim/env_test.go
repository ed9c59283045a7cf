package shim

import (
	"slices"
	"strings"
	"testing"
)

// envOf returns a getenv over a fixed set of "KEY=value" pairs.
func envOf(kvs ...string) func(string) string {
	return func(k string) string {
		for _, kv := range kvs {
			if key, v, _ := strings.Cut(kv, "="); key == k {
				return v
			}
		}
		return ""
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		name, flag string
		env        []string
		want       string // canonical platform, "" for a host build
		err        string
	}{
		{name: "host", want: ""},
		{name: "flag wins", flag: "linux/s390x", env: []string{"TARGETPLATFORM=linux/arm64", "TARGETARCH=amd64"}, want: "linux/s390x"},
		{name: "TARGETPLATFORM", env: []string{"TARGETPLATFORM=linux/arm/v6", "TARGETOS=windows", "TARGETARCH=amd64"}, want: "linux/arm/v6"},
		{name: "parts", env: []string{"TARGETOS=windows", "TARGETARCH=arm64"}, want: "windows/arm64"},
		{name: "parts with variant", env: []string{"TARGETOS=linux", "TARGETARCH=amd64", "TARGETVARIANT=v3"}, want: "linux/amd64/v3"},
		{name: "arch only defaults to linux", env: []string{"TARGETARCH=riscv64"}, want: "linux/riscv64"},
		{name: "arch and variant", env: []string{"TARGETARCH=arm", "TARGETVARIANT=v5"}, want: "linux/arm/v5"},
		{name: "blank TARGETPLATFORM ignored", env: []string{"TARGETPLATFORM=  ", "TARGETARCH=arm64"}, want: "linux/arm64"},
		{name: "docker wasi", env: []string{"TARGETPLATFORM=wasi/wasm"}, want: "wasip1/wasm"},
		{name: "bad flag", flag: "linux/arm/v9", err: `invalid --xgo-platform "linux/arm/v9": arm variant must be v5, v6, v7 or v8`},
		{name: "bad TARGETPLATFORM", env: []string{"TARGETPLATFORM=linux/amd64/v5"}, err: `invalid TARGETPLATFORM "linux/amd64/v5": amd64 variant must be v1, v2, v3 or v4`},
		{name: "bad parts", env: []string{"TARGETARCH=sparc"}, err: `invalid TARGETOS/TARGETARCH/TARGETVARIANT "linux/sparc": unknown arch "sparc"`},
		{name: "os without arch", env: []string{"TARGETOS=linux"}, err: `TARGETOS="linux" and TARGETVARIANT="" need TARGETARCH`},
		{name: "variant without arch", env: []string{"TARGETVARIANT=v7"}, err: `TARGETOS="" and TARGETVARIANT="v7" need TARGETARCH`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok, err := Target(tt.flag, envOf(tt.env...))
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("Target() error = %v, want prefix %q", err, tt.err)
				}
				if ok || p != (Platform{}) {
					t.Fatalf("Target() = %v, %v with an error", p, ok)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.want != "") {
				t.Fatalf("Target() ok = %v, want %v", ok, tt.want != "")
			}
			if ok && p.String() != tt.want {
				t.Fatalf("Target() = %s, want %s", p, tt.want)
			}
		})
	}
}

func TestVars(t *testing.T) {
	tests := []struct {
		platform string
		env      []string
		want     []string
		err      string
	}{
		{platform: "linux/arm64", want: []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0"}},
		{platform: "linux/s390x", want: []string{"GOOS=linux", "GOARCH=s390x", "CGO_ENABLED=0"}},
		{platform: "wasip1/wasm", want: []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}},
		// The user's CGO_ENABLED is kept: nothing is added.
		{platform: "linux/amd64", env: []string{"CGO_ENABLED=1"}, want: []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"}},
		// Matching GOOS/GOARCH are fine.
		{platform: "linux/arm/v6", env: []string{"GOOS=linux", "GOARCH=arm"}, want: []string{"GOOS=linux", "GOARCH=arm", "GOARM=6", "CGO_ENABLED=0"}},
		// A variant variable is kept when the platform names no variant ...
		{platform: "linux/amd64", env: []string{"GOAMD64=v3"}, want: []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3", "CGO_ENABLED=0"}},
		{platform: "linux/arm64", env: []string{"GOARM64=v8.2,crypto"}, want: []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.2,crypto", "CGO_ENABLED=0"}},
		// ... and when it agrees with the one named, suffixes included.
		{platform: "linux/arm/v7", env: []string{"GOARM=7,softfloat"}, want: []string{"GOOS=linux", "GOARCH=arm", "GOARM=7,softfloat", "CGO_ENABLED=0"}},
		{platform: "linux/ppc64le/power9", env: []string{"GOPPC64=power9"}, want: []string{"GOOS=linux", "GOARCH=ppc64le", "GOPPC64=power9", "CGO_ENABLED=0"}},
		// Variables of other arches are not this target's business.
		{platform: "linux/riscv64", env: []string{"GOARM=5", "GOAMD64=v2"}, want: []string{"GOOS=linux", "GOARCH=riscv64", "GORISCV64=rva20u64", "CGO_ENABLED=0"}},
		{platform: "linux/arm64", env: []string{"GOOS=windows"}, err: "GOOS=windows in the environment conflicts with target linux/arm64 (GOOS=linux)"},
		{platform: "linux/arm64", env: []string{"GOARCH=amd64"}, err: "GOARCH=amd64 in the environment conflicts with target linux/arm64 (GOARCH=arm64)"},
		{platform: "linux/arm/v7", env: []string{"GOARM=6"}, err: "GOARM=6 in the environment conflicts with target linux/arm/v7 (GOARM=7)"},
		{platform: "linux/amd64/v3", env: []string{"GOAMD64=v2"}, err: "GOAMD64=v2 in the environment conflicts with target linux/amd64/v3 (GOAMD64=v3)"},
		{platform: "linux/amd64", env: []string{"GOAMD64=v5"}, err: `invalid GOAMD64 "v5": must be v1, v2, v3 or v4`},
		{platform: "linux/arm/v7", env: []string{"GOARM=8"}, err: `invalid GOARM "8": must be 5, 6 or 7, optionally followed by ,softfloat or ,hardfloat`},
		{platform: "linux/arm64", env: []string{"GOARM64=v9.6"}, err: `invalid GOARM64 "v9.6": must be v8.0,`},
		{platform: "linux/386", env: []string{"GO386=387"}, err: `invalid GO386 "387": must be sse2 or softfloat`},
		{platform: "linux/mips64", env: []string{"GOMIPS64=soft"}, err: `invalid GOMIPS64 "soft": must be hardfloat or softfloat`},
		{platform: "linux/riscv64", env: []string{"GORISCV64=rva24u64"}, err: `invalid GORISCV64 "rva24u64": must be rva20u64, rva22u64 or rva23u64`},
	}
	for _, tt := range tests {
		p, err := Parse(tt.platform)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Vars(p, envOf(tt.env...))
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("Vars(%s, %q) error = %v, want prefix %q", p, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Vars(%s, %q) = %q, %v; want %q", p, tt.env, got, err, tt.want)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	env := []string{"PATH=/bin", "GOOS=linux", "HOME=/root", "GOARCH=amd64", "PATH=/usr/bin", "GOAMD64=v2", "=C:=C:\\"}
	got := MergeEnv(env, []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0"})
	want := []string{"PATH=/bin", "HOME=/root", "GOAMD64=v2", "=C:=C:\\", "GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0"}
	if !slices.Equal(got, want) {
		t.Errorf("MergeEnv = %q\nwant       %q", got, want)
	}
}
