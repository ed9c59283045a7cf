package release

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xgo-build/xgo-build/magefiles/release/internal/oci"
)

// TestRunImageConfig builds the image of two platforms with every image config variable and
// checks the layout: the index annotations, a manifest[linux/arm64] annotation on that
// manifest only, the config labels (the release's org.opencontainers.image.* ones, a user
// label winning over one of them) and the user, env, workdir and ports. A second run gives
// the same index digest.
func TestRunImageConfig(t *testing.T) {
	dir := writeModule(t, map[string]string{"cmd/tool/main.go": mainGo})
	env := map[string]string{
		"XGO_PLATFORMS":     "linux/amd64,linux/arm64",
		"SOURCE_DATE_EPOCH": "86400",
		"XGO_CACHE":         "off",
		"XGO_LABELS":        "org.opencontainers.image.version=9.9.9\ncom.example.team=a, b\n",
		"XGO_ANNOTATIONS": "index:org.opencontainers.image.description=the tool,com.example.all=1," +
			"manifest[linux/arm64]:com.example.arm=yes,manifest:org.opencontainers.image.created=2000-01-01T00:00:00Z",
		"XGO_USER":    "65532:65532",
		"XGO_ENV":     "TZ=UTC,APP_MODE=prod",
		"XGO_WORKDIR": "/srv",
		"XGO_PORTS":   "8080/tcp,53/udp",
	}
	var out strings.Builder
	e := runEnv{dir: dir, getenv: envMap(env), environ: os.Environ(), out: &out}
	if err := run(t.Context(), e, stageImage); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	idx, err := oci.OpenLayout(filepath.Join(dir, "dist", "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	wantIndex := map[string]string{
		"org.opencontainers.image.created":     "1970-01-02T00:00:00Z",
		"org.opencontainers.image.description": "the tool",
	}
	if !reflect.DeepEqual(im.Annotations, wantIndex) {
		t.Errorf("index annotations %v, want %v", im.Annotations, wantIndex)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(im.Manifests))
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		platform := d.Platform.OS + "/" + d.Platform.Architecture
		wantManifest := map[string]string{"org.opencontainers.image.created": "2000-01-01T00:00:00Z", "com.example.all": "1"}
		if platform == "linux/arm64" {
			wantManifest["com.example.arm"] = "yes"
		}
		if !reflect.DeepEqual(m.Annotations, wantManifest) {
			t.Errorf("%s manifest annotations %v, want %v", platform, m.Annotations, wantManifest)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		// The labels are the release's own annotations (not XGO_ANNOTATIONS'), XGO_LABELS over them.
		wantLabels := map[string]string{
			"org.opencontainers.image.created": "1970-01-02T00:00:00Z",
			"org.opencontainers.image.version": "9.9.9",
			"com.example.team":                 "a, b",
		}
		if !reflect.DeepEqual(c.Labels, wantLabels) {
			t.Errorf("%s labels %v, want %v", platform, c.Labels, wantLabels)
		}
		if c.User != "65532:65532" || c.WorkingDir != "/srv" || !slices.Equal(c.Env, []string{"TZ=UTC", "APP_MODE=prod"}) {
			t.Errorf("%s user %q workdir %q env %q", platform, c.User, c.WorkingDir, c.Env)
		}
		if ports := slices.Sorted(maps.Keys(c.ExposedPorts)); !slices.Equal(ports, []string{"53/udp", "8080/tcp"}) {
			t.Errorf("%s exposed ports %q, want 53/udp and 8080/tcp", platform, ports)
		}
	}
	first, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	// The same inputs, the entries of the maps in another order: the same digest.
	env["XGO_LABELS"] = "com.example.team=a, b\norg.opencontainers.image.version=9.9.9\n"
	env["XGO_PORTS"] = "53/udp,8080"
	if err := run(t.Context(), e, stageImage); err != nil {
		t.Fatalf("second run: %v\n%s", err, out.String())
	}
	idx, err = oci.OpenLayout(filepath.Join(dir, "dist", "oci"))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := idx.Digest(); err != nil || d != first {
		t.Errorf("second run: index digest %v (%v), want %s", d, err, first)
	}
}

// TestRunAnnotationPlatformNotBuilt checks that an annotation scoped to a platform the
// release does not build fails before anything is built or written.
func TestRunAnnotationPlatformNotBuilt(t *testing.T) {
	dir := writeModule(t, map[string]string{"main.go": mainGo})
	var out strings.Builder
	e := runEnv{dir: dir, getenv: envMap(map[string]string{
		"XGO_PLATFORMS":   "linux/amd64",
		"XGO_ANNOTATIONS": "manifest[linux/arm64]:a=1",
	}), environ: os.Environ(), out: &out}
	err := run(t.Context(), e, stageImage)
	want := `XGO_ANNOTATIONS="manifest[linux/arm64]:a=1": scope manifest[linux/arm64] names a platform the release does not build: must be one of linux/amd64`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "dist")); err == nil {
		t.Error("dist exists after the failure")
	}
}
