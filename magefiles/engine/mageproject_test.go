package engine

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mageProject is a user's project in a temporary directory that pulls in the release targets
// as the README says: a copy of testdata/userproject (a magefile with the one
// //mage:import, go.mod, go.sum, the main package cmd/app), its go.mod's replace pointed at
// this checkout, run with a mage binary built from this module's tool dependency.
type mageProject struct {
	dir   string
	mage  string // the mage binary
	cache string // MAGEFILE_CACHE: where mage keeps the compiled magefile
	xgo   string // XGO_CACHE: the release's layer cache, the project's own
}

// newMageProject makes a mageProject of this checkout at root; a non-empty mainGo replaces
// the program, cmd/app/main.go.
func newMageProject(t *testing.T, root, mainGo string) *mageProject {
	t.Helper()
	tmp := t.TempDir()
	p := &mageProject{dir: filepath.Join(tmp, "project"), mage: filepath.Join(tmp, "mage"),
		cache: filepath.Join(tmp, "magecache"), xgo: filepath.Join(tmp, "xgocache")}
	if err := os.CopyFS(p.dir, os.DirFS(filepath.Join(root, "testdata", "userproject"))); err != nil {
		t.Fatal(err)
	}
	if mainGo != "" {
		if err := os.WriteFile(filepath.Join(p.dir, "cmd", "app", "main.go"), []byte(mainGo), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	command(t, p.dir, nil, "go", "mod", "edit", "-replace=github.com/xgo-build/xgo-build="+root)
	// Offline: what the project needs is what this module needs, downloaded already and
	// listed in this module's go.sum, so tidy need not ask the checksum database.
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(p.dir, "go.sum"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(sums); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	command(t, p.dir, []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}, "go", "mod", "tidy", "-e")
	command(t, root, nil, "go", "build", "-o", p.mage, "github.com/magefile/mage")
	return p
}

// command runs name args in dir with env added to the test's environment, and fails t with
// its output when it fails.
func command(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// run runs `mage target` in the project as a user runs it, with vars ("KEY=value") in an
// environment that has no other variable of the release (see projectEnv), and returns its
// standard output, the target's result; it fails t, with what the run printed, when the run
// fails.
func (p *mageProject) run(t *testing.T, target string, vars ...string) string {
	t.Helper()
	cmd := exec.Command(p.mage, target)
	cmd.Dir = p.dir
	cmd.Env = append(projectEnv(), append([]string{"MAGEFILE_CACHE=" + p.cache, "XGO_CACHE=" + p.xgo}, vars...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("mage %s (%s): %v\nstdout:\n%s\nstderr:\n%s", target, strings.Join(vars, " "), err, stdout.String(), stderr.String())
	}
	t.Logf("mage %s (%s): %.1fs", target, strings.Join(vars, " "), time.Since(start).Seconds())
	return stdout.String()
}

// projectEnv returns the test's environment without the variables the release targets read
// (XGO_*, SOURCE_DATE_EPOCH, the CI systems' outputs and logins) or mage's own, and without
// the target and C toolchain variables of go, which the release sets per platform.
func projectEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "XGO_"), strings.HasPrefix(k, "MAGEFILE_"), strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "CI_REGISTRY"):
			continue
		}
		switch k {
		case "SOURCE_DATE_EPOCH", "DOCKER_METADATA_OUTPUT_JSON",
			"GOOS", "GOARCH", "GOARM", "GOAMD64", "GOARM64", "GO386", "GOPPC64", "GORISCV64", "GOMIPS", "GOMIPS64",
			"CGO_ENABLED", "CC", "CXX", "PKG_CONFIG_LIBDIR":
			continue
		}
		env = append(env, kv)
	}
	return env
}
