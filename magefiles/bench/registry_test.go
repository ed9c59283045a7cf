package bench

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// missingTool skips t because a tool is missing, or fails it when CI is "true" (CI must never
// skip). hint says how to get the tool.
func missingTool(t *testing.T, getenv func(string) string, what, hint string) {
	t.Helper()
	if getenv("CI") == "true" {
		t.Fatalf("%s is missing (CI=true: not skipping); %s", what, hint)
	}
	t.Skipf("%s is missing; %s", what, hint)
}

// registryBinary returns distribution's registry: $XGO_TEST_REGISTRY, else `registry` on PATH.
func registryBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("XGO_TEST_REGISTRY"); p != "" {
		return p
	}
	p, err := exec.LookPath("registry")
	if err != nil {
		missingTool(t, os.Getenv, "distribution's registry binary",
			"install it with `GOBIN=<dir> go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0` and set XGO_TEST_REGISTRY=<dir>/registry")
	}
	return p
}

// TestPushBase starts a registry the way the bench does, pushes the base index and checks it
// with checkIndex, the check every release run passes through.
func TestPushBase(t *testing.T) {
	bin := registryBinary(t)
	ctx := context.Background()
	reg, err := startRegistry(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.stop()
	if !strings.HasPrefix(reg.Host, "127.0.0.1:") {
		t.Errorf("registry listens on %q, want loopback", reg.Host)
	}
	ref, err := pushBase(ctx, reg.Host, Platforms)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := checkIndex(ctx, ref, Platforms)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Host + "/base@" + digest; ref != want {
		t.Errorf("pushBase returned %q, but the registry serves it as %q", ref, want)
	}
	if _, err := checkIndex(ctx, reg.Host+"/base:latest", append(Platforms[:1:1], "linux/mips64")); err == nil ||
		!strings.Contains(err.Error(), "has no image for linux/mips64") {
		t.Errorf("checkIndex with a platform the index lacks: err = %v", err)
	}
	if _, err := checkIndex(ctx, reg.Host+"/nothing:latest", Platforms); err == nil {
		t.Error("checkIndex of a repository that does not exist succeeded")
	}
}
