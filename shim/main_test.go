package shim

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		own, files, rest []string
	}{
		{"none", nil, nil, nil, nil},
		{"only go's", []string{"-o", "app", "."}, nil, nil, []string{"-o", "app", "."}},
		{"flag=value", []string{"--xgo-platform=linux/arm64", "-o", "x"}, []string{"--xgo-platform=linux/arm64"}, nil, []string{"-o", "x"}},
		{"flag value", []string{"--xgo-platform", "linux/arm64", "."}, []string{"--xgo-platform", "linux/arm64"}, nil, []string{"."}},
		{"flag value that looks like a flag", []string{"--xgo-platform", "--xgo-env"}, []string{"--xgo-platform", "--xgo-env"}, nil, nil},
		{"bare flag at the end", []string{"--xgo-platform"}, []string{"--xgo-platform"}, nil, nil},
		{"several", []string{"--xgo-env", "--xgo-platform=a/b"}, []string{"--xgo-env", "--xgo-platform=a/b"}, nil, nil},
		{"verify takes the rest", []string{"--xgo-platform=a/b", "--xgo-verify", "x", "--xgo-env", "-o"}, []string{"--xgo-platform=a/b", "--xgo-verify"}, []string{"x", "--xgo-env", "-o"}, nil},
		{"ldflags untouched", []string{"-ldflags=-s -w -X main.v=1", "--xgo-env"}, nil, nil, []string{"-ldflags=-s -w -X main.v=1", "--xgo-env"}},
		{"single dash is go's", []string{"-xgo-platform=linux/arm64"}, nil, nil, []string{"-xgo-platform=linux/arm64"}},
		{"double dash ends", []string{"--", "--xgo-env"}, nil, nil, []string{"--", "--xgo-env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			own, files, rest := splitArgs(tt.args)
			if !reflect.DeepEqual(own, tt.own) || !reflect.DeepEqual(files, tt.files) || !reflect.DeepEqual(rest, tt.rest) {
				t.Errorf("splitArgs(%q) = %q, %q, %q; want %q, %q, %q", tt.args, own, files, rest, tt.own, tt.files, tt.rest)
			}
		})
	}
}

// execRecord is what a recording exec function saw.
type execRecord struct {
	path string
	argv []string
	env  []string
}

// runRecorded runs the shim in-process with a recording exec that returns status.
func runRecorded(t *testing.T, args, environ []string, status int) (int, string, string, *execRecord) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var rec *execRecord
	inv := invocation{
		args:    args,
		environ: environ,
		getenv:  getenvFrom(environ),
		stdout:  &stdout,
		stderr:  &stderr,
		exec: func(path string, argv, env []string) (int, error) {
			rec = &execRecord{path, argv, env}
			return status, nil
		},
	}
	code := inv.run()
	return code, stdout.String(), stderr.String(), rec
}

