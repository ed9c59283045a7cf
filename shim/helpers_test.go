package shim

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireTool returns the path of the program name, or skips the test saying what is
// missing and how to get it; when CI is "true" a missing program fails the test instead,
// as CI must never skip.
func requireTool(t testing.TB, name, howToGet string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (%v) and CI=true forbids skipping; %s", name, err, howToGet)
	}
	t.Skipf("%s is missing (%v); %s", name, err, howToGet)
	return ""
}

// helloDir returns the absolute path of the sample program testdata/hello.
func helloDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// shimBuild runs the shim in-process with args (after the program name) and extra
// environment, in dir, running the real go as a child instead of exec'ing it; it returns
// the exit status, stdout and stderr.
func shimBuild(t testing.TB, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	environ := withEnv(os.Environ(), env)
	var stdout, stderr bytes.Buffer
	inv := invocation{
		args:    append([]string{"xgo-build"}, args...),
		environ: environ,
		getenv:  getenvFrom(environ),
		stdout:  &stdout,
		stderr:  &stderr,
		exec: func(path string, argv, env []string) (int, error) {
			cmd := exec.Command(path, argv[1:]...)
			cmd.Env = env
			cmd.Dir = dir
			cmd.Stdout = &stdout
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode(), nil
			}
			return 0, err
		},
	}
	code := inv.run()
	return code, stdout.String(), stderr.String()
}

// buildHello cross-builds testdata/hello for platform with the shim into dir and returns
// the binary's path.
func buildHello(t testing.TB, platform, dir string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(filepath.Clean(dir))+"-hello")
	code, stdout, stderr := shimBuild(t, helloDir(t), nil, "--xgo-platform="+platform, "-o", out, ".")
	if code != 0 {
		t.Fatalf("xgo-build --xgo-platform=%s: exit %d\n%s%s", platform, code, stdout, stderr)
	}
	return out
}

// withEnv returns base with the "KEY=value" entries of extra replacing those of the same keys.
func withEnv(base, extra []string) []string {
	drop := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var out []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// skipShort skips a slow test under -short, except when CI is "true": CI never skips.
func skipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skipf("%s (-short)", what)
	}
}

// isRealGo reports whether path is a build of the go command itself, as findGo decides it.
func isRealGo(path string) bool {
	return mainPackage(path) == realGoMainPath
}
