package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the commands the scripts run. testscript installs
// it as xgo-build; TestScript copies it to a directory of its own as a fake go. The name the
// process was started from (after symlinks) decides: a symlink called go that points to
// xgo-build still runs the shim, which then wraps go.
func TestMain(m *testing.M) {
	if exe, err := os.Executable(); err == nil {
		switch strings.TrimSuffix(filepath.Base(exe), ".exe") {
		case "go":
			os.Exit(fakeGo(os.Args, os.Environ(), os.Stdout, os.Stderr))
		case "xgo-build":
			os.Exit(Main(os.Args, os.Environ(), os.Stdout, os.Stderr))
		}
	}
	testscript.Main(m, map[string]func(){
		"xgo-build": func() { os.Exit(Main(os.Args, os.Environ(), os.Stdout, os.Stderr)) },
	})
}

// fakeGoVars are the variables the fake go prints: the ones the shim may set.
var fakeGoVars = map[string]bool{
	"GOOS": true, "GOARCH": true, "GOARM": true, "GOAMD64": true, "GOARM64": true, "GO386": true,
	"GOMIPS": true, "GOMIPS64": true, "GOPPC64": true, "GORISCV64": true, "GOWASM": true,
	"CGO_ENABLED": true, "GOFLAGS": true, "CC": true, "CXX": true, "PKG_CONFIG_LIBDIR": true,
}

// fakeGo prints its arguments (after argv[0]) as `arg "..."` lines, then every build
// variable of its environment as `env KEY=value` lines in environment order, duplicates
// included; it exits with $FAKEGO_EXIT (default 0).
func fakeGo(args, environ []string, stdout, stderr io.Writer) int {
	for _, a := range args[1:] {
		fmt.Fprintf(stdout, "arg %q\n", a)
	}
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); fakeGoVars[k] {
			fmt.Fprintf(stdout, "env %s\n", kv)
		}
	}
	code := 0
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "FAKEGO_EXIT="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				fmt.Fprintf(stderr, "fake go: bad FAKEGO_EXIT %q\n", v)
				return 100
			}
			code = n
		}
	}
	return code
}

// TestScript runs the command-line scripts in testdata/script. Scripts get:
//   - $FAKEGO, a directory holding a fake go (prepend it to PATH to use it);
//   - $XGOBUILD, the path of the xgo-build command;
//   - $WORK/hello, a copy of testdata/hello;
//   - the real GOCACHE, GOMODCACHE, GOPATH and HOME, so real builds are warm, and GOPROXY=off.
func TestScript(t *testing.T) {
	fakeDir := filepath.Join(t.TempDir(), "fakego")
	if err := os.Mkdir(fakeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyTestBinary(filepath.Join(fakeDir, goExe())); err != nil {
		t.Fatal(err)
	}
	xgoBuild, err := exec.LookPath("xgo-build")
	if err != nil {
		t.Fatalf("finding the xgo-build command testscript installed: %v", err)
	}
	goEnv := realGoEnv(t, "GOCACHE", "GOMODCACHE", "GOPATH")
	hello, err := filepath.Abs(filepath.Join("..", "testdata", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("FAKEGO", fakeDir)
			env.Setenv("XGOBUILD", xgoBuild)
			env.Setenv("GOPROXY", "off")
			for k, v := range goEnv {
				env.Setenv(k, v)
			}
			if home := os.Getenv("HOME"); home != "" {
				env.Setenv("HOME", home)
			}
			return copyDir(hello, filepath.Join(env.WorkDir, "hello"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status": cmdStatus,
		},
	})
}

// cmdStatus implements "status N command [args...]": run command and require exit status N.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! status")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: status N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: bad number %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		got = exitErr.ExitCode()
	case err != nil:
		ts.Fatalf("status: running %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// realGoEnv returns the values of keys in the real go's environment.
func realGoEnv(t testing.TB, keys ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"env"}, keys...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(keys) {
		t.Fatalf("go env %v printed %d lines, want %d", keys, len(lines), len(keys))
	}
	m := map[string]string{}
	for i, k := range keys {
		if lines[i] != "" {
			m[k] = lines[i]
		}
	}
	return m
}

// copyTestBinary copies the running test binary to path: a copy, not a link, so the shim
// sees a different file.
func copyTestBinary(path string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return copyFile(exe, path, 0o755)
}

// copyFile copies the file from to the file to with mode perm.
func copyFile(from, to string, perm os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// copyDir copies the regular files of the directory tree from to the directory to.
func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(path, target, 0o644)
	})
}
