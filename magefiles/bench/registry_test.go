package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
)

// TestPushBase starts a registry with registrytest, as the bench does, pushes the base index
// and checks it with checkIndex, the check every release run passes through.
func TestPushBase(t *testing.T) {
	reg := registrytest.Start(t)
	ctx := context.Background()
	if !strings.HasPrefix(reg.Host(), "127.0.0.1:") {
		t.Errorf("registry listens on %q, want loopback", reg.Host())
	}
	ref, err := pushBase(ctx, reg.Host(), Platforms)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := checkIndex(ctx, ref, Platforms)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Host() + "/base@" + digest; ref != want {
		t.Errorf("pushBase returned %q, but the registry serves it as %q", ref, want)
	}
	if _, err := checkIndex(ctx, reg.Host()+"/base:latest", append(Platforms[:1:1], "linux/mips64")); err == nil ||
		!strings.Contains(err.Error(), "has no image for linux/mips64") {
		t.Errorf("checkIndex with a platform the index lacks: err = %v", err)
	}
	if _, err := checkIndex(ctx, reg.Host()+"/nothing:latest", Platforms); err == nil {
		t.Error("checkIndex of a repository that does not exist succeeded")
	}
}
