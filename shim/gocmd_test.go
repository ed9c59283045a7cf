package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeExe writes an executable file at path (creating its directory).
func writeExe(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindGo(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fixtures use unix permissions and symlinks")
	}
	root := t.TempDir()
	self := writeExe(t, filepath.Join(root, "bin", "xgo-build"))
	realGo := writeExe(t, filepath.Join(root, "goroot", "bin", "go"))
	otherGo := writeExe(t, filepath.Join(root, "other", "go"))
	// Links to self under the name go, in three directories.
	mustDo(t, os.MkdirAll(filepath.Join(root, "symlinked"), 0o755))
	mustDo(t, os.Symlink(self, filepath.Join(root, "symlinked", "go")))
	mustDo(t, os.MkdirAll(filepath.Join(root, "hardlinked"), 0o755))
	mustDo(t, os.Link(self, filepath.Join(root, "hardlinked", "go")))
	mustDo(t, os.MkdirAll(filepath.Join(root, "chain"), 0o755))
	mustDo(t, os.Symlink(filepath.Join(root, "symlinked", "go"), filepath.Join(root, "chain", "go")))
	// A go that cannot run, and a directory named go.
	mustDo(t, os.MkdirAll(filepath.Join(root, "noexec"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(root, "noexec", "go"), nil, 0o644))
	mustDo(t, os.MkdirAll(filepath.Join(root, "dir", "go"), 0o755))
	// A go in a relative PATH entry.
	cwd := t.TempDir()
	writeExe(t, filepath.Join(cwd, "rel", "go"))
	t.Chdir(cwd)

	p := func(dirs ...string) string {
		for i, d := range dirs {
			if !filepath.IsAbs(d) && d != "rel" && d != "" {
				dirs[i] = filepath.Join(root, d)
			}
		}
		return strings.Join(dirs, string(os.PathListSeparator))
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"first on PATH", map[string]string{"PATH": p("goroot/bin", "other")}, realGo, ""},
		{"symlink to self skipped", map[string]string{"PATH": p("symlinked", "goroot/bin")}, realGo, ""},
		{"hard link to self skipped", map[string]string{"PATH": p("hardlinked", "other")}, otherGo, ""},
		{"chain of links to self skipped", map[string]string{"PATH": p("chain", "symlinked", "other")}, otherGo, ""},
		{"not executable, directory and relative entries skipped", map[string]string{"PATH": p("", "rel", "noexec", "dir", "other")}, otherGo, ""},
		{"only links to self", map[string]string{"PATH": p("symlinked", "hardlinked")}, "", "finding the real go: no go in PATH other than xgo-build itself"},
		{"empty PATH", map[string]string{}, "", "finding the real go: no go in PATH; install Go or set XGO_GO"},
		{"XGO_GO path wins", map[string]string{"XGO_GO": otherGo, "PATH": p("goroot/bin")}, otherGo, ""},
		{"XGO_GO name looked up", map[string]string{"XGO_GO": "go", "PATH": p("other", "goroot/bin")}, otherGo, ""},
		{"XGO_GO is self", map[string]string{"XGO_GO": self}, "", "loop: XGO_GO="},
		{"XGO_GO links to self", map[string]string{"XGO_GO": filepath.Join(root, "chain", "go")}, "", "loop: XGO_GO="},
		{"XGO_GO name finds self", map[string]string{"XGO_GO": "go", "PATH": p("hardlinked", "other")}, "", "loop: XGO_GO="},
		{"XGO_GO missing", map[string]string{"XGO_GO": filepath.Join(root, "none", "go")}, "", "checking XGO_GO="},
		{"XGO_GO not executable", map[string]string{"XGO_GO": filepath.Join(root, "noexec", "go")}, "", "checking XGO_GO="},
		{"XGO_GO name not found", map[string]string{"XGO_GO": "go", "PATH": p("dir")}, "", "finding XGO_GO="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := findGo(func(k string) string { return tt.env[k] }, self)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("findGo = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("findGo = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// shimBinary builds cmd/xgo-build from this tree into a temporary directory and returns
// the binary's path.
func shimBinary(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "xgo-build"+exeSuffix())
	cmd := exec.Command("go", "build", "-o", out, "../cmd/xgo-build")
	cmd.Env = withEnv(os.Environ(), []string{"CGO_ENABLED=0"})
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building xgo-build: %v\n%s", err, b)
	}
	return out
}

// exeSuffix is ".exe" on Windows.
func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// TestLoopThroughCopy runs the real binary with a copy of itself as the only go on PATH:
// a different file, so not skipped, but recognised by its build info as another
// xgo-build and reported instead of exec'd back and forth.
func TestLoopThroughCopy(t *testing.T) {
	shim := shimBinary(t)
	dir := t.TempDir()
	if err := copyFile(shim, filepath.Join(dir, goExe()), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(shim, "--xgo-platform=linux/arm64", ".")
	cmd.Env = []string{"PATH=" + dir}
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitShim {
		t.Fatalf("exit: %v, want status %d; output:\n%s", err, exitShim, out)
	}
	if s := string(out); strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "xgo-build: loop: ") || !strings.Contains(s, "another xgo-build") {
		t.Errorf("output %q, want one line 'xgo-build: loop: ... another xgo-build ...'", s)
	}
	// The same through XGO_GO.
	cmd = exec.Command(shim, "--xgo-platform=linux/arm64", ".")
	cmd.Env = []string{"XGO_GO=" + filepath.Join(dir, goExe())}
	out, _ = cmd.CombinedOutput()
	if !strings.HasPrefix(string(out), "xgo-build: loop: XGO_GO=") {
		t.Errorf("output %q, want a loop error naming XGO_GO", out)
	}
}

// TestExecIsGo checks, on the real binary, that the exec'd go's exit status and output are
// the command's own.
func TestExecIsGo(t *testing.T) {
	shim := shimBinary(t)
	gopath, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(shim, "--xgo-platform=linux/arm64", "-o", os.DevNull, "./nonexistent-package")
	cmd.Dir = helloDir(t)
	cmd.Env = withEnv(os.Environ(), []string{"XGO_GO=" + gopath})
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want go's status 1; output:\n%s", err, out)
	}
	if strings.Contains(string(out), "xgo-build:") || !strings.Contains(string(out), "nonexistent-package") {
		t.Errorf("output %q, want go's own error only", out)
	}
}