// fakeGoDir returns a directory holding an executable file named go.
func fakeGoDir(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, goExe())
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestRunForwards(t *testing.T) {
	dir, gopath := fakeGoDir(t)
	tests := []struct {
		name    string
		args    []string
		environ []string
		argv    []string // after the go path
		set     []string // must be in the env exactly once
		absent  []string // keys that must not be in the env
	}{
		{
			name:    "flag",
			args:    []string{"xgo-build", "--xgo-platform=linux/arm/v6", "-ldflags=-s -w", "-o", "app", "."},
			environ: []string{"PATH=" + dir, "HOME=/h"},
			argv:    []string{"build", "-ldflags=-s -w", "-o", "app", "."},
			set:     []string{"GOOS=linux", "GOARCH=arm", "GOARM=6", "CGO_ENABLED=0", "HOME=/h"},
			absent:  []string{"GOAMD64", "GOARM64"},
		},
		{
			name:    "TARGETPLATFORM, user CGO_ENABLED, duplicates dropped",
			args:    []string{"/usr/local/bin/xgo-build", "./cmd/app"},
			environ: []string{"PATH=" + dir, "TARGETPLATFORM=linux/amd64/v3", "CGO_ENABLED=1", "GOOS=linux", "GOOS=windows"},
			argv:    []string{"build", "./cmd/app"},
			set:     []string{"GOOS=linux", "GOARCH=amd64", "GOAMD64=v3", "CGO_ENABLED=1"},
		},
		{
			name:    "named go: every subcommand",
			args:    []string{"/usr/local/bin/go", "env", "GOARCH"},
			environ: []string{"PATH=" + dir, "TARGETARCH=arm64"},
			argv:    []string{"env", "GOARCH"},
			set:     []string{"GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0", "CGO_ENABLED=0"},
		},
		{
			name:    "named go.exe, --xgo-* are go's",
			args:    []string{`C:\bin\go.exe`, "--xgo-env"},
			environ: []string{"PATH=" + dir, "TARGETPLATFORM=windows/amd64"},
			argv:    []string{"--xgo-env"},
			set:     []string{"GOOS=windows", "GOARCH=amd64"},
		},
	}
	if filepath.Separator != '\\' {
		tests[3].args[0] = "/c/bin/go.exe"
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr, rec := runRecorded(t, tt.args, tt.environ, 7)
			if code != 7 {
				t.Fatalf("exit status %d, want go's 7; stdout %q stderr %q", code, stdout, stderr)
			}
			if stderr != "" || stdout != "" {
				t.Errorf("shim wrote stdout %q stderr %q, want nothing", stdout, stderr)
			}
			if rec.path != gopath {
				t.Errorf("ran %q, want %q", rec.path, gopath)
			}
			if got := rec.argv[1:]; !reflect.DeepEqual(got, tt.argv) {
				t.Errorf("argv %q, want %q", got, tt.argv)
			}
			count := map[string]int{}
			for _, kv := range rec.env {
				k, _, _ := strings.Cut(kv, "=")
				count[k]++
				if count[k] > 1 {
					t.Errorf("env has %s twice: %q", k, rec.env)
				}
			}
			for _, want := range tt.set {
				if !slices.Contains(rec.env, want) {
					t.Errorf("env lacks %s: %q", want, rec.env)
				}
			}
			for _, k := range tt.absent {
				if count[k] > 0 {
					t.Errorf("env has %s: %q", k, rec.env)
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	dir, _ := fakeGoDir(t)
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string // prefix of the single stderr line, after "xgo-build: "
	}{
		{"bad platform", []string{"xgo-build", "--xgo-platform=linux/arm/v9", "."}, nil, `invalid --xgo-platform "linux/arm/v9"`},
		{"conflicting GOARCH", []string{"xgo-build", "."}, []string{"TARGETPLATFORM=linux/arm64", "GOARCH=amd64"}, "GOARCH=amd64"},
		{"unknown option", []string{"xgo-build", "--xgo-nope"}, nil, "unknown flag --xgo-nope"},
		{"env with arguments", []string{"xgo-build", "--xgo-env", "--xgo-platform=linux/arm64", "x"}, nil, "--xgo-env builds nothing"},
		{"two actions", []string{"xgo-build", "--xgo-list", "--xgo-help"}, nil, "--xgo-list and --xgo-help"},
		{"no go", []string{"xgo-build", "--xgo-platform=linux/arm64"}, []string{"PATH=" + t.TempDir()}, "finding the real go"},
		{"verify without target", []string{"xgo-build", "--xgo-verify", "x"}, nil, "--xgo-verify needs a target platform"},
		{"named go, bad target", []string{"go", "build"}, []string{"TARGETPLATFORM=linux/arm/v9"}, "invalid TARGETPLATFORM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ := append([]string{"PATH=" + dir}, tt.environ...)
			if len(tt.environ) > 0 && strings.HasPrefix(tt.environ[0], "PATH=") {
				environ = tt.environ // first wins: this PATH replaces the fake go's
			}
			code, stdout, stderr, rec := runRecorded(t, tt.args, environ, 0)
			if code != exitShim {
				t.Errorf("exit status %d, want %d", code, exitShim)
			}
			if rec != nil {
				t.Errorf("go ran (%q) after a shim error", rec.argv)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "xgo-build: "+tt.want) {
				t.Errorf("stderr %q, want one line starting %q", stderr, "xgo-build: "+tt.want)
			}
		})
	}
}

// TestRunHostWarning checks a host build: one warning, and the environment untouched for the
// real go; a wrapper around go (a script) gets the loop marker only.
func TestRunHostWarning(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	dir, wrapper := fakeGoDir(t)
	for _, tt := range []struct {
		dir   string
		extra []string
	}{
		{filepath.Dir(realGo), nil},
		{dir, []string{depthVar + "=1:" + wrapper}},
	} {
		environ := []string{"PATH=" + tt.dir, "FOO=bar"}
		code, _, stderr, rec := runRecorded(t, []string{"xgo-build", "-o", "app"}, environ, 0)
		if code != 0 || rec == nil {
			t.Fatalf("exit %d, ran %v", code, rec)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "ARG TARGETPLATFORM") {
			t.Errorf("stderr %q, want one warning line naming ARG TARGETPLATFORM", stderr)
		}
		if want := append(environ, tt.extra...); !reflect.DeepEqual(rec.env, want) {
			t.Errorf("env %q, want it untouched: %q", rec.env, want)
		}
	}
}

func TestGetenvFromFirstWins(t *testing.T) {
	getenv := getenvFrom([]string{"A=1", "B", "A=2", "C="})
	for k, want := range map[string]string{"A": "1", "B": "", "C": "", "D": ""} {
		if got := getenv(k); got != want {
			t.Errorf("getenv(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestIsGoName(t *testing.T) {
	for name, want := range map[string]bool{
		"go": true, "/usr/bin/go": true, "go.exe": true, "GO.EXE": true,
		"xgo-build": false, "gofmt": false, "/go/bin/xgo-build": false, "go1.26": false, "": false,
	} {
		if got := isGoName(name); got != want {
			t.Errorf("isGoName(%q) = %v, want %v", name, got, want)
		}
	}
}
