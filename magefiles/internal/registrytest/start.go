package registrytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// InstallHint tells how to get the registry binary the tests need.
const InstallHint = "install it with `GOBIN=<dir> go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0` " +
	"and put it on PATH or point XGO_TEST_REGISTRY at it"

// Start runs a registry for the rest of the test, with its files in a
// temporary directory of the test, and stops it on cleanup. It skips (or, with
// CI=true, fails) the test when the binary is missing.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	s := newSettings(opts)
	bin := s.bin
	if bin == "" {
		var err error
		if bin, err = findBinary(s.getenv); err != nil {
			missing(t, s.getenv, err.Error()+"; "+InstallHint)
			return nil
		}
	}
	all := append([]Option{WithDir(t.TempDir())}, opts...)
	r, err := Run(context.Background(), append(all, WithBinary(bin))...)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("registrytest: %v", err)
		}
	})
	return r
}

// missing skips t, or fails it when CI is "true", because a tool is missing.
func missing(t testing.TB, getenv func(string) string, msg string) {
	t.Helper()
	if getenv("CI") == "true" {
		t.Fatalf("registrytest: %s (CI=true: not skipping)", msg)
	}
	t.Skipf("registrytest: %s", msg)
}

// DockerConfig writes a docker config.json holding the registry's credentials
// into a new directory and returns that directory (for DOCKER_CONFIG).
func (r *Registry) DockerConfig(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(r.user + ":" + r.password))
	data, err := json.Marshal(map[string]any{"auths": map[string]any{r.host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
