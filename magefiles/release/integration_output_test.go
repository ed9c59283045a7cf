//go:build unix

package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// runSplit runs mage like run does, and returns its standard output and standard error apart.
func (p *userProject) runSplit(t *testing.T, args string, vars ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(p.mage, strings.Fields(args)...)
	cmd.Dir = p.dir
	cmd.Env = p.env(vars...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestMageStdout runs the targets with mage, standard output apart from standard error: a
// release's standard output is exactly the pushed reference (so ref=$(go tool mage release)
// works), the image's the layout and its index digest, and the binaries' nothing; progress is
// on standard error. A release with GITHUB_OUTPUT set appends its step outputs there.
func TestMageStdout(t *testing.T) {
	reg := registrytest.Start(t)
	p := newUserProject(t)
	repo := reg.Host() + "/stdout/app"
	gh := filepath.Join(t.TempDir(), "github-output")
	platforms := "XGO_PLATFORMS=linux/amd64,linux/arm64"

	stdout, stderr, err := p.runSplit(t, "release", "XGO_REPO="+repo, platforms, "GITHUB_OUTPUT="+gh)
	if err != nil {
		t.Fatalf("mage release: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	rep := readReport(t, p.dir)
	if want := repo + "@" + rep.Digest + "\n"; stdout != want {
		t.Errorf("mage release: stdout %q, want exactly %q", stdout, want)
	}
	for _, want := range []string{"built linux/amd64 ", "built linux/arm64 ", "PLATFORM", "pushing " + rep.Digest} {
		if !strings.Contains(stderr, want) {
			t.Errorf("mage release: stderr lacks %q:\n%s", want, stderr)
		}
	}
	data, err := os.ReadFile(gh)
	if err != nil {
		t.Fatal(err)
	}
	if outputs := parseGitHubOutput(t, string(data)); outputs["image"] != rep.Reference || outputs["digest"] != rep.Digest {
		t.Errorf("GITHUB_OUTPUT = %q", outputs)
	}

	stdout, stderr, err = p.runSplit(t, "image", platforms)
	if err != nil {
		t.Fatalf("mage image: %v\n%s", err, stderr)
	}
	if want := filepath.Join(p.dir, "dist", "oci") + "@" + rep.Digest + "\n"; stdout != want {
		t.Errorf("mage image: stdout %q, want exactly %q", stdout, want)
	}
	stdout, stderr, err = p.runSplit(t, "binaries", platforms)
	if err != nil || stdout != "" || !strings.Contains(stderr, "built linux/arm64 ") {
		t.Errorf("mage binaries: %v, stdout %q (want none), stderr:\n%s", err, stdout, stderr)
	}
}
