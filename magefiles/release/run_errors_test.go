package release

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/xgo-build/xgo-build/magefiles/internal/registrytest"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/registry"
	"github.com/xgo-build/xgo-build/magefiles/release/internal/releasetest"
)

// pushBase pushes the multi-platform test base to the registry as repo:1 and returns the
// reference.
func pushBase(t *testing.T, reg *registrytest.Registry, repo string) string {
	t.Helper()
	baseRef := reg.Host() + "/" + repo + ":1"
	r, err := registry.ParseRef(baseRef, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, releasetest.MultiPlatformBase(t), registry.Options(context.Background(), 4, false, registry.DefaultRetryPolicy())...); err != nil {
		t.Fatal(err)
	}
	return baseRef
}

// TestRunBaseMissingDigest names a base by a digest its repository does not have: the error
// says the repository has no such manifest, not that the base does not exist, with the cache
// and without it.
func TestRunBaseMissingDigest(t *testing.T) {
	reg := registrytest.Start(t)
	baseRef := pushBase(t, reg, "base/digest")
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("no such manifest")))
	missing := strings.TrimSuffix(baseRef, ":1") + "@" + digest
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	for _, cache := range []string{"off", filepath.Join(t.TempDir(), "cache")} {
		var out strings.Builder
		e := runEnv{dir: dir, getenv: envMap(map[string]string{"XGO_BASE": missing, "XGO_CACHE": cache}), environ: os.Environ(), out: &out}
		err := run(t.Context(), e, stageImage)
		want := fmt.Sprintf("base image %q: its repository has no manifest %s: ", missing, digest)
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "does not exist") {
			t.Errorf("XGO_CACHE=%s: error = %v\nwant it to start with %s", cache, err, want)
		}
	}
}

// TestRunBadValueWritesNothing runs release with one bad value at a time, with a fresh
// cache directory and dist directory: each run fails, and neither directory comes to exist.
func TestRunBadValueWritesNothing(t *testing.T) {
	reg := registrytest.Start(t)
	baseRef := pushBase(t, reg, "base/nothing")
	dir := writeModule(t, map[string]string{"main.go": mainGo, "sub/go.mod": "module example.com/sub\n\ngo 1.26\n", "sub/main.go": mainGo})
	for _, tt := range []struct {
		name string
		bad  map[string]string
	}{
		{"jobs", map[string]string{"XGO_JOBS": "abc"}},
		{"too many jobs", map[string]string{"XGO_JOBS": "1000000"}},
		{"flags -C", map[string]string{"XGO_FLAGS": "-C sub"}},
		{"flags package", map[string]string{"XGO_FLAGS": "-trimpath ./sub"}},
		{"flags unknown", map[string]string{"XGO_FLAGS": "-nosuchflag"}},
		{"main", map[string]string{"XGO_MAIN": "./nope"}},
		{"main, all platforms", map[string]string{"XGO_MAIN": "./nope", "XGO_PLATFORMS": "all"}},
		{"repo credentials", map[string]string{"XGO_REPO": "https://user:secret@" + reg.Host() + "/x"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			cache, dist := filepath.Join(tmp, "cache"), filepath.Join(tmp, "dist")
			env := map[string]string{
				"XGO_BASE":      baseRef,
				"XGO_PLATFORMS": "linux/amd64,linux/arm64",
				"XGO_REPO":      reg.Host() + "/nothing/app",
				"XGO_CACHE":     cache,
				"XGO_DIST":      dist,
			}
			for k, v := range tt.bad {
				env[k] = v
			}
			var out strings.Builder
			err := run(t.Context(), runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out}, stageRelease)
			if err == nil {
				t.Fatalf("run succeeded:\n%s", out.String())
			}
			for _, d := range []string{cache, dist} {
				if _, serr := os.Stat(d); !errors.Is(serr, fs.ErrNotExist) {
					t.Errorf("%s exists after the run failed with %v (stat: %v)", d, err, serr)
				}
			}
		})
	}
}
